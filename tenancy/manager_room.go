package tenancy

import (
	"context"
	"database/sql"
	"time"

	"github.com/steeple-sms/steeple"
)

// reserveRoom takes one connection and one open-database slot from the
// budget for work that does not go through a pool (provisioning, migrations,
// administrative connections), evicting idle pools or waiting as Acquire does.
func (m *Manager) reserveRoom(ctx context.Context) error {
	ctx, cancel := m.withDeadline(ctx)
	defer cancel()
	var w waitClock
	defer w.record(m.metrics)
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return ErrManagerClosed
		}
		if m.roomFor(true) {
			m.conns++
			m.dedicated++
			m.mu.Unlock()
			return nil
		}
		if victim := m.popIdle(); victim != nil {
			m.mu.Unlock()
			m.closePool(victim)
			continue
		}
		ch := m.changed
		m.mu.Unlock()
		if err := w.wait(ctx, m, ch); err != nil {
			return err
		}
	}
}

func (m *Manager) unreserveRoom() {
	m.mu.Lock()
	m.conns--
	m.dedicated--
	m.notify()
	m.mu.Unlock()
}

// withRoom runs fn while holding one connection's worth of budget.
func (m *Manager) withRoom(ctx context.Context, fn func() error) error {
	if err := m.reserveRoom(ctx); err != nil {
		return err
	}
	defer m.unreserveRoom()
	return fn()
}

// withDedicated runs fn on a fresh single-connection pool on t's database,
// counted against the budget. Migrations need a *sql.DB (goose) and must not
// share serving pools; t need not be active.
func (m *Manager) withDedicated(ctx context.Context, t *steeple.Tenant, fn func(*sql.DB) error) error {
	return m.withRoom(ctx, func() error {
		db, err := m.be.open(t, 1)
		if err != nil {
			return err
		}
		defer db.Close()
		m.opens.Add(1)
		return fn(db)
	})
}

// dedicatedHandle runs fn with a handle on a dedicated connection to t's
// database, for setup work on a tenant that is not active yet.
func (m *Manager) dedicatedHandle(ctx context.Context, t *steeple.Tenant, fn func(*Handle) error) error {
	return m.withDedicated(ctx, t, func(db *sql.DB) error {
		conn, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		return fn(&Handle{tenant: *t, conn: conn, release: func() {}})
	})
}

// waitClock measures how long one acquisition waited, for the metrics.
type waitClock struct{ start time.Time }

func (w *waitClock) wait(ctx context.Context, m *Manager, ch <-chan struct{}) error {
	_, err := w.waitOrBorrow(ctx, m, ch, nil)
	return err
}

// waitOrBorrow waits as wait does, or until the church's busy connection
// is lent on lend (nil: never).
func (w *waitClock) waitOrBorrow(ctx context.Context, m *Manager, ch <-chan struct{}, lend <-chan lendOffer) (*lendOffer, error) {
	if w.start.IsZero() {
		w.start = time.Now()
		m.metrics.waits.Inc()
	}
	m.mu.Lock()
	m.waiting++
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.waiting--
		m.mu.Unlock()
	}()
	select {
	case <-ch:
		return nil, nil
	case o := <-lend:
		return &o, nil
	case <-ctx.Done():
		return nil, errBudgetExhausted()
	}
}

// expired reports whether ctx is done or past its deadline: a driver may
// notice the deadline (as a network timeout) before the context does.
func expired(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// errBudgetExhausted is what a caller gets when its deadline passes before
// it has a connection.
func errBudgetExhausted() error {
	return &steeple.Error{
		Code:       steeple.EUNAVAILABLE,
		Message:    "all database connections are busy; try again shortly",
		RetryAfter: time.Second,
		Err:        ErrBudgetExhausted,
	}
}

func (w *waitClock) record(mm *managerMetrics) {
	if !w.start.IsZero() {
		mm.waitTime.Observe(time.Since(w.start).Seconds())
	}
}

// connectGrace is the least time a connection once begun is given to be
// made, whatever the caller's deadline.
const connectGrace = 3 * time.Second

// finishing is the context a connection is made under: the caller's, or,
// when that has less than connectGrace left, one that lasts connectGrace.
// A caller's deadline bounds its wait for room, not a connection the
// server has begun to start: on PostgreSQL under a Sunday storm a start
// took 1.1 s (p50) and a STOP with a 1 s wait gave it up half made — the
// server's work wasted, the room given back, the STOP queued to pay for
// another (docs/benchmarks.md, twelfth pass). A caller already gone
// (cancelled) is not waited for.
func finishing(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); !ok || ctx.Err() != nil || time.Until(dl) >= connectGrace {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), connectGrace)
}
