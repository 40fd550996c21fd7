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
		offering := make(chan struct{})
		offered := make(chan struct{})
		go func() {
			defer close(offered)
			for {
				select {
				case <-offering:
					return
				case <-time.After(5 * time.Millisecond):
					holder.Lend()
				}
			}
		}()
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		_, err := ten.Manager.AcquireToRecord(short, church.ID)
		cancel()
		close(offering)
		<-offered
		if !errors.Is(err, tenancy.ErrBudgetExhausted) {
			t.Fatalf("AcquireToRecord while the connection is held: %v; want the budget exhausted", err)
		}

		borrow := func(name string, acquire func(context.Context, string) (*tenancy.Handle, error)) {
			t.Helper()
			type result struct {
				h   *tenancy.Handle
				err error
			}
			got := make(chan result, 1)
			wait, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			go func() {
				h, err := acquire(wait, church.ID)
				got <- result{h, err}
			}()
			hold := 150 * time.Millisecond
			lentBack := make(chan time.Duration, 1)
			var r result
		lend:
			for {
				select {
				case r = <-got:
					break lend
				default:
				}
				go func() {
					start := time.Now()
					holder.Lend()
					lentBack <- time.Since(start)
				}()
				select {
				case r = <-got:
					break lend
				case <-lentBack:
					time.Sleep(5 * time.Millisecond)
				}
			}
			if r.err != nil {
				t.Fatalf("%s: %v; want the holder's connection", name, r.err)
			}
			if !r.h.Borrowed() {
				t.Fatalf("%s: handle not marked borrowed", name)
			}
			if r.h.TenantID() != church.ID {
				t.Fatalf("%s: handle of %s; want %s", name, r.h.TenantID(), church.ID)
			}
			if _, err := r.h.ExecContext(ctx, `INSERT INTO lent (note) VALUES ($1)`, name); err != nil {
				t.Fatalf("%s: writing on the borrowed connection: %v", name, err)
			}
			time.Sleep(hold)
			r.h.Release()
			r.h.Release() // twice changes nothing
			if took := <-lentBack; took < hold {
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
		borrowed := make(chan error, 1)
		go func() {
			wait, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			h, err := ten.Manager.AcquireToRecordBriefly(wait, church.ID)
			if err != nil {
				borrowed <- err
				return
			}
			defer h.Release()
			short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancelShort()
			_, err = h.ExecContext(short, slow)
			borrowed <- err
		}()
		usable := true
		deadline := time.Now().Add(10 * time.Second)
		for lent := false; !lent; {
			select {
			case err := <-borrowed:
				if err == nil {
					t.Fatal("the slow query finished within 100 ms; want it cut short")
				}
				borrowed <- err
				lent = true
			default:
				if time.Now().After(deadline) {
					t.Fatal("nobody borrowed the connection")
				}
				usable = holder.Lend()
				time.Sleep(5 * time.Millisecond)
			}
		}
		if err := <-borrowed; err == nil {
			t.Fatal("the slow query was not cut short")
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
