package tenancy_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/tenancy"
)

// Bulk work leaves room: with send jobs holding all the budget they may
// (three quarters of it), another send job waits, while a STOP (or a page)
// gets a connection at once; the send job goes on when one of the others
// gives theirs back.
func TestBackgroundAcquireLeavesRoom(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		metrics := prometheus.NewRegistry()
		opts := b.Options()
		opts.Manager.MaxConns, opts.Manager.MaxPools, opts.Manager.MaxPerTenant = 4, 6, 1
		opts.Manager.AcquireTimeout = 30 * time.Second
		opts.Metrics = metrics
		ten := b.Open(t, opts)
		ts := provisionMany(t, ten, "Leave room", 5, 1)
		ctx := context.Background()
		var busy []*tenancy.Handle
		for _, tn := range ts[:3] {
			h, err := ten.Manager.AcquireBackground(ctx, tn.ID)
			if err != nil {
				t.Fatal(err)
			}
			busy = append(busy, h)
		}
		defer func() {
			for _, h := range busy[1:] {
				h.Release()
			}
		}()

		waits := counter(t, metrics, "steeple_tenant_acquire_waits_total")
		bulk := make(chan *tenancy.Handle, 1)
		go func() {
			h, err := ten.Manager.AcquireBackground(ctx, ts[3].ID)
			if err != nil {
				t.Errorf("the waiting send job: %v", err)
			}
			bulk <- h
		}()
		testkit.WaitUntil(t, 10*time.Second, func() bool {
			return counter(t, metrics, "steeple_tenant_acquire_waits_total") > waits
		}, "a fourth send job to wait: it went over three quarters of the budget")

		start := time.Now()
		stop, err := ten.Manager.AcquireToRecord(ctx, ts[4].ID)
		if err != nil {
			t.Fatalf("the STOP: %v", err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("the STOP waited %v for a connection; want at once", took)
		}
		ping(t, stop)
		select {
		case <-bulk:
			t.Fatal("the send job got a connection beyond its limit")
		case <-time.After(200 * time.Millisecond):
		}
		stop.Release() // room again, but only the reserve: the send job still waits
		select {
		case <-bulk:
			t.Fatal("the send job took the reserve")
		case <-time.After(200 * time.Millisecond):
		}
		busy[0].Release()
		select {
		case h := <-bulk:
			ping(t, h)
			h.Release()
		case <-time.After(10 * time.Second):
			t.Fatal("the send job still waits after another gave its connection back")
		}
	})
}

// ping checks the handle reaches a database (without asking for another).
func ping(t *testing.T, h *tenancy.Handle) {
	t.Helper()
	var one int
	if err := h.QueryRowContext(context.Background(), `SELECT 1`).Scan(&one); err != nil || one != 1 {
		t.Fatalf("handle for %s: %d %v", h.TenantID(), one, err)
	}
}

// A send job closes one idle pool when one makes its room: its share of
// the budget counts connections in use, not idle pools, so the other idle
// pool stays open for its church's next receipt (each pool reopened is a
// server process started again on PostgreSQL).
func TestSendJobClosesOnlyTheIdlePoolItNeeds(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		opts := smallBudget(b, 4) // send jobs: 3 in use at most
		ten := b.Open(t, opts)
		ts := provisionMany(t, ten, "Close one", 5, 1)
		ctx := context.Background()
		for _, tn := range ts[:2] { // two idle pools, ts[0] the older
			h, err := ten.Manager.Acquire(ctx, tn.ID)
			if err != nil {
				t.Fatal(err)
			}
			h.Release()
		}
		send, err := ten.Manager.AcquireBackground(ctx, ts[2].ID)
		if err != nil {
			t.Fatal(err)
		}
		defer send.Release()
		page, err := ten.Manager.Acquire(ctx, ts[3].ID)
		if err != nil {
			t.Fatal(err)
		}
		defer page.Release()

		// The budget is full (two in use, two idle); a second send job
		// needs one connection.
		h, err := ten.Manager.AcquireBackground(ctx, ts[4].ID)
		if err != nil {
			t.Fatalf("a send job with two in use and idle pools to close: %v", err)
		}
		ping(t, h)
		h.Release()
		if open := ten.Manager.OpenTenants(); !slices.Contains(open, ts[1].ID) || slices.Contains(open, ts[0].ID) {
			t.Fatalf("open churches %v; want the older idle pool (%s) closed and the other (%s) kept", open, ts[0].ID, ts[1].ID)
		}
	})
}
