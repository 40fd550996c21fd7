package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/config"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
	"github.com/steeple-sms/steeple/tenancy"
)

// runBroadcast measures the send pipeline end to end, against the Telnyx
// simulator over real HTTP:
//
//   - persist_enqueue_seconds: messaging.Service.Create for a broadcast to
//     --recipients members (validate, resolve the audience, render, commit
//     message and recipients, insert the send jobs), workers not running;
//   - drain_msgs_per_s: from starting the workers until the simulator has
//     received every message, with pacing out of the way (unthrottled);
//   - pacing_error_pct and pacing_max_per_second: --paced messages from a
//     church limited to --rate per second: how far the first-to-last time
//     (by the simulator's receive times) is from (n-1)/rate, and the most
//     messages in any sliding one-second window.
//
// Webhooks go to a local handler that answers 204 at once.
func runBroadcast(ctx context.Context, r *runner, args []string) (err error) {
	fl := r.newFlags()
	backendName := fl.String("backend", "sqlite", "sqlite or postgres")
	nRecipients := fl.Int("recipients", 10000, "recipients of the drained broadcast")
	nPaced := fl.Int("paced", 1000, "recipients of the paced broadcast")
	rate := fl.Float64("rate", 50, "messages per second for the paced broadcast")
	workers := fl.Int("workers", 10, "queue workers")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	b, err := backendFlag(*backendName)
	if err != nil {
		return err
	}
	if *nRecipients < 1 || *nPaced < 2 || *rate <= 0 || *workers < 1 {
		return usageError{"--recipients ≥ 1, --paced ≥ 2, --rate > 0 and --workers ≥ 1"}
	}
	r.out.backend = string(b)
	e, err := newEnv(ctx, r, b)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := e.cleanup(); err == nil {
			err = cerr
		}
	}()
	def := config.Default()
	mc := tenancy.ManagerConfig{MaxConns: def.DBMaxConns, MaxPerTenant: def.DBMaxConnsPerTenant, MaxPools: def.DBMaxConns,
		IdleTimeout: time.Minute, AcquireTimeout: 30 * time.Second}
	ten, closeTen, err := e.open(ctx, e.options(def.RegistryMaxConns, mc, store.Schema()))
	if err != nil {
		return err
	}
	defer closeTen()

	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer hooks.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	// Steeple as `steeple serve` builds it, without periodic jobs, sending
	// through the simulator as fast as it takes; receipts go to a sink.
	def.TelnyxAPIKey = ""
	a, err := app.New(ctx, app.Options{Config: def, Tenancy: ten, Keys: mustKeys(), PublicURL: hooks.URL, Logger: quiet,
		Tune: func(t *app.Tuning) {
			t.Sim.History = *nRecipients + *nPaced
			t.Messaging.PerNumberRate, t.Messaging.AccountRate, t.Messaging.UnregisteredDailyCap = 1e6, 0, 0
			t.Queue = jobs.Config{MaxWorkers: *workers, Logger: quiet, PollInterval: 20 * time.Millisecond, NoPeriodicJobs: true}
		}})
	if err != nil {
		return err
	}
	defer a.Close(context.Background())
	st, svc, q, sim := a.Store, a.Messaging, a.Queue, a.Sim

	drained, err := setupChurch(ctx, r, ten, st, "Drain", "+13125550100", *nRecipients, 0)
	if err != nil {
		return err
	}
	paced, err := setupChurch(ctx, r, ten, st, "Paced", "+13125550200", *nPaced, *rate)
	if err != nil {
		return err
	}
	admin := &steeple.Admin{ID: steeple.NewID()}
	create := func(id string) (time.Duration, error) {
		h, err := ten.Manager.Acquire(ctx, id)
		if err != nil {
			return 0, err
		}
		defer h.Release()
		start := time.Now()
		_, err = svc.Create(ctx, h, admin, messaging.BroadcastRequest{Text: "Hi {first_name}, see you Sunday!", Audience: store.Audience{All: true}})
		return time.Since(start), err
	}
	r.logf("creating a broadcast to %d members", *nRecipients)
	took, err := create(drained)
	if err != nil {
		return err
	}
	extra := []kv{{"recipients", *nRecipients}, {"workers", *workers}, {"machine", machine()}}
	r.out.metric("persist_enqueue_seconds", took.Seconds(), "s", extra...)

	qctx, stopQueue := context.WithCancel(ctx)
	defer stopQueue()
	start := time.Now()
	if err := q.Start(qctx); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = q.Stop(sctx)
	}()
	if err := waitSent(ctx, sim, *nRecipients, 2*time.Minute); err != nil {
		return err
	}
	drain := time.Since(start)
	r.out.metric("drain_msgs_per_s", float64(*nRecipients)/drain.Seconds(), "msgs/s", append(extra, kv{"seconds", roundTo(drain.Seconds(), 3)})...)

	r.logf("pacing %d messages at %.0f/s", *nPaced, *rate)
	if _, err := create(paced); err != nil {
		return err
	}
	if err := waitSent(ctx, sim, *nRecipients+*nPaced, time.Duration(float64(*nPaced)/(*rate)*1.5+10)*time.Second); err != nil {
		return err
	}
	var times []time.Time
	for _, m := range sim.Messages() {
		if m.From == "+13125550200" {
			times = append(times, m.ReceivedAt)
		}
	}
	if len(times) != *nPaced {
		return fmt.Errorf("simulator received %d paced messages, want %d", len(times), *nPaced)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	want := float64(*nPaced-1) / *rate
	got := times[len(times)-1].Sub(times[0]).Seconds()
	pextra := []kv{{"messages", *nPaced}, {"rate", *rate}, {"seconds", roundTo(got, 3)}, {"expected_seconds", roundTo(want, 3)}, {"machine", machine()}}
	r.out.metric("pacing_error_pct", 100*abs(got-want)/want, "%", pextra...)
	r.out.metric("pacing_max_per_second", float64(maxInWindow(times, time.Second)), "msgs", pextra...)
	return nil
}

