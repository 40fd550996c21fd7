package tenancy

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"sync"
	"time"
)

// A number's pace is kept in the memory of the process sending from it,
// under a lease on the number's send_pacing row: one registry write a
// half-second while the number sends, instead of one a text. On Sunday
// morning those per-text writes were most of what the SQLite registry's
// one writer did, and every sender waited its turn there (about 20 ms a
// text at 300 churches; docs/benchmarks.md, seventh pass).
//
// What keeps processes apart: a process claims sending moments only while
// it holds the lease, and never within paceGuard of its end; taking a
// lease over from another process starts at the later of the row's next
// free time and the old lease's end. A process that died is waited out
// (at most leaseFor). One that wants a number another holds marks the
// row; the holder then lets its lease lapse instead of renewing it, and
// may take it back only a guard after its end, so two processes sending
// from one number take turns a lease at a time.
// A claim whose next free time lies past the lease's end (a slow rate: an
// interval longer than what is left of the lease) writes it through, so
// that the next holder never starts before it.
const (
	leaseFor  = time.Second
	paceRenew = leaseFor / 2 // renewed once less than this is left
	// paceGuard is the end of a lease no claim is made in: a send follows
	// its claim by a millisecond or two, and the next holder may start at
	// the lease's end.
	paceGuard = 50 * time.Millisecond
)

// pacer holds this process's pacing leases.
type pacer struct {
	db     *sql.DB
	holder string // this process, in the rows it holds

	mu     sync.Mutex
	leases map[string]*paceLease
}

// paceLease is one key's pace while this process holds its lease.
type paceLease struct {
	mu       sync.Mutex
	next     int64 // µs: the next free moment
	until    int64 // µs: the lease's end (past or 0: not held)
	yielding bool  // another process asked for it: not renewed
	renewing bool  // a renewal is under way
}

func newPacer(db *sql.DB) *pacer {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return &pacer{db: db, holder: hex.EncodeToString(b), leases: map[string]*paceLease{}}
}

func (p *pacer) lease(key string) *paceLease {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.leases[key]
	if l == nil {
		l = &paceLease{}
		p.leases[key] = l
	}
	return l
}

// claim is Registry.ClaimSendTime.
func (p *pacer) claim(ctx context.Context, key string, interval time.Duration) (time.Duration, time.Time, error) {
	l := p.lease(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	us := now.UnixMicro()
	switch {
	case us >= l.until-paceGuard.Microseconds():
		// Not held, or too near its end: take it before claiming.
		if wait, err := p.take(ctx, key, l, us, l.next); err != nil || wait > 0 {
			return wait, time.Time{}, err
		}
		now = time.Now() // the write may have waited for the registry's writer
		us = now.UnixMicro()
	case us >= l.until-paceRenew.Microseconds() && !l.yielding && !l.renewing:
		// Renewed in the background: the sends go on meanwhile.
		l.renewing = true
		go p.renew(key, l)
	}
	if l.next > us {
		return time.Duration(l.next-us) * time.Microsecond, time.Time{}, nil
	}
	// The next free time advances from its schedule, not from now, unless
	// the sender is more than slack late: small wake-up delays then cost no
	// drift, and any run of sends still spans its intervals minus slack.
	slack := min(interval/10, 10*time.Millisecond).Microseconds()
	next := max(l.next, us-slack) + interval.Microseconds()
	if next > l.until {
		if wait, err := p.take(ctx, key, l, us, next); err != nil || wait > 0 {
			return wait, time.Time{}, err
		}
	}
	l.next = next
	return 0, now, nil
}

// delay is Registry.DelaySendSlots: in memory while the lease is held,
// on the row too when it reaches past the lease.
func (p *pacer) delay(ctx context.Context, key string, sentAt time.Time, interval time.Duration) error {
	l := p.lease(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	floor := sentAt.Add(interval).UnixMicro()
	if time.Now().UnixMicro() < l.until {
		l.next = max(l.next, floor)
		if floor <= l.until {
			return nil
		}
	}
	_, err := p.db.ExecContext(ctx, `UPDATE send_pacing SET next_us = CAST($1 AS BIGINT) WHERE key = $2 AND next_us < CAST($1 AS BIGINT)`, floor, key)
	return err
}

// take takes key's lease, or renews it, with next as this process's next
// free time, and answers how long to wait when it cannot be had now.
// Caller holds l.mu.
func (p *pacer) take(ctx context.Context, key string, l *paceLease, now, next int64) (time.Duration, error) {
	a, err := p.write(ctx, key, now, next)
	if err != nil {
		return 0, err
	}
	return l.settle(a, p.holder, now, next), nil
}

// renew renews a held lease off the senders' path.
func (p *pacer) renew(key string, l *paceLease) {
	l.mu.Lock()
	next := l.next
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), paceRenew)
	defer cancel()
	now := time.Now().UnixMicro()
	a, err := p.write(ctx, key, now, next)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.renewing = false
	if err == nil { // else a claim near the lease's end takes it in line
		l.settle(a, p.holder, now, next)
	}
}

