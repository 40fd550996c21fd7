package tenancy_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/tenancy"
)

func TestAcquireOpensColdTenantOnce(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		opts := b.Options()
		opts.Manager.MaxPerTenant = 2
		ten := b.Open(t, opts)
		tn := provisionMany(t, ten, "Cold", 1, 1)[0]
		if open := ten.Manager.OpenTenants(); len(open) != 0 {
			t.Fatalf("open before the test: %v; want a cold tenant", open)
		}
		before := ten.Manager.Stats().Opens

		const callers = 100
		start := make(chan struct{})
		var holding, peak atomic.Int64
		errs := make(chan error, callers)
		var wg sync.WaitGroup
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				h, err := ten.Manager.Acquire(ctx, tn.ID)
				if err != nil {
					errs <- err
					return
				}
				n := holding.Add(1)
				for p := peak.Load(); n > p; p = peak.Load() {
					if peak.CompareAndSwap(p, n) {
						break
					}
				}
				var owner string
				err = h.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'owner'`).Scan(&owner)
				holding.Add(-1)
				h.Release()
				if err == nil && owner != tn.ID {
					err = fmt.Errorf("reached the database of %q", owner)
				}
				if err != nil {
					errs <- err
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if opens := ten.Manager.Stats().Opens - before; opens != 1 {
			t.Errorf("%d callers opened the cold tenant %d times; want once", callers, opens)
		}
		if p := peak.Load(); p < 1 || p > int64(opts.Manager.MaxPerTenant) {
			t.Errorf("%d handles held at once; want 1…%d (MaxPerTenant)", p, opts.Manager.MaxPerTenant)
		}
		if st := ten.Manager.Stats(); st.Pools != 1 || st.InUse != 0 || st.Conns > opts.Manager.MaxPerTenant {
			t.Errorf("after: %+v", st)
		}
	})
}

// use acquires the tenant, checks its database is its own, and releases it.
func use(t testing.TB, ten *tenancy.Tenancy, tn *steeple.Tenant) {
	t.Helper()
	if owner := readOwner(t, ten, tn.ID); owner != tn.ID {
		t.Fatalf("tenant %s reached the database of %q", tn.ID, owner)
	}
}

func TestEvictsLeastRecentlyUsedIdlePool(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		opts := b.Options()
		opts.Manager.MaxConns, opts.Manager.MaxPools, opts.Manager.MaxPerTenant = 3, 3, 1
		ten := b.Open(t, opts)
		ts := provisionMany(t, ten, "LRU", 4, 1)
		a, bb, c, d := ts[0], ts[1], ts[2], ts[3]
		names := map[string]string{a.ID: "A", bb.ID: "B", c.ID: "C", d.ID: "D"}
		openNow := func() []string {
			var out []string
			for _, id := range ten.Manager.OpenTenants() {
				out = append(out, names[id])
			}
			return out
		}
		expect := func(when string, want ...string) {
			t.Helper()
			if got := openNow(); !slices.Equal(got, want) {
				t.Fatalf("%s: open tenants %v; want %v", when, got, want)
			}
		}
		expect("after provisioning")
		use(t, ten, a)
		use(t, ten, bb)
		use(t, ten, c)
		expect("after A, B, C", "A", "B", "C")
		use(t, ten, a)
		expect("after touching A", "B", "C", "A")

		h, err := ten.Manager.Acquire(context.Background(), d.ID)
		if err != nil {
			t.Fatal(err)
		}
		expect("holding D", "C", "A", "D")
		h.Release()
		expect("after D", "C", "A", "D")
		if st := ten.Manager.Stats(); st.Pools != 3 || st.Conns != 3 {
			t.Errorf("stats %+v; want 3 pools, 3 connections", st)
		}
	})
}

func TestHeldHandleSurvivesChurn(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		opts := b.Options()
		opts.Manager.MaxConns, opts.Manager.MaxPools, opts.Manager.MaxPerTenant = 3, 3, 1
		ten := b.Open(t, opts)
		ts := provisionMany(t, ten, "Churn", 13, 3)
		a, others := ts[0], ts[1:]
		ctx := context.Background()

		h, err := ten.Manager.Acquire(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Release()
		// A temporary table lives exactly as long as its connection: finding it
		// later proves the handle's connection was never closed or replaced.
		if _, err := h.ExecContext(ctx, `CREATE TEMP TABLE held_marker (n INTEGER)`); err != nil {
			t.Fatal(err)
		}
		if _, err := h.ExecContext(ctx, `INSERT INTO held_marker (n) VALUES (42)`); err != nil {
			t.Fatal(err)
		}
		marker := func() error {
			var n int
			if err := h.QueryRowContext(ctx, `SELECT n FROM held_marker`).Scan(&n); err != nil {
				return err
			}
			if n != 42 {
				return fmt.Errorf("marker %d", n)
			}
			return nil
		}
		opensBefore := ten.Manager.Stats().Opens

		// Three churners share the two connections A does not hold, cycling
		// through twelve tenants, so every acquisition evicts.
		done := make(chan struct{})
		errs := make(chan error, 3)
		var wg sync.WaitGroup
		for w := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for round := range 3 {
					for i := range others {
						tn := others[(i+w*4+round)%len(others)]
						cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
						ho, err := ten.Manager.Acquire(cctx, tn.ID)
						cancel()
						if err != nil {
							errs <- fmt.Errorf("churn %s: %w", tn.ID, err)
							return
						}
						ho.Release()
					}
				}
			}()
		}
		go func() { wg.Wait(); close(done) }()
		queries := 0
		for running := true; running; queries++ {
			select {
			case <-done:
				running = false
			case <-time.After(2 * time.Millisecond): // use the handle now and then, as a request would
			}
			if err := marker(); err != nil {
				t.Fatalf("held handle broke during churn (after %d queries): %v", queries, err)
			}
		}
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if opens := ten.Manager.Stats().Opens - opensBefore; opens < int64(len(others)) {
			t.Errorf("churn opened %d pools; want at least %d (evictions)", opens, len(others))
		}
		if err := marker(); err != nil {
			t.Fatalf("held handle after churn: %v", err)
		}
		if !slices.Contains(ten.Manager.OpenTenants(), a.ID) {
			t.Errorf("A's pool was closed while its handle was held")
		}
		if st := ten.Manager.Stats(); st.InUse != 1 || st.Conns > opts.Manager.MaxConns {
			t.Errorf("stats %+v; want one handle in use", st)
		}
	})
}

// budgetError checks err is the typed budget error.
func budgetError(t testing.TB, what string, err error) {
	t.Helper()
	if steeple.ErrorCode(err) != steeple.EUNAVAILABLE || !errors.Is(err, tenancy.ErrBudgetExhausted) {
		t.Fatalf("%s: got %v; want %s wrapping ErrBudgetExhausted", what, err, steeple.EUNAVAILABLE)
	}
}

func TestAcquireWaitsOnlyUntilDeadline(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		metrics := prometheus.NewRegistry()
		opts := b.Options()
		opts.Manager.MaxConns, opts.Manager.MaxPools, opts.Manager.MaxPerTenant = 1, 1, 1
		opts.Manager.AcquireTimeout = 150 * time.Millisecond
		opts.Metrics = metrics
		ten := b.Open(t, opts)
		ts := provisionMany(t, ten, "Deadline", 2, 1)
		x, y := ts[0], ts[1]
		// The setup's own acquisition is not what is timed: on a loaded
		// machine opening the pool may take longer than AcquireTimeout
		// (CI once failed here on PostgreSQL).
		setup, cancelSetup := context.WithTimeout(context.Background(), 10*time.Second)
		hx, err := ten.Manager.Acquire(setup, x.ID)
		cancelSetup()
		if err != nil {
			t.Fatal(err)
		}
		defer hx.Release()

		// The caller's deadline, for another tenant and for the same one.
		for _, tn := range []*steeple.Tenant{y, x} {
			start := time.Now() // before the deadline is set: it counts from there
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			_, err := ten.Manager.Acquire(ctx, tn.ID)
			took := time.Since(start)
			cancel()
			budgetError(t, "100 ms deadline", err)
			if took < 100*time.Millisecond || took > time.Second {
				t.Errorf("gave up after %v; want about 100 ms", took)
			}
		}
		// No deadline: AcquireTimeout bounds the wait.
		start := time.Now()
		_, err = ten.Manager.Acquire(context.Background(), y.ID)
		took := time.Since(start)
		budgetError(t, "no deadline", err)
		if took < opts.Manager.AcquireTimeout || took > time.Second+opts.Manager.AcquireTimeout {
			t.Errorf("gave up after %v; want about AcquireTimeout (%v)", took, opts.Manager.AcquireTimeout)
		}

		// A waiter gets the connection as soon as it is released.
		waits := counter(t, metrics, "steeple_tenant_acquire_waits_total")
		type result struct {
			at  time.Time
			err error
		}
		got := make(chan result, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			h, err := ten.Manager.Acquire(ctx, y.ID)
			r := result{time.Now(), err}
			if err == nil {
				h.Release()
			}
			got <- r
		}()
		testkit.WaitUntil(t, 10*time.Second, func() bool {
			return counter(t, metrics, "steeple_tenant_acquire_waits_total") > waits
		}, "waiting for the waiter to wait: it never waited")
		releasedAt := time.Now()
		hx.Release()
		r := <-got
		if r.err != nil {
			t.Fatalf("waiter: %v", r.err)
		}
		if after := r.at.Sub(releasedAt); after < 0 || after > 2*time.Second {
			t.Errorf("the waiter got the connection %v after it was released; want promptly, and not before", after)
		}
		use(t, ten, y)
	})
}