// setupChurch provisions a church with a number and n opted-in members
// (through the import path) and, if rate > 0, its own sending rate.
func setupChurch(ctx context.Context, r *runner, ten *tenancy.Tenancy, st *store.Store, name, number string, n int, rate float64) (string, error) {
	t, err := ten.Provisioner.Provision(ctx, tenancy.NewTenant{Name: name, Timezone: "America/Chicago"})
	if err != nil {
		return "", err
	}
	if err := ten.Registry.AssignNumber(ctx, t.ID, number); err != nil {
		return "", err
	}
	h, err := ten.Manager.Acquire(ctx, t.ID)
	if err != nil {
		return "", err
	}
	defer h.Release()
	rows := make([]store.ImportRow, n)
	for i := range rows {
		rows[i] = store.ImportRow{Line: i + 2, Member: store.MemberInput{FirstName: fmt.Sprintf("M%d", i),
			Phone: fmt.Sprintf("+1415%03d%04d", 200+i/10000, i%10000)}} // a valid US exchange: invalid numbers are not textable
	}
	start := time.Now()
	if _, err := st.ImportMembers(ctx, h, rows, steeple.Consent{Status: steeple.ConsentOptedIn, Source: steeple.ConsentSourceImport}); err != nil {
		return "", err
	}
	r.logf("%s: %d members imported in %s", name, n, time.Since(start).Round(time.Millisecond))
	if rate > 0 {
		if err := st.SetSetting(ctx, h, steeple.SettingSendRate, fmt.Sprint(rate)); err != nil {
			return "", err
		}
	}
	return t.ID, nil
}

// waitSent polls the simulator until it has received n messages.
func waitSent(ctx context.Context, sim *telnyxsim.Sim, n int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for len(sim.Messages()) < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("simulator received %d of %d messages within %s", len(sim.Messages()), n, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// maxInWindow is the most times in any half-open window of length w.
func maxInWindow(sorted []time.Time, w time.Duration) int {
	best, lo := 0, 0
	for hi := range sorted {
		for sorted[hi].Sub(sorted[lo]) >= w {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
