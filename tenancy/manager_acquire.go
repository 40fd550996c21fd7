package tenancy

import (
	"context"
	"errors"

	"github.com/steeple-sms/steeple"
)

// The ways to acquire a church's handle, by who asks: each is the one
// acquire loop (below) in a mode saying what it may open and whom it
// gives way to.

// Acquire returns a handle on the tenant's database. Errors: EINVALID for a
// malformed id, ENOTFOUND for an unknown or deleted church, ESUSPENDED for a
// suspended one, ESCHEMA when its database is newer than this binary, and
// EUNAVAILABLE (wrapping ErrBudgetExhausted) when no connection came free
// before ctx's deadline — or before AcquireTimeout if ctx has none.
func (m *Manager) Acquire(ctx context.Context, tenantID string) (*Handle, error) {
	return m.acquireCounted(ctx, tenantID, acquireServe)
}

// AcquireToRecord is Acquire that also opens a suspended (or closed, not
// yet purged) church's
// database, to record what its members did meanwhile (a STOP, a delivery
// receipt): suspension stops serving the church, not its members' choices
// from counting. Nothing may be sent with the handle's church while it is
// suspended; the send pipeline acquires with Acquire and stops there.
func (m *Manager) AcquireToRecord(ctx context.Context, tenantID string) (*Handle, error) {
	return m.acquireCounted(ctx, tenantID, acquireRecord)
}

// AcquireBackground is Acquire for bulk work (a broadcast's send jobs)
// that leaves room for the rest: it opens a connection only while fewer
// than backgroundLimit connections are in use, so a quarter of the budget
// stays free or in idle pools for STOPs, queued events and pages however
// many send workers there are. It may still use an idle connection its
// church's pool already has.
func (m *Manager) AcquireBackground(ctx context.Context, tenantID string) (*Handle, error) {
	return m.acquireCounted(ctx, tenantID, acquireBackground)
}

// TryAcquireBackground is AcquireBackground that never waits for a
// connection nor closes another church's pool to make one: when none is
// free at once it fails with EUNAVAILABLE (ErrBudgetExhausted). For a send
// that is one of several for its church, and is not needed to make
// progress (a long broadcast's extra lanes).
func (m *Manager) TryAcquireBackground(ctx context.Context, tenantID string) (*Handle, error) {
	return m.acquireCounted(ctx, tenantID, acquireBackgroundNow)
}

// TryAcquireToRecord is AcquireToRecord that never waits for a connection
// nor closes another church's pool to make one: when none is free at once
// it fails with EUNAVAILABLE (ErrBudgetExhausted), and with BorrowFirst
// also when the church has a connection, all in use, though there is room
// for another. For work that has a slower way round (a receipt its
// church's drain or the queue can apply), so that a flood of it does not
// crowd the callers that must wait.
func (m *Manager) TryAcquireToRecord(ctx context.Context, tenantID string) (*Handle, error) {
	return m.acquireCounted(ctx, tenantID, acquireRecordNow)
}

// WaitToRecord is AcquireToRecord that waits for room but never closes
// another church's pool to make it, nor counts as starving (which would
// have busy pools give connections back): it gets its church's connection
// once one is free, or its holder lends it (Handle.Lend), or room to open
// one — with BorrowFirst, only when the church has none. For work that
// stands in for many callers (a church's receipt drain) and must not churn
// other churches' pools while it waits.
// Errors as AcquireToRecord.
func (m *Manager) WaitToRecord(ctx context.Context, tenantID string) (*Handle, error) {
	return m.acquireCounted(ctx, tenantID, acquireRecordQuiet)
}

// acquireMode says what an acquisition may open and who it gives way to.
type acquireMode int

