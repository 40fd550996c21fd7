package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/config"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// The fleet scenario lives in its own file and registers itself, so that it
// joins the other operator scenarios without touching their files.
func init() {
	scenarios["fleet"] = scenario{"moving a SQLite deployment to PostgreSQL (fleet move-to-postgres)", runFleetMove}
}

// runFleetMove provisions small SQLite churches (an owner each, the empty
// rest of a new church's tables) and moves them all to PostgreSQL as
// `steeple fleet move-to-postgres` does, reporting churches moved per second.
func runFleetMove(ctx context.Context, r *runner, args []string) (err error) {
	fl := r.newFlags()
	n := fl.Int("churches", 200, "SQLite churches to move (the documented figure uses 1000)")
	parallel := fl.Int("parallel", 4, "churches moved at once (--parallel of the command)")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	if *n < 1 || *parallel < 1 {
		return usageError{"--churches and --parallel must be at least 1"}
	}
	r.out.backend = string(steeple.BackendPostgres)
	r.out.common = []kv{{"machine", machine()}}
	src, err := newEnv(ctx, r, steeple.BackendSQLite)
	if err != nil {
		return err
	}
	defer keepFirstErr(r, &err, src.cleanup)
	dst, err := newEnv(ctx, r, steeple.BackendPostgres)
	if err != nil {
		return err
	}
	defer keepFirstErr(r, &err, dst.cleanup)

	def := config.Default()
	schema := store.Schema()
	sqliteMC := tenancy.ManagerConfig{MaxConns: def.MaxOpenTenants, MaxPerTenant: def.DBMaxConnsPerTenant, MaxPools: def.MaxOpenTenants,
		IdleTimeout: def.PoolIdleTimeout, AcquireTimeout: def.AcquireTimeout}
	ten, closeSrc, err := src.open(ctx, src.options(def.RegistryMaxConns, sqliteMC, schema))
	if err != nil {
		return err
	}
	r.logf("provisioning %d SQLite churches", *n)
	if _, _, err := provisionMany(ctx, r, ten, "Moving Church", 0, *n, 8); err != nil {
		return err
	}
	closeSrc() // the SQLite side is stopped before a move

	pgMC := tenancy.ManagerConfig{MaxConns: def.DBMaxConns, MaxPerTenant: def.DBMaxConnsPerTenant, MaxPools: def.DBMaxConns,
		IdleTimeout: def.PoolIdleTimeout, AcquireTimeout: def.AcquireTimeout}
	target, _, err := dst.open(ctx, dst.options(def.RegistryMaxConns, pgMC, schema))
	if err != nil {
		return err
	}
	r.logf("moving %d churches, %d at a time", *n, *parallel)
	st := newStepTimes()
	rep, err := target.MoveFromSQLite(ctx, tenancy.MoveOptions{SourceDir: src.dataDir, Parallel: *parallel, AfterStep: st.after,
		Progress: func(done, total int, c tenancy.MovedChurch) {
			st.took(c.Took)
			if c.Outcome == tenancy.MoveFailed {
				r.logf("FAILED %s: %s", c.TenantID, c.Error)
			} else if done%max(1, total/10) == 0 {
				r.logf("moved %d/%d", done, total)
			}
		}})
	if err != nil {
		return err
	}
	if !rep.OK() || rep.Moved != *n {
		return fmt.Errorf("moved %d of %d churches, %d failed", rep.Moved, *n, rep.Failed)
	}
	st.log(r)
	r.out.metric("fleet_move_churches_per_s", rep.ChurchesPerSecond, "churches/s", kv{"churches", *n}, kv{"parallel", *parallel}, kv{"target_min", 20.0})
	r.out.metric("fleet_move_seconds", rep.Took.Seconds(), "s", kv{"churches", *n})
	// The in-run ceiling: CREATE DATABASE … TEMPLATE is a server-side
	// copy no client work can shorten; --parallel of them at their
	// measured average bound the rate whatever the other steps cost.
	if create := st.average(tenancy.MoveStepCreate); create > 0 {
		ceiling := float64(*parallel) / create.Seconds()
		r.out.metric("fleet_move_create_ceiling_per_s", ceiling, "churches/s", kv{"create_ms_avg", roundTo(ms(create), 1)}, kv{"parallel", *parallel})
		r.out.metric("fleet_move_to_create_ceiling_ratio", rep.ChurchesPerSecond/ceiling, "ratio", kv{"parallel", *parallel})
	}
	return nil
}

// keepFirstErr runs a cleanup and reports its error unless one came first.
func keepFirstErr(r *runner, err *error, cleanup func() error) {
	if cerr := cleanup(); cerr != nil {
		r.logf("cleanup: %v", cerr)
		if *err == nil {
			*err = fmt.Errorf("cleanup: %w", cerr)
		}
	}
}

// stepTimes measures how long each step of a church's move takes on
// average, from the AfterStep hook (the step's end is the next's start).
type stepTimes struct {
	mu    sync.Mutex
	last  map[string]time.Time
	sum   map[tenancy.MoveStep]time.Duration
	count map[tenancy.MoveStep]int
	order []tenancy.MoveStep
	total time.Duration
	n     int
}

func (s *stepTimes) took(d time.Duration) {
	s.mu.Lock()
	s.total += d
	s.n++
	s.mu.Unlock()
}

func newStepTimes() *stepTimes {
	return &stepTimes{last: map[string]time.Time{}, sum: map[tenancy.MoveStep]time.Duration{}, count: map[tenancy.MoveStep]int{}}
}

func (s *stepTimes) after(step tenancy.MoveStep, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if prev, ok := s.last[id]; ok && id != "" {
		if s.count[step] == 0 {
			s.order = append(s.order, step)
		}
		s.sum[step] += now.Sub(prev)
		s.count[step]++
	}
	s.last[id] = now
	return nil
}

// average is a step's mean duration (0 when no church went through it).
func (s *stepTimes) average(step tenancy.MoveStep) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.count[step] == 0 {
		return 0
	}
	return s.sum[step] / time.Duration(s.count[step])
}

func (s *stepTimes) log(r *runner) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n > 0 {
		r.logf("a church's whole move %6.1f ms on average", ms(s.total)/float64(s.n))
	}
	for _, st := range s.order {
		r.logf("step %-8s %6.1f ms on average (%d churches)", st, ms(s.sum[st])/float64(s.count[st]), s.count[st])
	}
}