// leaseAnswer is what a take found: the lease taken (with the row's next
// free time and the lease's new end), or who holds it and until when.
type leaseAnswer struct {
	taken     bool
	next, end int64
	holder    string
}

// settle records a take's answer and says how long to wait before
// claiming. Caller holds l.mu.
func (l *paceLease) settle(a leaseAnswer, me string, now, next int64) time.Duration {
	switch {
	case a.taken:
		// l.next is kept if later: this process's own sends bound it.
		l.next, l.until, l.yielding = max(l.next, a.next), max(l.until, a.end), false
		return 0
	case a.holder == me:
		// Asked for by another process: let it lapse.
		l.until, l.yielding = a.end, true
		if now < a.end-paceGuard.Microseconds() && next <= a.end {
			return 0 // still ours for a while
		}
		// The one that asked goes first: this process may take the lease
		// back only a guard after its end (if nobody came for it).
		return max(time.Duration(a.end+paceGuard.Microseconds()-now)*time.Microsecond, time.Millisecond)
	}
	l.until, l.yielding = 0, false
	return max(time.Duration(a.end-now)*time.Microsecond, time.Millisecond)
}

// write is a take's statements: take or renew the lease, else ask for it.
func (p *pacer) write(ctx context.Context, key string, now, next int64) (leaseAnswer, error) {
	a := leaseAnswer{end: now + leaseFor.Microseconds()}
	err := p.db.QueryRowContext(ctx, `INSERT INTO send_pacing (key, next_us, holder, until_us, wanted_us)
		VALUES ($1, CAST($2 AS BIGINT), $3, CAST($4 AS BIGINT), 0)
		ON CONFLICT (key) DO UPDATE SET
			next_us = CASE
				WHEN send_pacing.holder = $3 THEN
					CASE WHEN send_pacing.next_us > CAST($2 AS BIGINT) THEN send_pacing.next_us ELSE CAST($2 AS BIGINT) END
				WHEN send_pacing.until_us > send_pacing.next_us THEN send_pacing.until_us
				ELSE send_pacing.next_us END,
			holder = $3, until_us = CAST($4 AS BIGINT), wanted_us = 0
		WHERE (send_pacing.holder = $3 AND send_pacing.wanted_us = 0)
			OR (send_pacing.holder <> $3 AND send_pacing.until_us <= CAST($5 AS BIGINT))
			OR send_pacing.until_us + CAST($6 AS BIGINT) <= CAST($5 AS BIGINT)
		RETURNING next_us`, key, next, p.holder, a.end, now, paceGuard.Microseconds()).Scan(&a.next)
	if err == nil {
		a.taken = true
		return a, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return a, err
	}
	// Refused: another process holds it (ask for it), or this one does and
	// was asked for it.
	err = p.db.QueryRowContext(ctx, `UPDATE send_pacing
		SET wanted_us = CASE WHEN holder = $2 THEN wanted_us ELSE CAST($3 AS BIGINT) END
		WHERE key = $1 RETURNING holder, until_us`, key, p.holder, now).Scan(&a.holder, &a.end)
	if errors.Is(err, sql.ErrNoRows) { // the row went (its number was released): look again
		a.holder, a.end, err = "", now, nil
	}
	return a, err
}
