package tenancy_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/tenancy"
)

// paceClaim is one moment a registry handed out.
type paceClaim struct {
	at   time.Time
	proc int
}

// claimUntil claims key's sending moments from reg until stop, sleeping
// whatever it is told to wait, as a send worker does.
func claimUntil(t *testing.T, reg *tenancy.Registry, proc int, key string, interval time.Duration, stop time.Time, out chan<- paceClaim) {
	ctx := context.Background()
	for time.Now().Before(stop) {
		wait, at, err := reg.ClaimSendTime(ctx, key, interval)
		if err != nil {
			t.Error(err)
			return
		}
		if wait > 0 {
			time.Sleep(wait)
			continue
		}
		out <- paceClaim{at, proc}
	}
}

// Two processes (two registries over one database) sending from one
// number keep its pace between them, and both get to send: the pace is
// kept in memory under a lease, and a process that wants the number gets
// it when the holder's lease lapses.
func TestPacingLeaseSharedByProcesses(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		regs := []*tenancy.Registry{b.Open(t, b.Options()).Registry, b.Open(t, b.Options()).Registry}
		const interval = 20 * time.Millisecond
		const slack = 2 * time.Millisecond // interval/10: a late sender's allowance
		key := "number:+13125550188"
		stop := time.Now().Add(3 * time.Second)
		out := make(chan paceClaim, 1000)
		var wg sync.WaitGroup
		for i := range 4 { // two senders in each process
			wg.Go(func() { claimUntil(t, regs[i%2], i%2, key, interval, stop, out) })
		}
		wg.Wait()
		close(out)
		var claims []paceClaim
		per := [2]int{}
		for c := range out {
			claims = append(claims, c)
			per[c.proc]++
		}
		slices.SortFunc(claims, func(a, b paceClaim) int { return a.at.Compare(b.at) })
		for i := 1; i < len(claims); i++ {
			if gap := claims[i].at.Sub(claims[i-1].at); gap < interval-slack {
				t.Fatalf("claims %d and %d (processes %d, %d) %v apart; want at least %v", i-1, i, claims[i-1].proc, claims[i].proc, gap, interval-slack)
			}
		}
		if per[0] == 0 || per[1] == 0 {
			t.Fatalf("claims per process %v: the lease never changed hands", per)
		}
		// 3 s at 20 ms: 150 at most. Hand-overs cost a guard's worth each.
		if len(claims) < 100 {
			t.Fatalf("%d claims in 3 s at one per %v (per process %v): hand-overs stall the number", len(claims), interval, per)
		}
		t.Logf("%s: %d claims, per process %v", b.Name, len(claims), per)
	})
}

// A process that stops (a crash) holding a number's lease is waited out:
// the next process's first send keeps a full interval after the last one,
// also when the interval is longer than the lease (its next free time is
// then written through to the row).
func TestPacingLeaseOutlivesItsHolder(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		ctx := context.Background()
		a, c := b.Open(t, b.Options()).Registry, b.Open(t, b.Options()).Registry
		for _, interval := range []time.Duration{300 * time.Millisecond, 1500 * time.Millisecond} {
			key := "number:+1312555019" + string(rune('0'+interval/(100*time.Millisecond)%10))
			wait, first, err := a.ClaimSendTime(ctx, key, interval)
			if err != nil || wait != 0 {
				t.Fatalf("first claim: wait %v, %v", wait, err)
			}
			// a dies here; c sends next.
			stop := time.Now().Add(interval + 3*time.Second)
			var next time.Time
			for time.Now().Before(stop) && next.IsZero() {
				wait, at, err := c.ClaimSendTime(ctx, key, interval)
				if err != nil {
					t.Fatal(err)
				}
				if wait > 0 {
					time.Sleep(wait)
					continue
				}
				next = at
			}
			if next.IsZero() {
				t.Fatalf("interval %v: the other process never got the number", interval)
			}
			// A sender may be a slack early on a late one's schedule (see
			// ClaimSendTime): 10 ms at these intervals.
			if gap := next.Sub(first); gap < interval-10*time.Millisecond || gap > max(interval, time.Second)+500*time.Millisecond {
				t.Fatalf("interval %v: the other process sent %v after the dead one; want from %v to the lease's end", interval, gap, interval)
			}
		}
	})
}