const (
	acquireServe         acquireMode = iota // an active church only
	acquireRecord                           // suspended and closing churches too
	acquireBackground                       // active only, within backgroundLimit
	acquireRecordNow                        // as acquireRecord, without waiting or evicting
	acquireRecordQuiet                      // as acquireRecord, waiting without evicting or starving; may borrow
	acquireRecordBrief                      // as acquireRecord, and may borrow (Handle.Lend)
	acquireBackgroundNow                    // as acquireBackground, without waiting or evicting
	acquireMemberText                       // as acquireRecordBrief, and first for room
)

// tries says the mode takes a free connection or none, without waiting.
func (mode acquireMode) tries() bool {
	return mode == acquireRecordNow || mode == acquireBackgroundNow
}

// background says the mode is bulk work, kept within backgroundLimit.
func (mode acquireMode) background() bool {
	return mode == acquireBackground || mode == acquireBackgroundNow
}

func (m *Manager) acquireCounted(ctx context.Context, tenantID string, mode acquireMode) (*Handle, error) {
	h, err := m.acquire(ctx, tenantID, mode)
	if err != nil {
		// A try that found no free connection is not an acquisition that
		// failed: nobody waited, and the caller has another way round.
		if !mode.tries() || !errors.Is(err, ErrBudgetExhausted) {
			m.metrics.acquireErr.WithLabelValues(steeple.ErrorCode(err)).Inc()
		}
		return h, err
	}
	noteChurch(ctx, tenantID)
	return h, nil
}

