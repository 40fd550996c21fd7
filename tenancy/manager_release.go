package tenancy

import (
	"database/sql"
	"time"
)

// Taking and giving back connections, and closing pools: the budget's
// accounting (see Manager).

// take marks one of p's connections in use, by a lender (a send job) or
// not. Caller holds mu.
func (m *Manager) take(p *pool, lender bool) {
	if p.idleElem != nil {
		m.idle.Remove(p.idleElem)
		p.idleElem = nil
	}
	p.inUse++
	m.inUse++
	if lender {
		p.lenders++
	}
}

// untake undoes take. Caller holds mu.
func (m *Manager) untake(p *pool, lender bool) {
	p.inUse--
	m.inUse--
	if lender {
		p.lenders--
	}
}

// popIdle removes the least recently used idle pool from the manager's view;
// its connections stay counted until closePool has closed them. Caller holds mu.
func (m *Manager) popIdle() *pool {
	e := m.idle.Front()
	if e == nil {
		return nil
	}
	p := m.idle.Remove(e).(*pool)
	p.idleElem = nil
	delete(m.pools, p.id)
	m.closing++
	return p
}

// closePool closes a pool taken out by popIdle and only then gives its
// connections back to the budget, so real connections never exceed it.
func (m *Manager) closePool(p *pool) {
	m.mu.Lock()
	m.giving.freeing += p.conns
	m.mu.Unlock()
	if err := p.db.Close(); err != nil {
		m.log.Warn("closing tenant pool", "tenant", p.id, "err", err)
	}
	if p.conns > 0 { // a pool emptied by releases has no server connection left
		time.Sleep(m.cfg.CloseGrace)
	}
	m.metrics.evictions.Inc()
	m.mu.Lock()
	m.conns -= p.conns
	m.giving.freeing -= p.conns
	m.closing--
	m.notify()
	m.mu.Unlock()
}

// release gives a handle's connection back. When a church with no
// connection at all waits and the budget is full, a connection its pool
// does not need right now is closed instead of kept idle, so that the room
// goes to that church; otherwise (and always while a member's text of this
// church waits for it, see pool.membersFirst) it stays for this pool's
// next caller.
//
// A connection whose state is in doubt (its move lock could not be let
// go), or given up for a member's text (givenUp, see Handle.Lend), is
// always closed.
func (m *Manager) release(p *pool, conn *sql.Conn, closeIt, givenUp, lender bool) {
	m.mu.Lock()
	discard := closeIt || (m.starving > 0 || m.membersWaiting > 0) && m.conns >= m.cfg.MaxConns && p.inUse > 1 && p.membersFirst == 0
	m.mu.Unlock()
	if discard {
		discardConn(conn)
	}
	_ = conn.Close()
	m.mu.Lock()
	m.untake(p, lender)
	if givenUp {
		m.giving.promised--
	}
	if discard {
		p.conns--
		if m.cfg.CloseGrace > 0 {
			// The pool's count drops now; the budget's after the grace.
			m.giving.freeing++
			time.AfterFunc(m.cfg.CloseGrace, func() {
				m.mu.Lock()
				m.conns--
				m.giving.freeing--
				m.notify()
				m.mu.Unlock()
			})
		} else {
			m.conns--
		}
	}
	p.lastUsed = m.now()
	m.settle(p)
	m.mu.Unlock()
}

// settle files a pool with nothing in use as idle (or closes it once the
// manager is closed) and wakes waiters. Caller holds mu.
func (m *Manager) settle(p *pool) {
	if p.inUse == 0 && p.retired {
		p.retired = false // closed once
		go m.closePool(p)
	} else if p.inUse == 0 && m.pools[p.id] == p {
		if m.closed {
			delete(m.pools, p.id)
			m.closing++
			go m.closePool(p)
		} else if p.idleElem == nil {
			p.idleElem = m.idle.PushBack(p)
		}
	}
	m.notify()
}
