package tenancy

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"
)

// memoryPacing keeps the send pacing state of a SQLite registry in this
// process. A SQLite registry is served by one process by design, and the
// registry's pacing rows exist to share the slots between processes: on
// SQLite a claim written for every text put each send worker in line for
// the file's one writer (docs/benchmarks.md, the Sunday storm). The
// arithmetic is the same as the statements'. A restart forgets it, which
// costs at most one interval: the old process sends nothing more.
type memoryPacing struct {
	mu   sync.Mutex
	next map[string]int64 // key → next free time, µs since the epoch
}

func (p *memoryPacing) reserve(key string, now, step int64) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	next := max(p.next[key], now) + step
	p.next[key] = next
	return next
}

// claim returns (next, true) when the present moment is claimed, and
// (the next free time, false) otherwise.
func (p *memoryPacing) claim(key string, now, step, slack int64) (int64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	next, ok := p.next[key]
	switch {
	case !ok:
		next = now + step
	case next > now:
		return next, false
	default:
		next = max(next, now-slack) + step
	}
	p.next[key] = next
	return next, true
}

func (p *memoryPacing) delay(key string, floor int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if next, ok := p.next[key]; ok && next < floor {
		p.next[key] = floor
	}
}

// ReserveSendSlot takes the next free send slot for key, spaced by
// interval, and returns how long to wait for it. One statement, so
// processes sharing the registry never hand out the same slot. The wait is
// relative. Slots are on the wall clock, not the registry's injectable one:
// the provider counts real seconds.
func (r *Registry) ReserveSendSlot(ctx context.Context, key string, interval time.Duration) (time.Duration, error) {
	now := time.Now().UnixMicro()
	step := interval.Microseconds()
	if r.pacing != nil {
		return time.Duration(r.pacing.reserve(key, now, step)-step-now) * time.Microsecond, nil
	}
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
	if r.pacing != nil {
		next, ok := r.pacing.claim(key, now, interval.Microseconds(), slack)
		if ok {
			return 0, claimed, nil
		}
		return max(time.Duration(next-now)*time.Microsecond, time.Microsecond), time.Time{}, nil
	}
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
	if r.pacing != nil {
		r.pacing.delay(key, floor)
		return nil
	}
	_, err := r.db.ExecContext(ctx, `UPDATE send_pacing SET next_us = CAST($1 AS BIGINT) WHERE key = $2 AND next_us < CAST($1 AS BIGINT)`, floor, key)
	return err
}
