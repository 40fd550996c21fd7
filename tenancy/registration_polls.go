package tenancy

import (
	"context"
	"time"
)

// SchedulePoll sets when a church's 10DLC registration is next looked at
// (replacing any time set before: a church just polled is not due again).
func (r *Registry) SchedulePoll(ctx context.Context, tenantID string, at time.Time) error {
	_, err := r.db.ExecContext(ctx, `INSERT INTO registration_polls (tenant_id, next_poll_at) VALUES ($1, $2)
		ON CONFLICT (tenant_id) DO UPDATE SET next_poll_at = $2`, tenantID, at.Unix())
	return err
}

// UnschedulePoll stops polling a church whose registration waits on nothing.
func (r *Registry) UnschedulePoll(ctx context.Context, tenantID string) error {
	_, err := r.db.ExecContext(ctx, `DELETE FROM registration_polls WHERE tenant_id = $1`, tenantID)
	return err
}

// DuePolls lists churches whose registration is due a look, oldest first:
// the poller's whole work, without opening any other church's database.
func (r *Registry) DuePolls(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT tenant_id FROM registration_polls WHERE next_poll_at <= $1
		ORDER BY next_poll_at LIMIT $2`, now.Unix(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
