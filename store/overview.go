package store

import (
	"context"
	"time"

	"github.com/steeple-sms/steeple/tenancy"
)

// Overview is a church's state at a glance, for the web app's home page.
type Overview struct {
	Members             int
	Broadcasts          int
	SegmentsThisMonth   int // the quota's month (the church's), as CreateBroadcast counts it
	UnreadConversations int
	// OptOutsSince counts the phones whose members asked to stop (STOP
	// texted, or the provider reported a block) since the time given to
	// Overview; opt-outs an admin or an import recorded are not counted.
	OptOutsSince int
}

// quotaMonth is the month (YYYY-MM) a moment falls in for the church: the
// quota's month and the home page's "this month" both follow the church's
// calendar, not UTC's.
func quotaMonth(h *tenancy.Handle, now time.Time) string {
	if loc, err := time.LoadLocation(h.Tenant().Timezone); err == nil {
		now = now.In(loc)
	}
	return now.Format("2006-01")
}

// Overview counts what the home page shows; optOutsSince is the start of the
// month in the church's timezone.
func (s *Store) Overview(ctx context.Context, h *tenancy.Handle, optOutsSince time.Time) (*Overview, error) {
	var o Overview
	month := quotaMonth(h, s.Now())
	err := h.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM members),
		(SELECT COUNT(*) FROM messages),
		(SELECT COALESCE(MAX(segments), 0) FROM segment_usage WHERE month = $1),
		(SELECT COUNT(*) FROM conversations WHERE unread > 0 AND status = 'open'),
		(SELECT COUNT(DISTINCT m.phone_hash) FROM consent_events e JOIN members m ON m.id = e.member_id
			WHERE e.status = 'opted_out' AND e.source IN ('keyword', 'provider') AND e.at >= $2)`,
		month, optOutsSince.UTC()).Scan(&o.Members, &o.Broadcasts, &o.SegmentsThisMonth, &o.UnreadConversations, &o.OptOutsSince)
	return &o, err
}
