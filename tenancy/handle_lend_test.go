package tenancy_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/tenancy"
)

// A holder lends its busy connection to a brief caller of the same church
// waiting for one, gets it back when that caller releases it, and keeps
// it: the budget is unchanged throughout. Callers that may not borrow
// keep waiting.
func TestLendBusyConnection(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		ten, church, holder := heldAlone(t, b)
		ctx := context.Background()
		defer holder.Release()
		if holder.Borrowed() {
			t.Fatal("the holder's own handle says borrowed")
		}
		// A temporary table lives on one connection only: the borrower can
		// write to it only on the holder's connection.
		if _, err := holder.ExecContext(ctx, `CREATE TEMP TABLE lent (note TEXT)`); err != nil {
			t.Fatal(err)
		}
		holder.Lend() // nobody waits: returns at once

		// Whoever may not borrow still finds the budget spent, though the
		// holder offers its connection all along.
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			_, err = ten.Manager.AcquireToRecord(short, church.ID)
		}()
		lendUntil(holder, done)
		if !errors.Is(err, tenancy.ErrBudgetExhausted) {
			t.Fatalf("AcquireToRecord while the connection is held: %v; want the budget exhausted", err)
		}

		const hold = 150 * time.Millisecond
		borrow := func(name string, acquire func(context.Context, string) (*tenancy.Handle, error)) {
			t.Helper()
			var err error
			var borrowed bool
			var tenantID string
			done := make(chan struct{})
			go func() {
				wait, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				h, aerr := acquire(wait, church.ID)
				if aerr != nil {
					err = aerr
					close(done)
					return
				}
				borrowed, tenantID = h.Borrowed(), h.TenantID()
				_, err = h.ExecContext(ctx, `INSERT INTO lent (note) VALUES ($1)`, name)
				time.Sleep(hold)
				close(done) // before giving it back: the holder's last offer is this one
				h.Release()
				h.Release() // twice changes nothing
			}()
			_, took := lendUntil(holder, done)
			switch {
			case err != nil:
				t.Fatalf("%s: %v; want to write on the holder's connection", name, err)
			case !borrowed:
				t.Fatalf("%s: handle not marked borrowed", name)
			case tenantID != church.ID:
				t.Fatalf("%s: handle of %s; want %s", name, tenantID, church.ID)
			case took < hold:
				t.Fatalf("%s: Lend returned after %v, before the borrower gave the connection back (%v)", name, took, hold)
			}
		}
		borrow("AcquireToRecordBriefly", ten.Manager.AcquireToRecordBriefly)
		borrow("WaitToRecord", ten.Manager.WaitToRecord)

		// The holder still has its connection, with both notes on it, and
		// the budget is still spent on it.
		var n int
		if err := holder.QueryRowContext(ctx, `SELECT count(*) FROM lent`).Scan(&n); err != nil || n != 2 {
			t.Fatalf("notes on the holder's connection: %d %v; want 2", n, err)
		}
		if _, err := ten.Manager.TryAcquireToRecord(ctx, church.ID); !errors.Is(err, tenancy.ErrBudgetExhausted) {
			t.Fatalf("TryAcquireToRecord after the borrowers left: %v; want the budget still held by the holder", err)
		}
		holder.Release()
		h, err := ten.Manager.TryAcquireToRecord(ctx, church.ID)
		if err != nil {
			t.Fatalf("after the holder released: %v", err)
		}
		h.Release()
	})
}

