package tenancy_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/tenancy"
)

// Bulk work gives way: with the budget full of send jobs' connections, a
// STOP (or a page) waiting for a connection gets the next one released,
// though a send job for another church was waiting first; the send job
// goes on once nobody else waits.
func TestBackgroundAcquireGivesWay(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		metrics := prometheus.NewRegistry()
		opts := b.Options()
		opts.Manager.MaxConns, opts.Manager.MaxPools, opts.Manager.MaxPerTenant = 2, 3, 1
		opts.Manager.AcquireTimeout = 30 * time.Second
		opts.Metrics = metrics
		ten := b.Open(t, opts)
		ts := provisionMany(t, ten, "Give way", 4, 1)
		ctx := context.Background()
		busy1, err := ten.Manager.AcquireBackground(ctx, ts[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		busy2, err := ten.Manager.AcquireBackground(ctx, ts[1].ID)
		if err != nil {
			t.Fatal(err)
		}
		defer busy2.Release()

		got := func(acquire func(context.Context, string) (*tenancy.Handle, error), id string) <-chan *tenancy.Handle {
			ch := make(chan *tenancy.Handle, 1)
			waits := counter(t, metrics, "steeple_tenant_acquire_waits_total")
			go func() {
				h, err := acquire(ctx, id)
				if err != nil {
					t.Errorf("acquire %s: %v", id, err)
				}
				ch <- h
			}()
			testkit.WaitUntil(t, 10*time.Second, func() bool {
				return counter(t, metrics, "steeple_tenant_acquire_waits_total") > waits
			}, "the acquisition to wait for budget")
			return ch
		}
		bulk := got(ten.Manager.AcquireBackground, ts[2].ID) // waits first
		stop := got(ten.Manager.AcquireToRecord, ts[3].ID)

		busy1.Release()
		var h *tenancy.Handle
		select {
		case h = <-stop:
		case h = <-bulk:
			t.Fatal("the send job took the released connection from the STOP waiting for it")
		case <-time.After(10 * time.Second):
			t.Fatal("nobody got the released connection")
		}
		ping(t, h)
		select {
		case <-bulk:
			t.Fatal("the send job got a connection beyond the budget")
		case <-time.After(200 * time.Millisecond):
		}
		h.Release()
		select {
		case hb := <-bulk:
			ping(t, hb)
			hb.Release()
		case <-time.After(10 * time.Second):
			t.Fatal("the send job still waits after the STOP was done")
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
