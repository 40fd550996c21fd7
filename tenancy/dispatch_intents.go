package tenancy

import (
	"context"
	"time"
)

// Kinds of dispatch intent: what the message id names.
const (
	IntentBroadcast = "broadcast" // a broadcast's chunks
	IntentReply     = "reply"     // one conversation message
	// A send job that found its church suspended parks its work here and
	// ends; the sweep, which passes over suspended churches, queues it again
	// once the church is resumed. The message id is then
	// "<message>/<chunk>/<job>" (a chunk) or "<message>/<job>" (a reply):
	// the parking job's id makes the new job distinct from the finished one.
	IntentParkedChunk = "parked_chunk"
	IntentParkedReply = "parked_reply"
)

// AddDispatchIntent records that a message must be handed to the queue.
// It is written before the church's own transaction commits.
func (r *Registry) AddDispatchIntent(ctx context.Context, kind, tenantID, messageID string) error {
	_, err := r.db.ExecContext(ctx, `INSERT INTO dispatch_intents (tenant_id, message_id, created_at, kind) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, tenantID, messageID, r.now().Unix(), kind)
	return err
}

// DispatchIntent is a message not yet handed to the queue.
type DispatchIntent struct{ Kind, TenantID, MessageID string }

// StaleDispatchIntents lists intents older than age, oldest first: the
// recovery sweep's work, found without opening any church's database.
func (r *Registry) StaleDispatchIntents(ctx context.Context, age time.Duration, limit int) ([]DispatchIntent, error) {
	// A suspended (or closed) church's intents wait for it to be resumed
	// (or restored), out of the way of everyone else's.
	rows, err := r.db.QueryContext(ctx, `SELECT d.kind, d.tenant_id, d.message_id FROM dispatch_intents d
		LEFT JOIN tenants t ON t.id = d.tenant_id WHERE d.created_at <= $1 AND (t.status IS NULL OR t.status NOT IN ('suspended', 'deleting'))
		ORDER BY d.created_at LIMIT $2`, r.now().Add(-age).Unix(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DispatchIntent
	for rows.Next() {
		var d DispatchIntent
		if err := rows.Scan(&d.Kind, &d.TenantID, &d.MessageID); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeleteDispatchIntent removes an intent; call it in the transaction that
// inserts the message's jobs.
func (t Tx) DeleteDispatchIntent(ctx context.Context, tenantID, messageID string) error {
	_, err := t.ex.Exec(ctx, `DELETE FROM dispatch_intents WHERE tenant_id = $1 AND message_id = $2`, tenantID, messageID)
	return err
}
