package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// runBudget measures what one connection budget serves:
//
//   - single_tenant_throughput: every worker on one tenant (ops/s), the
//     figure throughput is judged against;
//   - throughput: workers on tenants chosen at random (--dist) among all;
//   - single_tenant_acquire_errors, acquire_errors: failed Acquires (mostly
//     the budget running out before the deadline);
//   - fresh_conn_throughput (PostgreSQL): the same op on a brand-new
//     connection every time, budget-many at once, without the manager: the
//     limit of a workload whose every op misses the open pools;
//   - max_server_connections (PostgreSQL: this run's rows in
//     pg_stat_activity) or max_open_tenant_files (SQLite: tenant .db files
//     among the process's open files), sampled over the whole run,
//     provisioning included;
//   - provision_seconds: provisioning the tenants, several at a time.
//
// On PostgreSQL the throughput lines also carry server_sessions, the
// sessions the server saw on the tenant databases during the phase
// (pg_stat_database), which counts every connection made, not only the
// pools opened.
//
// One op is a request's worth of tenant work: Acquire with a deadline, read
// a settings row, upsert one, Release.
func runBudget(ctx context.Context, r *runner, args []string) (err error) {
	fl := r.newFlags()
	backendName := fl.String("backend", "sqlite", "sqlite or postgres")
	nTenants := fl.Int("tenants", 1000, "tenants to provision")
	budget := fl.Int("budget", 20, "connection budget: ManagerConfig.MaxConns")
	perTenant := fl.Int("per-tenant", 4, "ManagerConfig.MaxPerTenant")
	maxPools := fl.Int("max-pools", 0, "ManagerConfig.MaxPools (default: --budget)")
	registryConns := fl.Int("registry-conns", 5, "registry pool size")
	workers := fl.Int("workers", 64, "concurrent workers")
	duration := fl.Duration("duration", 10*time.Second, "length of each of the two phases")
	acquireTimeout := fl.Duration("acquire-timeout", 2*time.Second, "deadline of each Acquire")
	dist := fl.String("dist", "uniform", "tenant choice in the spread phase: uniform or zipf")
	visit := fl.Int("visit", 1, "requests a worker runs on one acquired handle before choosing another tenant (1: every request a fresh random choice, the worst case; a send job holds its church for a chunk of 100 recipients)")
	zipfS := fl.Float64("zipf-s", 1.1, "zipf exponent s (> 1): the larger, the hotter the hottest tenants")
	op := fl.String("op", "readwrite", "work per op: readwrite (read a setting, upsert one) or read")
	provParallel := fl.Int("provision-parallel", 8, "tenants provisioned at once")
	limitDuration := fl.Duration("limit-duration", 3*time.Second, "postgres: length of the fresh-connection limit phase (0: skip it)")
	sampleEvery := fl.Duration("sample-interval", 5*time.Millisecond, "how often connections (or open files) are counted")
	seed := fl.Uint64("seed", 0, "random seed (0: random)")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	b, err := backendFlag(*backendName)
	if err != nil {
		return err
	}
	if *maxPools == 0 {
		*maxPools = *budget
	}
	switch {
	case *nTenants < 1:
		return usageError{"--tenants must be at least 1"}
	case *budget < 1 || *perTenant < 1 || *maxPools < 1 || *registryConns < 2:
		return usageError{"--budget, --per-tenant and --max-pools must be at least 1, --registry-conns at least 2"}
	case *perTenant > *budget:
		return usageError{fmt.Sprintf("--per-tenant (%d) exceeds --budget (%d)", *perTenant, *budget)}
	case *workers < 1 || *provParallel < 1:
		return usageError{"--workers and --provision-parallel must be at least 1"}
	case *duration <= 0 || *acquireTimeout <= 0 || *sampleEvery <= 0:
		return usageError{"--duration, --acquire-timeout and --sample-interval must be positive"}
	case *visit < 1:
		return usageError{"--visit must be at least 1"}
	case *dist != "uniform" && *dist != "zipf":
		return usageError{fmt.Sprintf("--dist must be uniform or zipf, not %q", *dist)}
	case *dist == "zipf" && *zipfS <= 1:
		return usageError{"--zipf-s must be greater than 1"}
	case *op != "readwrite" && *op != "read":
		return usageError{fmt.Sprintf("--op must be readwrite or read, not %q", *op)}
	}
	if *seed == 0 {
		*seed = rand.Uint64()
	}
	pg := b == steeple.BackendPostgres
	r.logf("seed %d", *seed)
	r.out.backend = string(b)
	r.out.common = []kv{{"tenants", *nTenants}, {"budget", *budget}, {"per_tenant", *perTenant},
		{"max_pools", *maxPools}, {"registry_conns", *registryConns}, {"workers", *workers},
		{"dist", distLabel(*dist, *zipfS)}, {"visit", *visit}, {"op", *op}, {"machine", machine()}}

	e, err := newEnv(ctx, r, b)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := e.cleanup(); cerr != nil {
			r.logf("cleanup: %v", cerr)
			if err == nil {
				err = fmt.Errorf("cleanup: %w", cerr)
			}
		}
	}()

	// Count connections (or open tenant files) from before the first one.
	var count func(context.Context) (int, error)
	var closeCount func()
	if pg {
		count, closeCount, err = e.serverConnCounter(ctx)
		if err != nil {
			return err
		}
	} else {
		count, closeCount = openTenantFiles(filepath.Join(e.dataDir, "tenants")), func() {}
	}
	defer closeCount()
	smp := startSampler(ctx, *sampleEvery, count)
	defer smp.stop()

	mc := tenancy.ManagerConfig{
		MaxConns: *budget, MaxPerTenant: *perTenant, MaxPools: *maxPools,
		IdleTimeout: time.Minute, AcquireTimeout: *acquireTimeout,
	}
	ten, closeTen, err := e.open(ctx, e.options(*registryConns, mc, store.Schema()))
	if err != nil {
		return err
	}

	r.logf("provisioning %d tenants, %d at a time", *nTenants, *provParallel)
	t0 := time.Now()
	tenants, _, err := provisionMany(ctx, r, ten, "Budget Church", 0, *nTenants, *provParallel)
	if err != nil {
		return err
	}
	provTook := time.Since(t0)
	provMax := smp.window()
	r.logf("provisioned %d tenants in %.1fs; max %s %d", *nTenants, provTook.Seconds(), smp.what(pg), provMax)
	ids := make([]string, len(tenants))
	dbNames := make([]string, len(tenants))
	for i, t := range tenants {
		ids[i], dbNames[i] = t.ID, t.DatabaseName
	}
	// On PostgreSQL, count the sessions the server saw on the tenant
	// databases: pool opens alone miss connections closed and reopened
	// within a pool.
	sessions := func() int64 { return -1 }
	if pg {
		sessions = func() int64 { return e.serverSessions(ctx, dbNames) }
	}

	w := &workload{ten: ten, workers: *workers, duration: *duration, acquireTimeout: *acquireTimeout, readOnly: *op == "read", perVisit: *visit}

	r.logf("phase 1: %d workers on one tenant for %s", *workers, *duration)
	s0 := sessions()
	single, err := w.run(ctx, *seed, func(*rand.Rand) func() string {
		return func() string { return ids[0] }
	})
	if err != nil {
		return err
	}
	s1 := sessions()
	singleMax := smp.window()
	r.logf("phase 1: %.0f ops/s, %d acquire errors, %d pool opens; max %s %d", single.throughput(), single.acquireErrs, single.opens, smp.what(pg), singleMax)

	r.logf("phase 2: %d workers on %d tenants (%s) for %s", *workers, len(ids), distLabel(*dist, *zipfS), *duration)
	// Zipf ranks map to a fixed random order of the tenants, so the hottest
	// ones are not simply the first provisioned.
	order := rand.New(rand.NewPCG(*seed, 0)).Perm(len(ids))
	spread, err := w.run(ctx, *seed+1, func(rng *rand.Rand) func() string {
		choose := func() string { return ids[rng.IntN(len(ids))] }
		if *dist == "zipf" {
			z := rand.NewZipf(rng, *zipfS, 1, uint64(len(ids)-1))
			choose = func() string { return ids[order[z.Uint64()]] }
		}
		return choose
	})
	if err != nil {
		return err
	}
	spreadMax := smp.window()
	// Closing the manager ends its sessions, which makes the server count them.
	closeTen()
	if pg {
		e.waitConnsGone(ctx, 2*time.Second)
	}
	s2 := sessions()
	r.logf("phase 2: %.0f ops/s, %d acquire errors, %d pool opens (%.0f/s); max %s %d", spread.throughput(), spread.acquireErrs,
		spread.opens, float64(spread.opens)/spread.elapsed.Seconds(), smp.what(pg), spreadMax)
	if s0 >= 0 && s1 >= s0 && s2 >= s1 {
		single.sessions, spread.sessions = s1-s0, s2-s1
		r.logf("server sessions on tenant databases: phase 1 %d, phase 2 %d (%.2f a op)", single.sessions, spread.sessions, float64(spread.sessions)/float64(spread.ops))
	}

	// The limit of a workload that misses the pool cache on every op: the
	// same op on a brand-new connection each time, budget-many at once,
	// without the manager.
	var fresh *phaseResult
	var freshMax int
	if pg && *limitDuration > 0 {
		r.logf("limit: %d workers, the same op on a new connection each time, for %s", *budget, *limitDuration)
		fresh, err = e.freshConnOps(ctx, dbNames, *budget, *limitDuration, *op == "read", *seed+2)
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			// A reference figure only: losing it must not lose the run's own.
			r.logf("limit: skipped, the server refused fresh connections: %v", err)
			fresh = nil
		} else {
			freshMax = smp.window()
			r.logf("limit: %.0f ops/s on fresh connections", fresh.throughput())
		}
	}
	smp.stop()

	r.out.metric("provision_seconds", provTook.Seconds(), "s", kv{"parallel", *provParallel})
	r.out.metric("single_tenant_throughput", single.throughput(), "ops/s", single.extra()...)
	r.out.metric("single_tenant_acquire_errors", float64(single.acquireErrs), "errors", kv{"budget_exhausted", single.budgetErrs}, kv{"connect_timeouts", single.connTimeouts})
	extra := append(spread.extra(), kv{"vs_single_tenant", roundTo(spread.throughput()/single.throughput(), 3)}, kv{"target_min_ratio", 0.5})
	if fresh != nil {
		extra = append(extra, kv{"vs_fresh_conn", roundTo(spread.throughput()/fresh.throughput(), 3)})
	}
	r.out.metric("throughput", spread.throughput(), "ops/s", extra...)
	r.out.metric("acquire_errors", float64(spread.acquireErrs), "errors", kv{"budget_exhausted", spread.budgetErrs}, kv{"connect_timeouts", spread.connTimeouts})
	if fresh != nil {
		r.out.metric("fresh_conn_throughput", fresh.throughput(), "ops/s", append([]kv{{"workers", *budget}, {"dist", "uniform"}}, fresh.extra()...)...)
	}
	phases := []kv{{"provisioning", provMax}, {"single_tenant", singleMax}, {"spread", spreadMax}}
	if pg {
		if fresh != nil {
			phases = append(phases, kv{"fresh_conn", freshMax})
		}
		r.out.metric("max_server_connections", float64(smp.max()), "conns",
			append([]kv{{"limit", *budget + *registryConns}, {"samples", smp.samples()}}, phases...)...)
	} else {
		r.out.metric("max_open_tenant_files", float64(smp.max()), "files",
			append([]kv{{"limit", *maxPools}, {"samples", smp.samples()}}, phases...)...)
	}
	if serr := smp.err(); serr != nil {
		return fmt.Errorf("sampling: %w", serr)
	}
	return nil
}

