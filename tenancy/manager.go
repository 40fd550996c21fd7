package tenancy

import (
	"container/list"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steeple-sms/steeple"
)

// ErrBudgetExhausted is the cause inside the EUNAVAILABLE error a caller gets
// when no connection came free before its deadline.
var ErrBudgetExhausted = errors.New("tenant connection budget exhausted")

// ErrNotReady is the cause when a church is still being provisioned.
var ErrNotReady = errors.New("church still being provisioned")

// ErrManagerClosed is returned by Acquire after Close.
var ErrManagerClosed = steeple.Errorf(steeple.EUNAVAILABLE, "shutting down")

// ManagerConfig bounds the tenant manager.
type ManagerConfig struct {
	// MaxConns is the budget: connections to all tenant databases together.
	MaxConns int
	// MaxPerTenant caps one tenant's pool.
	MaxPerTenant int
	// MaxPools caps how many tenant databases are open at once.
	MaxPools int
	// IdleTimeout closes a pool nobody has used for this long.
	IdleTimeout time.Duration
	// AcquireTimeout bounds the wait of a caller whose context has no deadline.
	AcquireTimeout time.Duration
	// CloseGrace is how long a closed connection still counts against the
	// budget: a PostgreSQL server process lingers a few milliseconds after
	// its client has gone. Zero on SQLite, whose files close at once.
	CloseGrace time.Duration
	// BorrowFirst makes a brief record wait for its church's send job to
	// lend its connection rather than open another, and a receipt (on
	// arrival, or in its church's drain) wait for its church's connection
	// whoever holds it (see acquire). On PostgreSQL (where Open sets it)
	// another connection is a server process and room in a budget all
	// churches share; on SQLite it is a file handle within the church's
	// own cap, and waiting for the lend (the send job may be waiting for
	// its pacing claim at the registry) made receipts slower
	// (docs/benchmarks.md, eleventh pass).
	BorrowFirst bool
}

// Manager hands out tenant handles within one connection budget for the
// whole process. It opens a tenant's pool once however many callers ask at
// the same moment, closes the least recently used idle pools when it needs
// room, refuses tenants that are not active, and never makes a caller wait
// past its context's deadline.
//
// Accounting: conns counts connections reserved against the budget. A pool
// is configured never to open a connection nobody reserved and never to drop
// one by itself, so conns is always at least the number of real connections.
type Manager struct {
	reg     *Registry
	be      backend
	cfg     ManagerConfig
	latest  int64 // newest tenant schema this binary knows
	now     func() time.Time
	log     *slog.Logger
	metrics *managerMetrics
	opens   atomic.Int64

	mu        sync.Mutex
	pools     map[string]*pool
	idle      list.List // pools with nothing in use; front = least recently used
	conns     int       // reserved connections, pools and dedicated
	inUse     int
	dedicated int // single-connection pools for migrations and provisioning
	closing   int // pools being closed: still open until Close returns
	waiting   int
	starving  int // waiters whose church has no connection yet
	// membersWaiting counts members' texts waiting for a connection in a
	// full budget: the others give way to them (AcquireForMemberText).
	membersWaiting int
	// giving: send jobs give their connections up for members' texts
	// (manager_giveway.go).
	giving  giving
	changed chan struct{} // closed and replaced whenever room may have come free
	closed  bool

	stop chan struct{}
	done chan struct{}
}

type pool struct {
	id       string
	place    string // server and database the pool connects to
	db       *sql.DB
	ready    chan struct{} // closed once opened (or failed to)
	conns    int
	inUse    int
	lastUsed time.Time
	idleElem *list.Element
	// retired: the church moved since this pool opened; it is closed once
	// its last handle is released and never handed out again.
	retired bool
	// lend carries a busy connection from its holder to a caller of the
	// same church waiting to record something brief (Handle.Lend).
	lend chan lendOffer
	// lenders counts the connections held by send jobs, which lend them
	// between two texts: while one is held, a brief record of the church
	// borrows it rather than open another (see acquire).
	lenders int
	// membersFirst counts members' texts waiting for one of this pool's
	// connections (the pool full and at its size): the next one free goes
	// to them, not to a receipt or a send of the church (see acquire).
	membersFirst int
}

// placeOf names where t's database lives, to tell a pool opened before a
// move from one on the church's current database.
func placeOf(t *steeple.Tenant) string { return t.Server + "/" + t.DatabaseName }

