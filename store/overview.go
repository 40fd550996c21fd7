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
	SegmentsThisMonth   int // the quota's month (UTC), as CreateBroadcast counts it
	UnreadConversations int
	OptOutsSince        int // opt-outs since the time given to Overview
}

// Overview counts what the home page shows; optOutsSince is the start of the
// month in the church's timezone.
func (s *Store) Overview(ctx context.Context, h *tenancy.Handle, optOutsSince time.Time) (*Overview, error) {
	var o Overview
	month := s.Now().Format("2006-01")
	err := h.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM members),
		(SELECT COUNT(*) FROM messages),
		(SELECT COALESCE(MAX(segments), 0) FROM segment_usage WHERE month = $1),
		(SELECT COUNT(*) FROM conversations WHERE unread > 0 AND status = 'open'),
		(SELECT COUNT(*) FROM consent_events WHERE status = 'opted_out' AND at >= $2)`,
		month, optOutsSince.UTC()).Scan(&o.Members, &o.Broadcasts, &o.SegmentsThisMonth, &o.UnreadConversations, &o.OptOutsSince)
	return &o, err
}