func distLabel(dist string, s float64) string {
	if dist == "zipf" {
		return fmt.Sprintf("zipf(s=%g)", s)
	}
	return dist
}

func roundTo(v float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}

// ---- workload --------------------------------------------------------------

type workload struct {
	perVisit       int // requests per acquired handle
	ten            *tenancy.Tenancy
	workers        int
	duration       time.Duration
	acquireTimeout time.Duration
	readOnly       bool
}

type phaseResult struct {
	ops          int64
	acquireErrs  int64
	budgetErrs   int64
	connTimeouts int64 // Acquires whose deadline ran out while connecting
	opErrs       int64
	timeouts     int64 // requests that ran out of the deadline after Acquire
	opens        int64
	elapsed      time.Duration
	acquireMs    []float64
	opMs         []float64
	firstErr     error
	cpu          []kv
	sessions     int64 // server sessions on tenant databases; -1 when unknown
}

// add merges one worker's latencies and first error into the phase.
func (p *phaseResult) add(mu *sync.Mutex, acqMs, opMs []float64, firstErr error) {
	mu.Lock()
	defer mu.Unlock()
	p.acquireMs = append(p.acquireMs, acqMs...)
	p.opMs = append(p.opMs, opMs...)
	if p.firstErr == nil {
		p.firstErr = firstErr
	}
}