// A borrower whose context ends mid-query: on PostgreSQL pgx closes the
// connection, and Lend says so, so that the holder gives it up (the
// manager then discards it) instead of sending on a dead connection; on
// SQLite the connection survives. Either way the budget is whole again
// once the holder releases.
func TestLendReportsAConnectionClosedByTheBorrower(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		ten, church, holder := heldAlone(t, b)
		ctx := context.Background()
		slow := `SELECT pg_sleep(2)`
		if b.Name == "sqlite" {
			slow = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) SELECT count(*) FROM n`
		}
		var err error
		done := make(chan struct{})
		go func() {
			wait, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			h, aerr := ten.Manager.AcquireToRecordBriefly(wait, church.ID)
			if aerr != nil {
				close(done)
				t.Errorf("nobody borrowed the connection: %v", aerr)
				return
			}
			short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancelShort()
			_, err = h.ExecContext(short, slow)
			close(done) // before giving it back: the holder's last offer is this one
			h.Release()
		}()
		usable, _ := lendUntil(holder, done)
		if err == nil {
			t.Fatal("the slow query finished within 100 ms; want it cut short")
		}
		if want := b.Name == "sqlite"; usable != want {
			t.Fatalf("Lend reported the connection usable=%v after the borrower's query was cut short; want %v", usable, want)
		}
		holder.Release()
		h, err := ten.Manager.Acquire(ctx, church.ID)
		if err != nil {
			t.Fatalf("after the holder released: %v", err)
		}
		defer h.Release()
		ping(t, h)
	})
}

// One Lend serves every brief caller of the church waiting at that moment,
// one after the other (up to eight), not one a text: on Sunday morning a
// large church's STOPs waited their turns behind each other and its
// receipts, one a text, for seconds.
func TestLendServesEveryCallerWaiting(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		ten, church, holder := heldAlone(t, b)
		defer holder.Release()
		const callers = 3
		served := make(chan bool, callers)
		for range callers {
			go func() {
				wait, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				h, err := ten.Manager.AcquireToRecordBriefly(wait, church.ID)
				if err != nil {
					t.Errorf("brief record: %v", err)
					served <- false
					return
				}
				ping(t, h)
				served <- h.Borrowed()
				h.Release()
			}()
		}
		testkit.WaitUntil(t, 10*time.Second, func() bool { return ten.Manager.Stats().Waiting == callers }, "three brief records waiting")
		if !holder.Lend() {
			t.Fatal("the holder may not go on after lending")
		}
		for i := range callers {
			select {
			case borrowed := <-served:
				if !borrowed {
					t.Fatalf("caller %d was not lent the holder's connection", i+1)
				}
			default:
				t.Fatalf("%d of %d waiting callers served by one Lend; want all", i, callers)
			}
		}
		ping(t, holder)
	})
}

// heldAlone opens a tenancy whose budget is one connection, provisions one
// church, and holds its connection as a send job does.
func heldAlone(t *testing.T, b *testkit.Backend) (*tenancy.Tenancy, *steeple.Tenant, *tenancy.Handle) {
	t.Helper()
	opts := b.Options()
	opts.Manager.MaxConns, opts.Manager.MaxPools, opts.Manager.MaxPerTenant = 1, 1, 1
	ten := b.Open(t, opts)
	church := provisionMany(t, ten, "Lend", 1, 1)[0]
	holder, err := ten.Manager.AcquireBackground(context.Background(), church.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ten, church, holder
}

// lendUntil offers the holder's connection every 5 ms, as a send job does
// between texts, until done is closed, and returns what its last offer
// said and how long it took. A borrower closes done before it gives the
// connection back, so the last offer is the one it took.
func lendUntil(holder *tenancy.Handle, done <-chan struct{}) (usable bool, took time.Duration) {
	for {
		select {
		case <-done:
			return usable, took
		default:
		}
		start := time.Now()
		usable = holder.Lend()
		took = time.Since(start)
		time.Sleep(5 * time.Millisecond)
	}
}

// On PostgreSQL, while a send job holds its church's connection, a brief
// record of the church borrows it instead of opening another, even with
// room in the budget (a Sunday's receipts made every sending church's pool
// grow, and the growth closed other churches' pools); whoever does not
// borrow (a page) still gets a connection of its own. On SQLite, where
// another connection is a file handle, the brief record opens one.
func TestBriefRecordBorrowsRatherThanGrow(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		opts := b.Options()
		opts.Manager.MaxConns, opts.Manager.MaxPools, opts.Manager.MaxPerTenant = 4, 4, 4
		ten := b.Open(t, opts)
		church := provisionMany(t, ten, "Grow", 1, 1)[0]
		ctx := context.Background()
		holder, err := ten.Manager.AcquireBackground(ctx, church.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer holder.Release()
		if b.Name == "sqlite" {
			h, err := ten.Manager.TryAcquireToRecord(ctx, church.ID)
			if err != nil || h.Borrowed() {
				t.Fatalf("TryAcquireToRecord beside the send job on SQLite: %v; want a connection of its own", err)
			}
			h.Release()
			if st := ten.Manager.Stats(); st.Conns != 2 {
				t.Fatalf("connections counted: %d; want 2", st.Conns)
			}
			return
		}
		if _, err := ten.Manager.TryAcquireToRecord(ctx, church.ID); !errors.Is(err, tenancy.ErrBudgetExhausted) {
			t.Fatalf("TryAcquireToRecord while the send job holds the connection: %v; want the budget's answer (the drain borrows)", err)
		}
		var borrowed bool
		done := make(chan struct{})
		go func() {
			defer close(done)
			wait, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			h, err := ten.Manager.AcquireToRecordBriefly(wait, church.ID)
			if err != nil {
				t.Errorf("AcquireToRecordBriefly: %v", err)
				return
			}
			borrowed = h.Borrowed()
			h.Release()
		}()
		lendUntil(holder, done)
		if !borrowed {
			t.Fatal("the brief record got a connection of its own; want the send job's, lent")
		}
		if st := ten.Manager.Stats(); st.Conns != 1 {
			t.Fatalf("connections counted after the borrow: %d; want 1", st.Conns)
		}
		page, err := ten.Manager.AcquireToRecord(ctx, church.ID)
		if err != nil || page.Borrowed() {
			t.Fatalf("AcquireToRecord beside the send job: borrowed %v, %v; want a connection of its own", err == nil && page.Borrowed(), err)
		}
		defer page.Release()
		// Once the send job is done, with the church's connections all
		// taken by callers that do not lend, a receipt still opens none:
		// its drain waits for one of them (TestReceiptsWaitForTheirChurchsConnection).
		holder.Release()
		other, err := ten.Manager.AcquireToRecord(ctx, church.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Release()
		if _, err := ten.Manager.TryAcquireToRecord(ctx, church.ID); !errors.Is(err, tenancy.ErrBudgetExhausted) {
			t.Fatalf("TryAcquireToRecord with the church's connections taken: %v; want the budget's answer (its drain waits for one)", err)
		}
	})
}
