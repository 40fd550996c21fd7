package tenancy

import "sync/atomic"

// Send jobs give their connections up for members' texts. A send job
// holds its church's connection through its turn (two seconds and more;
// the whole broadcast when no other job waits), so a STOP to a church
// sending nothing, in a budget the send jobs hold, waited that long for
// room. Now a send job looks between two texts (Handle.Lend) whether such
// a text waits, and if so closes its connection to make the room and
// acquires again once the texts have theirs.
//
// One connection is given up for each church that has such a text
// waiting and no connection open (however many of its members text at
// once: the others wait for that one connection, a STOP's write being
// brief), less the room already on its way: connections promised and not
// yet released, connections closed whose room is not back in the budget
// yet (CloseGrace), and idle pools' connections, which a waiting text
// closes itself. Whoever then takes the room, a text still waiting is
// still counted, and another send job gives way.

// giving is the manager's account of it. Changed under mu only.
type giving struct {
	// wanted counts, by church, members' texts waiting for room in a full
	// budget whose church has no connection open.
	wanted map[string]int
	// promised counts connections send jobs agreed to give up and have not
	// released yet; freeing, connections closed whose room is not back in
	// the budget yet.
	promised, freeing int
	total             int64 // given up since start (Stats, and its metric)
	// anyWanted is len(wanted) > 0, read without mu: every send lane asks
	// between two texts.
	anyWanted atomic.Bool
}

// want counts (or uncounts) one text of church waiting for room.
func (g *giving) want(church string, on bool) {
	if g.wanted == nil {
		g.wanted = map[string]int{}
	}
	if on {
		g.wanted[church]++
		g.anyWanted.Store(true)
		return
	}
	if g.wanted[church]--; g.wanted[church] <= 0 {
		delete(g.wanted, church)
	}
	g.anyWanted.Store(len(g.wanted) > 0)
}

// giveWay reports whether a send job's connection is to be given up now
// for a member's text waiting for room in a full budget, and counts it
// promised.
func (m *Manager) giveWay() bool {
	if !m.giving.anyWanted.Load() {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	g := &m.giving
	if len(g.wanted) == 0 || m.conns < m.cfg.MaxConns {
		return false
	}
	if len(g.wanted) <= g.promised+g.freeing+m.idleConns() {
		return false
	}
	g.promised++
	g.total++
	return true
}

// idleConns counts the connections of idle pools. Caller holds mu.
func (m *Manager) idleConns() int {
	n := 0
	for e := m.idle.Front(); e != nil; e = e.Next() {
		n += e.Value.(*pool).conns
	}
	return n
}