func newManager(reg *Registry, be backend, cfg ManagerConfig, latest int64, o *Options) *Manager {
	m := &Manager{
		reg: reg, be: be, cfg: cfg, latest: latest, now: o.Now, log: o.Logger,
		pools:   map[string]*pool{},
		changed: make(chan struct{}),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	m.metrics = newManagerMetrics(o.Metrics, m)
	go m.reapIdle()
	return m
}

// Stats is a snapshot of the manager's accounting.
type Stats struct {
	Pools int   // open tenant databases, including dedicated ones
	Conns int   // connections counted against the budget
	InUse int   // connections held by handles
	Opens int64 // pools opened since start (dedicated ones included)
	// Waiting is how many callers wait for a connection; MembersWaiting
	// how many of them are members' texts the others give way to.
	Waiting, MembersWaiting int
	// GaveWay counts send jobs' connections given up for those texts
	// since start (Handle.Lend).
	GaveWay int64
}

// Stats returns the current accounting.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Stats{Pools: len(m.pools) + m.dedicated + m.closing, Conns: m.conns, InUse: m.inUse, Opens: m.opens.Load(),
		Waiting: m.waiting, MembersWaiting: m.membersWaiting, GaveWay: m.giving.total}
}

// OpenTenants lists the tenants whose pools are open, least recently used
// idle ones first, then those in use (in no particular order).
func (m *Manager) OpenTenants() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for e := m.idle.Front(); e != nil; e = e.Next() {
		out = append(out, e.Value.(*pool).id)
	}
	for id, p := range m.pools {
		if p.idleElem == nil {
			out = append(out, id)
		}
	}
	return out
}

// HasOpen reports whether tenantID's pool is open here (a caller would
// find a connection at hand, or one to borrow).
func (m *Manager) HasOpen(tenantID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.pools[tenantID]
	return ok && !p.retired
}

// servable refuses tenants that must not be served (a suspended one is
// refused unless suspendedToo).
func (m *Manager) servable(t *steeple.Tenant, suspendedToo bool) error {
	switch t.Status {
	case steeple.TenantActive:
	case steeple.TenantSuspended:
		if !suspendedToo {
			return steeple.Errorf(steeple.ESUSPENDED, "church %s is suspended", t.ID)
		}
	case steeple.TenantMoving:
		return errMoving(t.ID)
	case steeple.TenantDeleting:
		// Closed but restorable: refused like a suspended church (sends
		// park, schedules hold), its members' STOPs still recorded.
		if !suspendedToo {
			return steeple.Errorf(steeple.ESUSPENDED, "church %s is closed", t.ID)
		}
	case steeple.TenantProvisioning:
		return &steeple.Error{Code: steeple.EUNAVAILABLE, Message: "the church is still being set up", RetryAfter: 5 * time.Second, Err: ErrNotReady}
	default:
		return steeple.Errorf(steeple.ENOTFOUND, "church %s not found", t.ID)
	}
	if t.SchemaVersion > m.latest {
		return steeple.Errorf(steeple.ESCHEMA,
			"church %s has database schema version %d, newer than this binary knows (%d): upgrade steeple",
			t.ID, t.SchemaVersion, m.latest)
	}
	return nil
}

func (m *Manager) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, m.cfg.AcquireTimeout)
}

// roomFor reports whether one more connection (and, for a new pool, one more
// open database) fits the budget. Caller holds mu.
func (m *Manager) roomFor(newPool bool) bool {
	if m.conns >= m.cfg.MaxConns {
		return false
	}
	return !newPool || len(m.pools)+m.dedicated+m.closing < m.cfg.MaxPools
}

// BackgroundSlots is how many connections bulk work (send jobs) may hold
// at once: the budget less the share kept for everything else.
func (m *Manager) BackgroundSlots() int { return m.backgroundLimit() }

// PerTenantConns is the most connections one church's pool may hold.
func (m *Manager) PerTenantConns() int { return m.cfg.MaxPerTenant }

// backgroundLimit is how many connections may be in use for background
// work to open one more: three quarters of the budget (at least one), so
// bulk sends never take the last of it. The rest is free, in use by
// others, or held by idle pools that a page, a STOP or a queued event
// closes to make room (a receipt on arrival or in its drain closes none;
// it goes to the queue). Idle pools are not counted: when they were, a
// send job closed one after another until the count fell below the limit
// (twice the pools closed, twenty-second pass in docs/benchmarks.md).
func (m *Manager) backgroundLimit() int {
	return max(1, m.cfg.MaxConns-max(1, m.cfg.MaxConns/4))
}

