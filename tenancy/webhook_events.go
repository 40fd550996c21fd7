package tenancy

import (
	"context"
	"time"
)

// PruneWebhookEvents forgets event ids received before cutoff (the provider
// redelivers for minutes, not days).
func (r *Registry) PruneWebhookEvents(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := r.db.ExecContext(ctx, `DELETE FROM webhook_events WHERE received_at < $1`, cutoff.UTC())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// RecordWebhookEvent records a webhook event id received at at and reports
// whether it is new (false: the id was seen before, nothing is written).
// Call it in the transaction that queues the event.
func (t Tx) RecordWebhookEvent(ctx context.Context, eventID string, at time.Time) (bool, error) {
	n, err := t.ex.Exec(ctx, `INSERT INTO webhook_events (event_id, received_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, eventID, at)
	return n == 1, err
}

// WebhookEventSeen reports whether a webhook event id was recorded.
func (r *Registry) WebhookEventSeen(ctx context.Context, eventID string) (bool, error) {
	var n int
	err := r.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_events WHERE event_id = $1`, eventID).Scan(&n)
	return n > 0, err
}
