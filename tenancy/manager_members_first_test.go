package tenancy_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/tenancy"
)

// A member's text waiting for its own church's connection, the church's
// pool full and at its size, gets the next one given back: a receipt
// waiting before it does not, nor one asking the moment it is free (as a
// worker does taking its next job), though the pool is not full for them.
func TestMemberTextFirstForItsChurchsConnection(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		opts := smallBudget(b, 4)
		opts.Manager.MaxPerTenant = 2
		ten := b.Open(t, opts)
		church := provisionMany(t, ten, "Own pool", 1, 1)[0].ID
		ctx := context.Background()
		held := make([]*tenancy.Handle, 2)
		for i := range held {
			h, err := ten.Manager.AcquireToRecord(ctx, church)
			if err != nil {
				t.Fatal(err)
			}
			held[i] = h
		}

		gots := make(chan acquired, 8)
		wait := func(who string, acquire acquireFunc) { acquireInBackground(t, gots, who, acquire, church) }
		const receipts = 3
		for range receipts {
			wait("receipt", ten.Manager.AcquireToRecord)
		}
		testkit.WaitUntil(t, 10*time.Second, func() bool { return ten.Manager.Stats().Waiting == receipts }, "the receipts waiting first")
		wait("member's text", ten.Manager.AcquireForMemberText)
		testkit.WaitUntil(t, 10*time.Second, func() bool { return ten.Manager.Stats().Waiting == receipts+1 }, "the member's text waiting")

		held[1].Release()
		if h, err := ten.Manager.TryAcquireToRecord(ctx, church); !errors.Is(err, tenancy.ErrBudgetExhausted) {
			if h != nil {
				h.Release()
			}
			t.Fatalf("a receipt asking as the connection came free: %v; want it left for the member's text", err)
		}
		first := <-gots
		if first.who != "member's text" {
			t.Fatalf("the connection went to a %s; want the member's text", first.who)
		}
		ping(t, first.h)

		first.release()
		held[0].Release()
		for range receipts {
			g := <-gots
			g.release()
		}
	})
}
