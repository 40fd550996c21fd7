package tenancy

import (
	"context"
	"time"
)

// AddDispatchIntent records that a broadcast must be handed to the queue.
// It is written before the church's own transaction commits.
func (r *Registry) AddDispatchIntent(ctx context.Context, tenantID, messageID string) error {
	_, err := r.db.ExecContext(ctx, `INSERT INTO dispatch_intents (tenant_id, message_id, created_at) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, tenantID, messageID, r.now().Unix())
	return err
}

// DispatchIntent is a broadcast not yet handed to the queue.
type DispatchIntent struct{ TenantID, MessageID string }

// StaleDispatchIntents lists intents older than age, oldest first: the
// recovery sweep's work, found without opening any church's database.
func (r *Registry) StaleDispatchIntents(ctx context.Context, age time.Duration, limit int) ([]DispatchIntent, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT tenant_id, message_id FROM dispatch_intents WHERE created_at <= $1
		ORDER BY created_at LIMIT $2`, r.now().Add(-age).Unix(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DispatchIntent
	for rows.Next() {
		var d DispatchIntent
		if err := rows.Scan(&d.TenantID, &d.MessageID); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeleteDispatchIntentSQL removes an intent; run it in the same registry
// transaction that inserts the broadcast's jobs.
const DeleteDispatchIntentSQL = `DELETE FROM dispatch_intents WHERE tenant_id = $1 AND message_id = $2`

// ReserveSendSlot takes the next free send slot for key, spaced by
// interval, and returns how long to wait for it. One statement, so
// processes sharing the registry never hand out the same slot. The wait is
// relative. Slots are on the wall clock, not the registry's injectable one:
// the provider counts real seconds.
func (r *Registry) ReserveSendSlot(ctx context.Context, key string, interval time.Duration) (time.Duration, error) {
	now := time.Now().UnixMicro()
	step := interval.Microseconds()
	var next int64
	err := r.db.QueryRowContext(ctx, `INSERT INTO send_pacing (key, next_us) VALUES ($1, CAST($2 AS BIGINT) + CAST($3 AS BIGINT))
		ON CONFLICT (key) DO UPDATE SET next_us =
			(CASE WHEN send_pacing.next_us > CAST($2 AS BIGINT) THEN send_pacing.next_us ELSE CAST($2 AS BIGINT) END) + CAST($3 AS BIGINT)
		RETURNING next_us`, key, now, step).Scan(&next)
	if err != nil {
		return 0, err
	}
	return time.Duration(next-step-now) * time.Microsecond, nil
}

// DelaySendSlots moves key's next free slot to at least interval from now:
// a sender that woke late calls it just before sending, so that the next
// send keeps a full interval after this one rather than after the planned time.
func (r *Registry) DelaySendSlots(ctx context.Context, key string, interval time.Duration) error {
	floor := time.Now().Add(interval).UnixMicro()
	_, err := r.db.ExecContext(ctx, `UPDATE send_pacing SET next_us = CAST($1 AS BIGINT) WHERE key = $2 AND next_us < CAST($1 AS BIGINT)`, floor, key)
	return err
}