// notify wakes every waiter to look again. Caller holds mu.
func (m *Manager) notify() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// openPool opens the database of a pool just added by acquire.
func (m *Manager) openPool(t *steeple.Tenant, p *pool, lender bool) error {
	db, err := m.be.open(t, m.cfg.MaxPerTenant)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		if m.pools[p.id] == p {
			delete(m.pools, p.id)
		} else if p.retired {
			m.closing-- // retired while opening: nothing to close
			p.retired = false
		}
		p.conns--
		m.conns--
		m.untake(p, lender)
		close(p.ready)
		m.notify()
		return &steeple.Error{Code: steeple.EUNAVAILABLE, Message: "the church's database is unavailable", RetryAfter: 5 * time.Second, Err: err}
	}
	p.db = db
	close(p.ready)
	m.opens.Add(1)
	m.metrics.opens.Inc()
	return nil
}

// connect takes a real connection for a reserved slot. grew says whether the
// slot was a new reservation (given back if the connection cannot be made).
func (m *Manager) connect(ctx context.Context, t *steeple.Tenant, p *pool, grew, lender bool) (*Handle, error) {
	ctx, cancel := finishing(ctx)
	defer cancel()
	conn, err := p.db.Conn(ctx)
	if err != nil {
		m.mu.Lock()
		m.untake(p, lender)
		if grew {
			p.conns--
			m.conns--
		}
		m.settle(p)
		m.mu.Unlock()
		if expired(ctx) {
			// The caller's deadline passed while the connection was being
			// made: the budget's answer, not a database outage.
			return nil, errBudgetExhausted()
		}
		m.log.Warn("tenant database unavailable", "tenant", t.ID, "err", err)
		return nil, &steeple.Error{Code: steeple.EUNAVAILABLE, Message: "the church's database is unavailable", RetryAfter: 5 * time.Second, Err: err}
	}
	if err := fence(ctx, t, conn); err != nil {
		moving := errors.Is(err, ErrMoving)
		m.release(p, conn, !moving, false, lender) // a failed query leaves the connection suspect
		if moving {
			return nil, err
		}
		if expired(ctx) {
			return nil, errBudgetExhausted()
		}
		return nil, &steeple.Error{Code: steeple.EUNAVAILABLE, Message: "the church's database is unavailable", RetryAfter: 5 * time.Second, Err: err}
	}
	h := &Handle{tenant: *t, conn: conn, lend: p.lend}
	givenUp := false
	if lender {
		h.giveWay = func() bool {
			givenUp = givenUp || m.giveWay()
			return givenUp
		}
	}
	h.release = func() {
		// A connection given up is closed: its move lock goes with it.
		m.release(p, conn, givenUp || !unfence(t, conn), givenUp, lender)
	}
	return h, nil
}

// Evict closes t's pool once nothing uses it (a church about to be purged,
// whose database is dropped next), waiting at most until ctx is done.
// Errors: EUNAVAILABLE when handles were still held at the deadline.
func (m *Manager) Evict(ctx context.Context, tenantID string) error {
	for {
		m.mu.Lock()
		p := m.pools[tenantID]
		if p == nil {
			m.mu.Unlock()
			return nil
		}
		if p.db != nil && p.inUse == 0 {
			if p.idleElem != nil {
				m.idle.Remove(p.idleElem)
				p.idleElem = nil
			}
			delete(m.pools, tenantID)
			m.closing++
			m.mu.Unlock()
			m.closePool(p)
			return nil
		}
		ch := m.changed
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return steeple.Errorf(steeple.EUNAVAILABLE, "church %s's database is still in use", tenantID)
		}
	}
}

// reapIdle closes pools idle for longer than IdleTimeout.
func (m *Manager) reapIdle() {
	defer close(m.done)
	every := m.cfg.IdleTimeout / 2
	if every > 30*time.Second {
		every = 30 * time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
		}
		cutoff := m.now().Add(-m.cfg.IdleTimeout)
		var stale []*pool
		m.mu.Lock()
		for e := m.idle.Front(); e != nil && e.Value.(*pool).lastUsed.Before(cutoff); e = m.idle.Front() {
			stale = append(stale, m.popIdle())
		}
		m.mu.Unlock()
		for _, p := range stale {
			m.closePool(p)
		}
	}
}

// Close refuses new acquisitions, closes idle pools now and busy ones as
// their handles are released.
func (m *Manager) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	var idle []*pool
	for m.idle.Len() > 0 {
		idle = append(idle, m.popIdle())
	}
	m.notify()
	m.mu.Unlock()
	close(m.stop)
	<-m.done
	for _, p := range idle {
		m.closePool(p)
	}
}