// acquire is the one acquisition loop every mode above runs.
func (m *Manager) acquire(ctx context.Context, id string, mode acquireMode) (*Handle, error) {
	background, now, quiet := mode.background(), mode.tries(), mode == acquireRecordQuiet
	suspendedToo := mode != acquireServe && !background
	memberText := mode == acquireMemberText
	mayBorrow := quiet || mode == acquireRecordBrief || memberText
	briefRecord := mayBorrow || mode == acquireRecordNow
	ctx, cancel := m.withDeadline(ctx)
	defer cancel()
	t, err := m.reg.Tenant(ctx, id)
	if err != nil {
		if expired(ctx) && steeple.ErrorCode(err) == steeple.EINTERNAL {
			// The registry's connections stayed busy until the deadline.
			return nil, errBudgetExhausted()
		}
		return nil, err
	}
	if err := m.servable(t, suspendedToo); err != nil {
		return nil, err
	}
	var w waitClock
	defer w.record(m.metrics)
	// first: this member's text is counted in membersWaiting, which has the
	// others give way (see AcquireForMemberText); wanting: in giving.wanted
	// too, its church having no connection, for which a send job gives its
	// own up (manager_giveway.go). Changed under mu only.
	first, wanting := false, false
	setWanting := func(want bool) {
		if want != wanting {
			wanting = want
			m.giving.want(id, want)
		}
	}
	setFirst := func(want bool) {
		if !want {
			setWanting(false)
		}
		if want == first {
			return
		}
		first = want
		if want {
			m.membersWaiting++
			return
		}
		if m.membersWaiting--; m.membersWaiting == 0 {
			m.notify() // those who gave way look again
		}
	}
	// own: the church's pool this member's text waits on, full and at its
	// size, counted in its membersFirst. Changed under mu only.
	var own *pool
	setOwn := func(p *pool) {
		if p == own {
			return
		}
		if own != nil {
			if own.membersFirst--; own.membersFirst == 0 {
				m.notify() // those who let it go first look again
			}
		}
		if own = p; p != nil {
			p.membersFirst++
		}
	}
	defer func() {
		if memberText {
			m.mu.Lock()
			setFirst(false)
			setOwn(nil)
			m.mu.Unlock()
		}
	}()
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return nil, ErrManagerClosed
		}
		p := m.pools[id]
		if p != nil && p.place != placeOf(t) {
			// The church moved: this pool reaches its old database.
			if victim := m.retire(p); victim != nil {
				m.mu.Unlock()
				m.closePool(victim)
				continue
			}
			p = nil
		}
		if p != nil && p.db == nil { // another caller is opening it
			ready := p.ready
			setFirst(false)
			setOwn(nil)
			m.mu.Unlock()
			if err := w.wait(ctx, m, ready); err != nil {
				return nil, err
			}
			continue
		}
		// An idle connection in this pool: a member's text waiting for one
		// goes first (but not before a page). A church's receipts and sends
		// each take their next connection the moment they gave one back,
		// and on Sunday morning a STOP woken by a release found it taken
		// again, for a second and more (twenty-first pass in
		// docs/benchmarks.md).
		if p != nil && p.inUse < p.conns && (p.membersFirst == 0 || memberText || mode == acquireServe) {
			m.take(p, background)
			setFirst(false)
			setOwn(nil)
			m.mu.Unlock()
			return m.connect(ctx, t, p, false, background)
		}
		canGrow := p == nil || p.conns < m.cfg.MaxPerTenant
		// On PostgreSQL each connection started is a server process (about
		// 33 ms of its CPU on a 2-core machine), and on a Sunday morning
		// a church's second connection made the budget close other
		// churches' pools and start theirs again all through the storm.
		// So a brief record borrows its church's send job's connection,
		// lent within a text's time, rather than open another; and a
		// receipt on arrival or in its church's drain waits for the
		// church's connection whoever holds it (receipts arriving together
		// started a sixth of a storm's sessions, twenty-second pass in
		// docs/benchmarks.md). A queued event still may open one.
		receipt := mode == acquireRecordNow || quiet
		if m.cfg.BorrowFirst && p != nil && (briefRecord && p.lenders > 0 || receipt && p.conns > 0) {
			canGrow = false
		}
		// A member's text holds the others back while what it lacks is a
		// connection in a full budget; waiting for its own church's full
		// pool it holds nobody back. While one is counted, only another,
		// or a page, takes new room or closes a pool to make it.
		if memberText {
			setFirst(canGrow && m.conns >= m.cfg.MaxConns)
			setWanting(first && (p == nil || p.conns == 0))
			if p != nil && p.conns >= m.cfg.MaxPerTenant {
				setOwn(p)
			} else {
				setOwn(nil)
			}
		}
		yields := m.membersWaiting > 0 && !memberText && mode != acquireServe
		if canGrow && !yields && m.roomFor(p == nil) && (!background || m.inUse < m.backgroundLimit()) {
			fresh := p == nil
			if fresh {
				p = &pool{id: id, place: placeOf(t), ready: make(chan struct{}), lend: make(chan lendOffer)}
				m.pools[id] = p
			}
			p.conns++
			m.conns++
			m.take(p, background)
			setFirst(false)
			setOwn(nil)
			m.mu.Unlock()
			if fresh {
				if err := m.openPool(t, p, background); err != nil {
					return nil, err
				}
			}
			return m.connect(ctx, t, p, true, background)
		}
		if now { // no waiting, no closing another church's pool
			m.mu.Unlock()
			return nil, errBudgetExhausted()
		}
		// A church with no connection at all may close another's idle pool;
		// so may a busy church's second caller (a STOP or a page while its
		// send job holds the first), except background work: sends growing
		// their pools would evict each other on every chunk. Background
		// work at its limit is not starving: room freed would not let it in.
		starving := (p == nil || p.conns == 0) && (!background || m.inUse < m.backgroundLimit()) && !quiet && !yields
		if starving || (canGrow && !background && !quiet && !yields) {
			if victim := m.popIdle(); victim != nil {
				m.mu.Unlock()
				m.closePool(victim)
				continue
			}
		}
		if starving {
			m.starving++
		}
		ch := m.changed
		var lend chan lendOffer
		if mayBorrow && p != nil {
			lend = p.lend
		}
		m.mu.Unlock()
		lent, err := w.waitOrBorrow(ctx, m, ch, lend)
		if starving {
			m.mu.Lock()
			m.starving--
			m.mu.Unlock()
		}
		if lent != nil {
			return lent.handle(t), nil
		}
		if err != nil {
			return nil, err
		}
	}
}
