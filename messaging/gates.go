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

// waitForSlot waits until this send may go: the account's rate is a slot
// reserved ahead, the number's (the limit carriers enforce) a moment
// claimed right before sending. Both are shared through the registry by
// every process. In this process a number's sends claim one at a time
// (see numberGates). The handle is given back during a long wait. It
// returns the moment claimed.
func (s *Service) waitForSlot(ctx context.Context, hh *handleHolder, from string, rate float64) (claimed time.Time, err error) {
	if s.cfg.AccountRate > 0 {
		wait, err := s.ten.Registry.ReserveSendSlot(ctx, "account", interval(s.cfg.AccountRate))
		if err != nil {
			return time.Time{}, err
		}
		if err := s.pause(ctx, hh, wait); err != nil {
			return time.Time{}, err
		}
	}
	gate, wait, err := s.gates.enter(ctx, from)
	if err != nil {
		return time.Time{}, err
	}
	defer func() { gate.leave(claimed, interval(rate)) }()
	for {
		if wait > 0 {
			if err := s.pause(ctx, hh, wait); err != nil {
				return time.Time{}, err
			}
		}
		if wait, claimed, err = s.ten.Registry.ClaimSendTime(ctx, "number:"+from, interval(rate)); err != nil || wait == 0 {
			return claimed, err
		}
	}
}

// pause sleeps, giving the church's handle back first if the wait is long
// (a slow rate's second or more). The short waits between texts at a
// registered pace keep it: given back, the idle pool was closed by another
// church's job to open its own, and reopened a moment later — on
// PostgreSQL a new server process for every text.
func (s *Service) pause(ctx context.Context, hh *handleHolder, wait time.Duration) error {
	if wait > longPause {
		hh.release()
	}
	return s.sleep(ctx, wait)
}

// longPause is the least wait for a slot that gives the handle back.
const longPause = 250 * time.Millisecond

// interval spaces sends for a rate, with 2% to spare so that jitter between
// the claim and the provider's receipt never puts one more message into a
// second than the rate allows.
func interval(perSecond float64) time.Duration {
	return time.Duration(float64(time.Second) / perSecond * 1.02)
}
