package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/config"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/schedule"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// runScheduler measures the scheduler tick (schedule.Service.Tick: read
// the registry's due-time index, claim what is due and queue one fire job
// each, in one registry transaction):
//
//   - tick_ms_100_tenants: the median tick while the registry holds only
//     the --due churches, each with one occurrence due.
//   - tick_ms: the median tick once --churches churches exist, every one
//     with a schedule armed, of which the same --due are due; its ratio to
//     the first is the cost of churches with nothing due.
//
// The churches are registry rows without a database (a tick must open
// none: the run fails if the manager opened any). Each tick is timed alone;
// between ticks the fired occurrences are made due again and their queued
// jobs removed. The queue's workers do not run.
func runScheduler(ctx context.Context, r *runner, args []string) (err error) {
	fl := r.newFlags()
	backendName := fl.String("backend", "sqlite", "sqlite or postgres")
	nChurches := fl.Int("churches", 10000, "churches in the registry for tick_ms, each with a schedule armed")
	nDue := fl.Int("due", 100, "churches with an occurrence due at each tick")
	nTicks := fl.Int("ticks", 21, "ticks timed in each phase")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	b, err := backendFlag(*backendName)
	if err != nil {
		return err
	}
	if *nDue < 1 || *nChurches < *nDue || *nTicks < 1 {
		return usageError{"need 1 ≤ --due ≤ --churches and --ticks ≥ 1"}
	}
	r.out.backend = string(b)
	r.out.common = []kv{{"machine", machine()}}
	e, err := newEnv(ctx, r, b)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := e.cleanup(); cerr != nil && err == nil {
			err = fmt.Errorf("cleanup: %w", cerr)
		}
	}()
	def := config.Default()
	mc := tenancy.ManagerConfig{MaxConns: def.DBMaxConns, MaxPerTenant: def.DBMaxConnsPerTenant, MaxPools: def.DBMaxConns,
		IdleTimeout: def.PoolIdleTimeout, AcquireTimeout: def.AcquireTimeout}
	schema := store.Schema()
	ten, closeTen, err := e.open(ctx, e.options(def.RegistryMaxConns, mc, schema))
	if err != nil {
		return err
	}
	defer closeTen()
	latest, err := schema.Latest(b)
	if err != nil {
		return err
	}
	model, _, err := provisionMany(ctx, r, ten, "Scheduler model", 0, 1, 1)
	if err != nil {
		return err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	// Steeple as `steeple serve` builds it; the bench calls Tick itself.
	def.TelnyxAPIKey = ""
	a, err := app.New(ctx, app.Options{Config: def, Tenancy: ten, Keys: mustKeys(), Logger: quiet,
		Tune: func(t *app.Tuning) { t.Queue.Logger, t.Queue.NoPeriodicJobs = quiet, true }})
	if err != nil {
		return err
	}
	defer a.Close(context.Background())
	sched := a.Schedules

	// 1. Only the churches with something due.
	due, err := addChurches(ctx, ten, *nDue, b, model[0].ID, latest)
	if err != nil {
		return err
	}
	opens := ten.Manager.Stats().Opens
	small, err := timeTicks(ctx, r, ten, sched, due, *nTicks)
	if err != nil {
		return err
	}
	x := []kv{{"tenants", *nDue}, {"due", *nDue}, {"ticks", *nTicks}}
	r.out.metric(fmt.Sprintf("tick_ms_%d_tenants", *nDue), percentile(small, 50), "ms", x...)

	// 2. The rest of the fleet signs up, each church with a schedule armed
	// for next week.
	r.logf("adding %d churches with a schedule armed, none due", *nChurches-*nDue)
	rest, err := addChurches(ctx, ten, *nChurches-*nDue, b, model[0].ID, latest)
	if err != nil {
		return err
	}
	next := time.Now().Add(7 * 24 * time.Hour)
	for _, id := range rest {
		if err := ten.Registry.SetScheduleDue(ctx, tenancy.ScheduleDue{TenantID: id, ScheduleID: steeple.NewID(),
			Occurrence: "next-week", DueAt: next}); err != nil {
			return err
		}
	}
	large, err := timeTicks(ctx, r, ten, sched, due, *nTicks)
	if err != nil {
		return err
	}
	if opened := ten.Manager.Stats().Opens - opens; opened != 0 {
		return fmt.Errorf("the ticks opened %d church databases; a tick must open none", opened)
	}
	x = []kv{{"tenants", *nChurches}, {"due", *nDue}, {"ticks", *nTicks}, {"target_max", 50},
		{fmt.Sprintf("ratio_to_%d_tenants", *nDue), roundTo(percentile(large, 50)/percentile(small, 50), 3)},
		{"p90_ms", roundTo(percentile(large, 90), 3)}}
	r.out.metric("tick_ms", percentile(large, 50), "ms", x...)
	return nil
}

// addChurches adds n registry-only churches and returns their ids.
func addChurches(ctx context.Context, ten *tenancy.Tenancy, n int, b steeple.Backend, model string, latest int64) ([]string, error) {
	db := ten.Registry.DB()
	var before int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM tenants WHERE slug LIKE $1`, registryOnlySlug+"%").Scan(&before); err != nil {
		return nil, err
	}
	if err := insertRegistryOnlyTenants(ctx, ten, n, b, model, latest, before); err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT id FROM tenants WHERE slug LIKE $1 ORDER BY slug`, registryOnlySlug+"%")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids[before:], rows.Err()
}

// timeTicks arms one due occurrence per church in due, times one tick,
// checks it queued them all, and removes the jobs; n times. It returns
// the ticks' durations in milliseconds.
func timeTicks(ctx context.Context, r *runner, ten *tenancy.Tenancy, sched *schedule.Service, due []string, n int) ([]float64, error) {
	out := make([]float64, 0, n)
	for i := range n {
		at := time.Now().Add(-time.Second)
		for _, id := range due {
			if err := ten.Registry.SetScheduleDue(ctx, tenancy.ScheduleDue{TenantID: id, ScheduleID: "bench-" + id,
				Occurrence: fmt.Sprintf("tick-%d", i), DueAt: at}); err != nil {
				return nil, err
			}
		}
		t0 := time.Now()
		fired, err := sched.Tick(ctx)
		el := time.Since(t0)
		if err != nil {
			return nil, err
		}
		if fired != len(due) {
			return nil, fmt.Errorf("tick %d queued %d occurrences, want %d", i, fired, len(due))
		}
		if _, err := ten.Registry.DB().ExecContext(ctx, `DELETE FROM river_job WHERE kind = 'schedule_fire'`); err != nil {
			return nil, err
		}
		out = append(out, ms(el))
	}
	r.logf("%d ticks: p50 %.2f ms", n, percentile(out, 50))
	return out, nil
}
