package tenancy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/tenancy"
)

// TestBudgetHoldsUnderLoad hammers 200 tenants from 64 goroutines with a
// budget of 10 connections and 10 open databases, and watches from outside
// Steeple (pg_stat_activity, or the process's open files on SQLite) that the
// budget is never exceeded. Not parallel: it counts the process's goroutines.
func TestBudgetHoldsUnderLoad(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		baseline := runtime.NumGoroutine()
		metrics := prometheus.NewRegistry()
		opts := b.Options()
		opts.Manager.MaxConns, opts.Manager.MaxPools, opts.Manager.MaxPerTenant = 10, 10, 2
		opts.Metrics = metrics
		ten := b.Open(t, opts)

		// On PostgreSQL the budget is server connections, registry included;
		// on SQLite it is open tenant files.
		limit := opts.Manager.MaxPools
		if b.Postgres() {
			limit = opts.Manager.MaxConns + opts.RegistryMaxConns
		}
		sampler := startSampler(t, b, ten, opts.Manager)
		began := time.Now()
		tenants := provisionMany(t, ten, "Budget", 200, 4)
		t.Logf("%s: provisioned 200 tenants in %v", b.Name, time.Since(began).Round(time.Millisecond))
		opensBefore := ten.Manager.Stats().Opens
		waitsBefore := counter(t, metrics, "steeple_tenant_acquire_waits_total")
		evictionsBefore := counter(t, metrics, "steeple_tenant_pool_evictions_total")
		res := hammer(ten, tenants, 64, 3*time.Second)
		s := sampler.stop()
		waits := counter(t, metrics, "steeple_tenant_acquire_waits_total") - waitsBefore
		evictions := counter(t, metrics, "steeple_tenant_pool_evictions_total") - evictionsBefore
		t.Logf("%s: %d ok, %d budget errors, %.0f waits, %.0f evictions; %d samples, peak %d (raw %d), limit %d",
			b.Name, res.ok.Load(), res.budget.Load(), waits, evictions, s.samples, s.peak, s.rawPeak, limit)
		for kind, n := range res.kinds {
			t.Errorf("%d× %s", n, kind)
		}
		for _, e := range res.unexpected {
			t.Error(e)
		}
		if s.err != nil {
			t.Fatalf("sampling: %v", s.err)
		}
		if s.samples < 100 || s.peak < 1 {
			t.Fatalf("sampler took %d samples with peak %d: it is not seeing this test's databases", s.samples, s.peak)
		}
		if s.peak > limit {
			t.Errorf("peak of %d open (seen from outside) exceeds the budget of %d", s.peak, limit)
		}
		if s.statsErr != "" {
			t.Errorf("manager accounting over budget: %s", s.statsErr)
		}
		if res.ok.Load() == 0 {
			t.Fatal("no acquisition succeeded")
		}
		// 200 tenants through 10 open databases: pools must have been evicted
		// and callers must have waited for room.
		if evictions == 0 {
			t.Error("no pool was evicted")
		}
		if opens := ten.Manager.Stats().Opens - opensBefore; opens <= int64(opts.Manager.MaxPools) {
			t.Errorf("%d pools opened under load; want more than MaxPools", opens)
		}
		if waits == 0 {
			t.Error("no acquisition waited: the test did not exercise the budget")
		}
		st := ten.Manager.Stats()
		if st.InUse != 0 || st.Conns > opts.Manager.MaxConns || st.Pools > opts.Manager.MaxPools {
			t.Errorf("after the load: %+v", st)
		}

		ten.Close()
		waitGoroutines(t, baseline)
		if b.Postgres() {
			testkit.Eventually(t, 10*time.Second, func() string {
				if n := serverConns(t, b); n != 0 {
					return fmt.Sprintf("server connections closed: %d connections named %s remain", n, b.AppName)
				}
				return ""
			})
		}
	})
}

type hammerResult struct {
	ok, budget atomic.Int64
	mu         sync.Mutex
	kinds      map[string]int // unexpected outcomes by kind
	unexpected []string       // the first few, in full
}

func (r *hammerResult) fail(kind, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kinds == nil {
		r.kinds = map[string]int{}
	}
	r.kinds[kind]++
	if len(r.unexpected) < 5 {
		r.unexpected = append(r.unexpected, fmt.Sprintf(format, args...))
	}
}

// hammer runs workers goroutines for d, each repeating: Acquire with a
// deadline of 200–500 ms, one query that checks it reached the right church,
// Release. A quarter of the calls go to four hot tenants, so that pools grow
// to MaxPerTenant and callers queue for the same tenant.
func hammer(ten *tenancy.Tenancy, tenants []*steeple.Tenant, workers int, d time.Duration) *hammerResult {
	res := &hammerResult{}
	end := time.Now().Add(d)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			<-start
			for time.Now().Before(end) {
				tn := tenants[rng.IntN(len(tenants))]
				if rng.IntN(4) == 0 {
					tn = tenants[rng.IntN(4)]
				}
				timeout := 200*time.Millisecond + time.Duration(rng.IntN(300))*time.Millisecond
				useTenant(ten, tn, timeout, res)
			}
		}()
	}
	close(start)
	wg.Wait()
	return res
}

// holdQuery reads the church's own id back and does a little work while
// holding the connection, as a request would.
const holdQuery = `SELECT value, (WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 300)
	SELECT COUNT(*) FROM c) FROM settings WHERE key = 'owner'`

func useTenant(ten *tenancy.Tenancy, tn *steeple.Tenant, timeout time.Duration, res *hammerResult) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	start := time.Now()
	h, err := ten.Manager.Acquire(ctx, tn.ID)
	returned := time.Now()
	if err != nil {
		switch {
		case steeple.ErrorCode(err) != steeple.EUNAVAILABLE || !errors.Is(err, tenancy.ErrBudgetExhausted):
			res.fail("acquire: "+steeple.ErrorCode(err)+": "+steeple.ErrorMessage(err),
				"acquire %s: got %v (code %q) after %v of %v; want the budget error", tn.ID, err, steeple.ErrorCode(err), returned.Sub(start), timeout)
		case returned.Before(deadline.Add(-time.Millisecond)):
			res.fail("early budget error", "acquire %s: budget error %v before the deadline", tn.ID, deadline.Sub(returned))
		default:
			res.budget.Add(1)
		}
		return
	}
	defer h.Release()
	// The query gets its own context: cancelling a query mid-flight is not
	// what this test is about.
	qctx, qcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer qcancel()
	var owner string
	var n int64
	if err := h.QueryRowContext(qctx, holdQuery).Scan(&owner, &n); err != nil {
		res.fail("query", "query %s: %v", tn.ID, err)
		return
	}
	if owner != tn.ID || h.TenantID() != tn.ID || n != 300 {
		res.fail("wrong database", "handle for %s reached the database of %q (n=%d)", tn.ID, owner, n)
		return
	}
	res.ok.Add(1)
}

// counter sums the values of a counter family in reg.
func counter(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			var sum float64
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
			return sum
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// waitGoroutines polls until the process is back to at most baseline
// goroutines (plus a little slack for the runtime and the test framework).
func waitGoroutines(t *testing.T, baseline int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= baseline {
			return
		}
		if time.Now().After(deadline) {
			var buf bytes.Buffer
			_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
			t.Fatalf("goroutine leak: %d running, %d at the start\n%s", n, baseline, buf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
