package messaging

import (
	"context"
	"testing"
	"time"
)

// A number's gate lets one sender claim at a time, and tells the next to
// wait out the interval after the last claim made here; another number's
// gate is its own, and a sender waiting for the gate gives up with its
// context.
func TestNumberGateSpacesClaims(t *testing.T) {
	var gates numberGates
	ctx := context.Background()
	first, wait, err := gates.enter(ctx, "+13125550100")
	if err != nil || wait != 0 {
		t.Fatalf("first sender: wait %v, err %v; want to claim at once", wait, err)
	}
	other, wait, err := gates.enter(ctx, "+13125550199")
	if err != nil || wait != 0 {
		t.Fatalf("another number's sender: wait %v, err %v; want its own gate, open", wait, err)
	}
	other.leave(time.Time{}, time.Second)

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, _, err := gates.enter(short, "+13125550100"); err == nil {
		t.Fatal("a second sender entered the number's gate while the first held it")
	}

	got := make(chan time.Duration, 1)
	go func() {
		gate, wait, err := gates.enter(ctx, "+13125550100")
		if err != nil {
			t.Error(err)
		}
		gate.leave(time.Time{}, time.Second)
		got <- wait
	}()
	first.leave(time.Now(), 400*time.Millisecond)
	if wait := <-got; wait < 300*time.Millisecond || wait > 400*time.Millisecond {
		t.Fatalf("the next sender was told to wait %v; want the rest of the 400 ms interval", wait)
	}
	// A sender that claimed nothing (an error) leaves the next time as it was.
	gate, wait, _ := gates.enter(ctx, "+13125550100")
	if wait == 0 || wait > 400*time.Millisecond {
		t.Fatalf("after a sender that claimed nothing the wait is %v; want what the last claim left", wait)
	}
	gate.leave(time.Time{}, time.Second)
}
