package tenancy

import (
	"context"
	"time"
)

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
// late each sender woke: the pace is kept in memory under a lease on the
// key's row (pacing_lease.go).
func (r *Registry) ClaimSendTime(ctx context.Context, key string, interval time.Duration) (time.Duration, time.Time, error) {
	return r.pace.claim(ctx, key, interval)
}

// DelaySendSlots moves key's next free time to at least interval after
// sentAt. A sender whose send began well after its claim (a slow
// scheduler) calls it, so the next send keeps a full interval after the
// real one.
func (r *Registry) DelaySendSlots(ctx context.Context, key string, sentAt time.Time, interval time.Duration) error {
	return r.pace.delay(ctx, key, sentAt, interval)
}
