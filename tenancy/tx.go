package tenancy

import (
	"context"
	"time"
)

// Execer runs a statement inside a registry transaction someone else owns
// (the job queue's, which inserts jobs in the same transaction) and returns
// the rows it affected. jobs.Execer satisfies it.
type Execer interface {
	Exec(ctx context.Context, query string, args ...any) (int64, error)
}

// Tx is the registry's writes made inside the queue's transaction: typed
// methods, so no SQL crosses the package boundary. Make one with InTx in
// the callback the queue runs.
type Tx struct{ ex Execer }

// InTx wraps the queue's transaction.
func InTx(ex Execer) Tx { return Tx{ex: ex} }

// DeleteDispatchIntent removes an intent; call it in the transaction that
// inserts the message's jobs.
func (t Tx) DeleteDispatchIntent(ctx context.Context, tenantID, messageID string) error {
	_, err := t.ex.Exec(ctx, `DELETE FROM dispatch_intents WHERE tenant_id = $1 AND message_id = $2`, tenantID, messageID)
	return err
}

// ClaimScheduleDue removes a due occurrence if it is still the one
// recorded, with the due time it was read with (an occurrence held for
// quiet hours is recorded again with a later time: a tick that read the
// old row must not take the new one). Call it in the transaction that
// queues its fire job and queue the job only when it reports true, so an
// occurrence is queued once.
func (t Tx) ClaimScheduleDue(ctx context.Context, d ScheduleDue) (bool, error) {
	n, err := t.ex.Exec(ctx, `DELETE FROM schedule_due WHERE tenant_id = $1 AND schedule_id = $2 AND occurrence = $3 AND due_at = $4`,
		d.TenantID, d.ScheduleID, d.Occurrence, d.DueAt.Unix())
	return n == 1, err
}

// RecordWebhookEvent records a webhook event id received at at and reports
// whether it is new (false: the id was seen before, nothing is written).
// Call it in the transaction that queues the event.
func (t Tx) RecordWebhookEvent(ctx context.Context, eventID string, at time.Time) (bool, error) {
	n, err := t.ex.Exec(ctx, `INSERT INTO webhook_events (event_id, received_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, eventID, at)
	return n == 1, err
}
