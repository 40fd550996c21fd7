package store

import (
	"context"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// ChurchFacts are the figures an operator sees in `steeple tenants show`.
type ChurchFacts struct {
	Members int `json:"members"`
	// Month is the church's current month (YYYY-MM, in its timezone); Texts
	// are the texts handed to the provider since it began (broadcast
	// recipients and one-to-one replies), Parts the SMS parts counted
	// against the plan's quota.
	Month string `json:"month"`
	Texts int    `json:"texts"`
	Parts int    `json:"parts"`
	// DatabaseBytes is the size of the church's database (the SQLite file's
	// pages, or pg_database_size).
	DatabaseBytes int64 `json:"database_bytes"`
}

// ChurchFacts counts the church's members, its texts and parts this month
// and the size of its database.
func (s *Store) ChurchFacts(ctx context.Context, h *tenancy.Handle) (*ChurchFacts, error) {
	now := s.Now()
	month := quotaMonth(h, now)
	if loc, err := time.LoadLocation(h.Tenant().Timezone); err == nil {
		now = now.In(loc)
	}
	monthStart := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location()).UTC()
	f := ChurchFacts{Month: month}
	err := h.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM members),
		(SELECT COUNT(*) FROM message_recipients WHERE sent_at >= $1) +
			(SELECT COUNT(*) FROM conversation_messages WHERE direction = 'outbound' AND sent_at >= $1),
		(SELECT COALESCE(MAX(segments), 0) FROM segment_usage WHERE month = $2)`, monthStart, month).
		Scan(&f.Members, &f.Texts, &f.Parts)
	if err != nil {
		return nil, err
	}
	size := `SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()`
	if h.Backend() == steeple.BackendPostgres {
		size = `SELECT pg_database_size(current_database())`
	}
	if err := h.QueryRowContext(ctx, size).Scan(&f.DatabaseBytes); err != nil {
		return nil, err
	}
	return &f, nil
}
