package tenancy_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/tenancy"
)

// On PostgreSQL a receipt never starts a second connection to its church
// while the church has one, even with room in the budget and in its pool:
// tried on arrival it fails at once (its drain takes it), and the drain
// waits for that connection. Each connection started there is a server
// process. A page still opens the second. On SQLite, where a connection is
// a file handle, the receipt opens its own (TestBriefRecordBorrowsRatherThanGrow).
func TestReceiptsWaitForTheirChurchsConnection(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		opts := smallBudget(b, 4)
		opts.Manager.MaxPerTenant = 2
		ten := b.Open(t, opts)
		ch := provisionMany(t, ten, "Receipts wait", 1, 1)[0]
		ctx := context.Background()
		held, err := ten.Manager.Acquire(ctx, ch.ID)
		if err != nil {
			t.Fatal(err)
		}
		var once sync.Once
		release := func() { once.Do(held.Release) }
		t.Cleanup(release)
		conns := func() int { return ten.Manager.Stats().Conns }

		try, err := ten.Manager.TryAcquireToRecord(ctx, ch.ID)
		if b.Name == "sqlite" {
			if err != nil {
				t.Fatalf("a receipt on arrival on SQLite: %v; want a connection of its own", err)
			}
			try.Release()
			release()
			if n := conns(); n != 2 {
				t.Fatalf("%d connections on SQLite; want 2", n)
			}
			return
		}
		if err == nil {
			try.Release()
			t.Fatal("a receipt on arrival started a second connection; want none while the church has one")
		}
		if !errors.Is(err, tenancy.ErrBudgetExhausted) {
			t.Fatalf("a receipt on arrival: %v; want the budget's answer (its drain applies it)", err)
		}

		wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		h, err := ten.Manager.WaitToRecord(wctx, ch.ID)
		cancel()
		if err == nil {
			h.Release()
			t.Fatal("a receipt drain started a second connection; want it to wait for the church's one")
		}
		if n := conns(); n != 1 {
			t.Fatalf("%d connections; want the church's one", n)
		}

		go func() { time.Sleep(200 * time.Millisecond); release() }()
		wctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		drain, err := ten.Manager.WaitToRecord(wctx, ch.ID)
		if err != nil {
			t.Fatalf("a receipt drain once the church's connection is given back: %v", err)
		}
		ping(t, drain)
		if n := conns(); n != 1 {
			t.Fatalf("%d connections after the drain got its church's; want 1", n)
		}

		// With the one connection held by the drain, a page opens another.
		page, err := ten.Manager.Acquire(ctx, ch.ID)
		if err != nil {
			t.Fatalf("a page while the drain holds the connection: %v", err)
		}
		ping(t, page)
		page.Release()
		drain.Release()
		if n := conns(); n != 2 {
			t.Fatalf("%d connections after a page beside the drain; want 2", n)
		}
	})
}
