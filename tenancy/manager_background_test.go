package tenancy_test

import (
	"context"
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
