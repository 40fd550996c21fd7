package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// sampler calls count every interval on its own goroutine and keeps the
// maximum, overall and since the last window().
type sampler struct {
	mu       sync.Mutex
	overall  int
	win      int
	n        int
	firstErr error
	cancel   context.CancelFunc
	done     chan struct{}
	once     sync.Once
}

func startSampler(ctx context.Context, every time.Duration, count func(context.Context) (int, error)) *sampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &sampler{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			n, err := count(ctx)
			if ctx.Err() != nil {
				return
			}
			s.mu.Lock()
			if err != nil {
				if s.firstErr == nil {
					s.firstErr = err
				}
			} else {
				s.n++
				s.overall = max(s.overall, n)
				s.win = max(s.win, n)
			}
			s.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *sampler) stop() {
	s.once.Do(func() {
		s.cancel()
		<-s.done
	})
}

// window returns the maximum since the previous call and starts a new window.
func (s *sampler) window() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.win
	s.win = 0
	return w
}

func (s *sampler) max() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.overall
}

func (s *sampler) samples() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func (s *sampler) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstErr
}

func (s *sampler) what(pg bool) string {
	if pg {
		return "server connections"
	}
	return "open tenant files"
}

// serverConnCounter counts this run's connections in pg_stat_activity from
// a connection of its own (with another application_name, so not counted).
func (e *env) serverConnCounter(ctx context.Context) (func(context.Context) (int, error), func(), error) {
	return e.connCounter(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, e.appName)
}

// serveConnCounter counts the connections `steeple serve` processes (whose
// application_name is "steeple") hold to the named databases of this run.
func (e *env) serveConnCounter(ctx context.Context, dbs []string) (func(context.Context) (int, error), func(), error) {
	return e.connCounter(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'steeple' AND datname = ANY($1)`, dbs)
}

// connCounter runs a count query over pg_stat_activity on each call.
func (e *env) connCounter(ctx context.Context, query string, arg any) (func(context.Context) (int, error), func(), error) {
	cfg, err := e.connConfig(e.serverURL, "sampler")
	if err != nil {
		return nil, nil, err
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("sampler connection: %w", err)
	}
	count := func(ctx context.Context) (int, error) {
		var n int
		err := c.QueryRow(ctx, query, arg).Scan(&n)
		return n, err
	}
	return count, func() { c.Close(context.Background()) }, nil
}

// serverSessions sums pg_stat_database.sessions (PostgreSQL 14 and later)
// over the named databases; -1 when it cannot.
func (e *env) serverSessions(ctx context.Context, names []string) int64 {
	var n int64 = -1
	err := e.withConn(ctx, e.serverURL, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT COALESCE(sum(sessions), 0)::bigint FROM pg_stat_database WHERE datname = ANY($1)`, names).Scan(&n)
	})
	if err != nil {
		e.r.logf("counting server sessions: %v", err)
		return -1
	}
	return n
}

// waitConnsGone waits until the run's connections have left pg_stat_activity.
func (e *env) waitConnsGone(ctx context.Context, limit time.Duration) {
	deadline := time.Now().Add(limit)
	_ = e.withConn(ctx, e.serverURL, func(c *pgx.Conn) error {
		for time.Now().Before(deadline) {
			var n int
			if err := c.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, e.appName).Scan(&n); err != nil || n == 0 {
				return err
			}
			time.Sleep(10 * time.Millisecond)
		}
		return nil
	})
}

// freshConnOps runs the workload's op without the manager, on a new
// connection to a tenant database (chosen uniformly) every time.
func (e *env) freshConnOps(ctx context.Context, dbNames []string, workers int, d time.Duration, readOnly bool, seed uint64) (*phaseResult, error) {
	base, err := pgx.ParseConfig(e.serverURL)
	if err != nil {
		return nil, err
	}
	base.RuntimeParams["application_name"] = e.appName // counted as the run's
	res := &phaseResult{sessions: -1}
	phase, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var ops atomic.Int64
	cpu0 := readCPU()
	start := time.Now()
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(i)+1))
			key := fmt.Sprintf("bench.fresh.%d", i)
			var acqMs, opMs []float64
			var firstErr error
			for phase.Err() == nil {
				cfg := base.Copy()
				cfg.Database = dbNames[rng.IntN(len(dbNames))]
				t0 := time.Now()
				c, err := pgx.ConnectConfig(phase, cfg)
				if err != nil {
					if phase.Err() == nil && firstErr == nil {
						firstErr = err
					}
					continue
				}
				t1 := time.Now()
				var v string
				err = c.QueryRow(phase, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
				if errors.Is(err, pgx.ErrNoRows) {
					err = nil
				}
				if err == nil && !readOnly {
					n, _ := strconv.Atoi(v)
					_, err = c.Exec(phase, `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, CURRENT_TIMESTAMP)
						ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, strconv.Itoa(n+1))
				}
				c.Close(context.WithoutCancel(phase))
				if err != nil {
					if phase.Err() == nil && firstErr == nil {
						firstErr = err
					}
					continue
				}
				ops.Add(1)
				acqMs = append(acqMs, ms(t1.Sub(t0)))
				opMs = append(opMs, ms(time.Since(t0)))
			}
			res.add(&mu, acqMs, opMs, firstErr)
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.ops = ops.Load()
	res.opens = res.ops
	res.cpu = cpuSince(cpu0, readCPU())
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if res.firstErr != nil {
		return nil, fmt.Errorf("fresh-connection limit: %w", res.firstErr)
	}
	if res.ops == 0 {
		return nil, errors.New("fresh-connection limit: no op completed")
	}
	return res, nil
}

// openTenantFiles counts the distinct tenant databases (…/tenants/ID.db,
// with its -wal and -shm files) among this process's open files. Reading
// /proc/self/fd is not atomic: a pool closed and another opened during one
// scan would count both. So it scans twice and counts the files seen in
// both scans, which were open together at the moment between them (barring
// a close and reopen within the scan).
func openTenantFiles(dir string) func(context.Context) (int, error) {
	prefix := dir + string(filepath.Separator)
	scan := func() (map[string]bool, error) {
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			return nil, fmt.Errorf("counting open files needs /proc/self/fd: %w", err)
		}
		seen := map[string]bool{}
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
			if err != nil || !strings.HasPrefix(target, prefix) {
				continue // closed meanwhile, or not a tenant file
			}
			base := strings.TrimSuffix(strings.TrimSuffix(target, "-wal"), "-shm")
			if strings.HasSuffix(base, ".db") {
				seen[base] = true
			}
		}
		return seen, nil
	}
	return func(context.Context) (int, error) {
		first, err := scan()
		if err != nil {
			return 0, err
		}
		second, err := scan()
		if err != nil {
			return 0, err
		}
		n := 0
		for f := range first {
			if second[f] {
				n++
			}
		}
		return n, nil
	}
}
