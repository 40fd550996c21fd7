package tenancy

import (
	"context"
	"database/sql"
	"errors"
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
	// A suspended church's intents wait for it to be resumed, out of the
	// way of everyone else's.
	rows, err := r.db.QueryContext(ctx, `SELECT d.kind, d.tenant_id, d.message_id FROM dispatch_intents d
		LEFT JOIN tenants t ON t.id = d.tenant_id WHERE d.created_at <= $1 AND (t.status IS NULL OR t.status <> 'suspended')
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

// ClaimSendTime claims the present moment for a send on key, if key's
// next free time has come: it then moves the next free time one interval
// on and answers a zero wait with the moment claimed. Otherwise it
// answers how long to wait before trying again. Claims made right before
// sending are a full interval apart whichever process makes them, however
// late each sender woke.
func (r *Registry) ClaimSendTime(ctx context.Context, key string, interval time.Duration) (time.Duration, time.Time, error) {
	claimed := time.Now()
	now := claimed.UnixMicro()
	// The next free time advances from its schedule, not from now, unless
	// the sender is more than slack late: small wake-up delays then cost no
	// drift, and any run of sends still spans its intervals minus slack.
	slack := min(interval/10, 10*time.Millisecond).Microseconds()
	var next int64
	err := r.db.QueryRowContext(ctx, `INSERT INTO send_pacing (key, next_us) VALUES ($1, CAST($2 AS BIGINT) + CAST($3 AS BIGINT))
		ON CONFLICT (key) DO UPDATE SET next_us =
			(CASE WHEN send_pacing.next_us > CAST($2 AS BIGINT) - CAST($4 AS BIGINT) THEN send_pacing.next_us
				ELSE CAST($2 AS BIGINT) - CAST($4 AS BIGINT) END) + CAST($3 AS BIGINT)
		WHERE send_pacing.next_us <= CAST($2 AS BIGINT)
		RETURNING next_us`, key, now, interval.Microseconds(), slack).Scan(&next)
	if err == nil {
		return 0, claimed, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, err
	}
	if err := r.db.QueryRowContext(ctx, `SELECT next_us FROM send_pacing WHERE key = $1`, key).Scan(&next); err != nil {
		return 0, time.Time{}, err
	}
	return max(time.Duration(next-now)*time.Microsecond, time.Microsecond), time.Time{}, nil
}

// DelaySendSlots moves key's next free time to at least interval after
// sentAt. A sender whose send began well after its claim (a slow registry
// or scheduler) calls it, so the next send keeps a full interval after the
// real one.
func (r *Registry) DelaySendSlots(ctx context.Context, key string, sentAt time.Time, interval time.Duration) error {
	floor := sentAt.Add(interval).UnixMicro()
	_, err := r.db.ExecContext(ctx, `UPDATE send_pacing SET next_us = CAST($1 AS BIGINT) WHERE key = $2 AND next_us < CAST($1 AS BIGINT)`, floor, key)
	return err
}

// PruneWebhookEvents forgets event ids received before cutoff (the provider
// redelivers for minutes, not days).
func (r *Registry) PruneWebhookEvents(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := r.db.ExecContext(ctx, `DELETE FROM webhook_events WHERE received_at < $1`, cutoff.UTC())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