func (p *phaseResult) throughput() float64 { return float64(p.ops) / p.elapsed.Seconds() }

func (p *phaseResult) extra() []kv {
	out := append([]kv{
		{"ops", p.ops},
		{"seconds", roundTo(p.elapsed.Seconds(), 2)},
		{"op_p50_ms", roundTo(percentile(p.opMs, 50), 3)},
		{"op_p99_ms", roundTo(percentile(p.opMs, 99), 3)},
		{"acquire_p50_ms", roundTo(percentile(p.acquireMs, 50), 3)},
		{"acquire_p99_ms", roundTo(percentile(p.acquireMs, 99), 3)},
		{"pool_opens", p.opens},
		{"request_timeouts", p.timeouts},
	}, p.cpu...)
	if p.sessions >= 0 {
		out = append(out, kv{"server_sessions", p.sessions})
	}
	return out
}

// run drives the workers for the duration. pick builds each worker's
// tenant chooser from its own random source.
func (w *workload) run(ctx context.Context, seed uint64, pick func(*rand.Rand) func() string) (*phaseResult, error) {
	res := &phaseResult{sessions: -1}
	phase, cancel := context.WithTimeout(ctx, w.duration)
	defer cancel()
	opens := w.ten.Manager.Stats().Opens
	cpu0 := readCPU()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var ops, acqErrs, budgetErrs, connTimeouts, opErrs, timeouts atomic.Int64
	start := time.Now()
	for i := range w.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := pick(rand.New(rand.NewPCG(seed, uint64(i)+1)))
			key := fmt.Sprintf("bench.worker.%d", i)
			var acqMs, opMs []float64
			var firstErr error
			for phase.Err() == nil {
				id := next()
				t0 := time.Now()
				actx, acancel := context.WithTimeout(phase, w.acquireTimeout)
				h, err := w.ten.Manager.Acquire(actx, id)
				if err != nil {
					acancel()
					if phase.Err() != nil {
						break // the phase ended while waiting: not the budget's fault
					}
					acqErrs.Add(1)
					switch {
					case errors.Is(err, tenancy.ErrBudgetExhausted):
						budgetErrs.Add(1)
					case errors.Is(err, context.DeadlineExceeded):
						connTimeouts.Add(1) // the deadline ran out while connecting
					case firstErr == nil:
						firstErr = fmt.Errorf("acquire %s: %w", id, err)
					}
					continue
				}
				t1 := time.Now()
				acqMs = append(acqMs, ms(t1.Sub(t0)))
				// A visit holds its handle for all its requests, as a request
				// or a send job does in Steeple.
				for j := 0; j < w.perVisit; j++ {
					rs := time.Now()
					rctx := actx // the first request shares the acquire's deadline
					rcancel := func() {}
					if j > 0 {
						rctx, rcancel = context.WithTimeout(phase, w.acquireTimeout)
					}
					err = w.request(rctx, h, key)
					rcancel()
					if err != nil {
						break
					}
					ops.Add(1)
					d := time.Since(rs)
					if j == 0 {
						d += t1.Sub(t0) // the first request of a visit waits for the handle
					}
					opMs = append(opMs, ms(d))
				}
				h.Release()
				acancel()
				if err != nil {
					if phase.Err() != nil {
						break
					}
					if errors.Is(err, context.DeadlineExceeded) {
						timeouts.Add(1) // Acquire left too little of the deadline
						continue
					}
					opErrs.Add(1)
					if firstErr == nil {
						firstErr = fmt.Errorf("request on %s: %w", id, err)
					}
					continue
				}
			}
			res.add(&mu, acqMs, opMs, firstErr)
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.ops, res.acquireErrs, res.budgetErrs, res.connTimeouts, res.opErrs, res.timeouts = ops.Load(), acqErrs.Load(), budgetErrs.Load(), connTimeouts.Load(), opErrs.Load(), timeouts.Load()
	res.opens = w.ten.Manager.Stats().Opens - opens
	res.cpu = cpuSince(cpu0, readCPU())
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if res.firstErr != nil {
		// Failures other than the budget are not a figure but a broken run.
		return nil, fmt.Errorf("%d acquire errors (%d budget), %d request errors; first: %w", res.acquireErrs, res.budgetErrs, res.opErrs, res.firstErr)
	}
	if res.ops == 0 {
		return nil, errors.New("no op completed")
	}
	return res, nil
}

// request is one request's tenant work: read a setting, upsert one.
func (w *workload) request(ctx context.Context, h *tenancy.Handle, key string) error {
	var v string
	err := h.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if w.readOnly {
		return nil
	}
	n, _ := strconv.Atoi(v)
	_, err = h.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, CURRENT_TIMESTAMP)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, strconv.Itoa(n+1))
	return err
}

// ---- sampling ---------------------------------------------------------------
