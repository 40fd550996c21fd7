package tenancy

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/steeple-sms/steeple"
)

// ReserveSendSlot takes the next free send slot for key, spaced by
// interval, and returns how long to wait for it. One statement, so
// processes sharing the registry never hand out the same slot. The wait is
// relative. Slots are on the wall clock, not the registry's injectable one:
// the provider counts real seconds.
func (r *Registry) ReserveSendSlot(ctx context.Context, key string, interval time.Duration) (time.Duration, error) {
	ctx = bulkWrites(ctx)
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
	// One a text: on SQLite the other writers go first (see writeGate).
	ctx = bulkWrites(ctx)
	if r.backend != steeple.BackendSQLite {
		return claimSendTime(ctx, r.db, key, interval, r.processURL)
	}
	// On SQLite the claim first waits its turn at the file's writer, then
	// reads the clock: a claim timed before that wait (tens of ms while a
	// Sunday's senders queue there) is stale by the time it is written,
	// and its sender had to push the slot back with a second write
	// (DelaySendSlots) on most texts.
	var (
		wait    time.Duration
		claimed time.Time
	)
	err := r.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		wait, claimed, err = claimSendTime(ctx, tx, key, interval, r.processURL)
		return err
	})
	return wait, claimed, err
}

// rowQuerier is a *sql.DB or a *sql.Tx.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// claimSendTime is ClaimSendTime's statements, on the clock read now. A
// claim made records its sender (see RecentSender).
func claimSendTime(ctx context.Context, q rowQuerier, key string, interval time.Duration, sender string) (time.Duration, time.Time, error) {
	claimed := time.Now()
	now := claimed.UnixMicro()
	// The next free time advances from its schedule, not from now, unless
	// the sender is more than slack late: small wake-up delays then cost no
	// drift, and any run of sends still spans its intervals minus slack.
	slack := min(interval/10, 10*time.Millisecond).Microseconds()
	var next int64
	err := q.QueryRowContext(ctx, `INSERT INTO send_pacing (key, next_us, sender) VALUES ($1, CAST($2 AS BIGINT) + CAST($3 AS BIGINT), $5)
		ON CONFLICT (key) DO UPDATE SET next_us =
			(CASE WHEN send_pacing.next_us > CAST($2 AS BIGINT) - CAST($4 AS BIGINT) THEN send_pacing.next_us
				ELSE CAST($2 AS BIGINT) - CAST($4 AS BIGINT) END) + CAST($3 AS BIGINT), sender = $5
		WHERE send_pacing.next_us <= CAST($2 AS BIGINT)
		RETURNING next_us`, key, now, interval.Microseconds(), slack, sender).Scan(&next)
	if err == nil {
		return 0, claimed, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, err
	}
	if err := q.QueryRowContext(ctx, `SELECT next_us FROM send_pacing WHERE key = $1`, key).Scan(&next); err != nil {
		return 0, time.Time{}, err
	}
	return max(time.Duration(next-now)*time.Microsecond, time.Microsecond), time.Time{}, nil
}

// DelaySendSlots moves key's next free time to at least interval after
// sentAt. A sender whose send began well after its claim (a slow registry
// or scheduler) calls it, so the next send keeps a full interval after the
// real one.
func (r *Registry) DelaySendSlots(ctx context.Context, key string, sentAt time.Time, interval time.Duration) error {
	ctx = bulkWrites(ctx)
	floor := sentAt.Add(interval).UnixMicro()
	_, err := r.db.ExecContext(ctx, `UPDATE send_pacing SET next_us = CAST($1 AS BIGINT) WHERE key = $2 AND next_us < CAST($1 AS BIGINT)`, floor, key)
	return err
}

// RecentSender names the other process that made the last claim of a send
// time on the number e164 (its ProcessURL) if the number's next free time
// is at most `within` past (the claim was within `within` plus the pace's
// interval, or a delayed send's), or "" when no claim is that recent, or
// this process made it. A member's text to the number is best applied
// there: that process holds the church's connection while it sends.
func (r *Registry) RecentSender(ctx context.Context, e164 string, within time.Duration) (string, error) {
	if r.processURL == "" {
		return "", nil
	}
	var sender string
	err := r.db.QueryRowContext(ctx, `SELECT sender FROM send_pacing WHERE key = $1 AND next_us >= CAST($2 AS BIGINT)`,
		"number:"+e164, time.Now().Add(-within).UnixMicro()).Scan(&sender)
	if errors.Is(err, sql.ErrNoRows) || sender == r.processURL {
		return "", nil
	}
	return sender, err
}

// ProcessURL is where the other processes sharing the registry reach this
// one ("" when unset: it hands nothing over and is handed nothing).
func (r *Registry) ProcessURL() string { return r.processURL }
