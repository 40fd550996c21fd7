package messaging

import (
	"context"
	"sync"
	"time"
)

// numberGates let this process's sends from one number claim their moment
// in the registry one at a time, each no sooner than the last claim here
// plus the number's interval. A chunk's lanes (see sendLanes) otherwise
// all asked at once: every claim but one was refused and asked again after
// its wait, and on SQLite each ask is a turn at the registry's one writer,
// which Sunday's sends all share. Across processes the registry still
// decides; a claim refused there waits and asks again, as before.
type numberGates struct {
	mu    sync.Mutex
	gates map[string]*numberGate // one per number sent from here, kept: a few bytes each
}

type numberGate struct {
	turn chan struct{} // holds one token: whoever takes it claims next
	next time.Time     // the earliest next claim, as last claimed here
}

// enter waits for the number's gate (or ctx) and returns it held, with
// how long to wait before claiming; leave gives it back with the moment
// claimed (zero if none was).
func (g *numberGates) enter(ctx context.Context, number string) (*numberGate, time.Duration, error) {
	g.mu.Lock()
	if g.gates == nil {
		g.gates = map[string]*numberGate{}
	}
	gate := g.gates[number]
	if gate == nil {
		gate = &numberGate{turn: make(chan struct{}, 1)}
		gate.turn <- struct{}{}
		g.gates[number] = gate
	}
	g.mu.Unlock()
	select {
	case <-gate.turn:
		return gate, max(0, time.Until(gate.next)), nil
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
}

func (gate *numberGate) leave(claimed time.Time, interval time.Duration) {
	if !claimed.IsZero() {
		gate.next = claimed.Add(interval)
	}
	gate.turn <- struct{}{}
}
