package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/config"
	"github.com/steeple-sms/steeple/httpapi"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
	"github.com/steeple-sms/steeple/tenancy"
)

// sundayChurch is one church of the fleet.
type sundayChurch struct {
	id, number string
	members    int
	firstPhone int // members are phones firstPhone … firstPhone+members-1
	asked      time.Time
}

// sundayStop is one member texting STOP during the storm.
type sundayStop struct {
	church *sundayChurch
	phone  string
	acked  time.Time // the webhook's 200
}

// runSunday measures Sunday morning: a fleet of churches (most of 50–300
// members, a few of thousands) each with a registered number, all
// broadcasting at once through messaging.Service.Create (what the API's
// handler calls) with the queue, send workers and event workers running as
// `steeple serve` runs them; the simulator answers every send and posts its
// receipts through the signed webhook path, while about 1 % of recipients
// text STOP. With --processes the queue runs in `steeple serve` child
// processes instead, and --kill-after SIGKILLs one mid-storm. See
// docs/benchmarks.md for what each figure means.
func runSunday(ctx context.Context, r *runner, args []string) (err error) {
	fl := r.newFlags()
	backendName := fl.String("backend", "sqlite", "sqlite or postgres")
	nChurches := fl.Int("churches", 50, "churches in the fleet (the issue's storm: 1000)")
	bigMax := fl.Int("big-max", 5000, "members of the largest churches (the issue's full storm: --churches 1000 --big-max 20000)")
	seed := fl.Uint64("seed", 1, "random seed of the church sizes and of who texts STOP")
	workers := fl.Int("workers", 40, "send workers (STEEPLE_WORKERS)")
	eventWorkers := fl.Int("event-workers", 0, "event workers (STEEPLE_EVENT_WORKERS; 0: the backend's default, 16 on SQLite and 4 on PostgreSQL)")
	stopPct := fl.Float64("stop-pct", 1, "percent of recipients who text STOP during the storm")
	cpuProfile := fl.String("cpuprofile", "", "write a CPU profile of the storm to this path")
	stopWindow := fl.Duration("stop-window", 10*time.Second, "the STOPs are spread over this long from the storm's start")
	processes := fl.Int("processes", 0, "run the queue in this many `steeple serve` child processes (0: inside the bench; 2 or more: --backend postgres)")
	killAfter := fl.Duration("kill-after", 0, "SIGKILL the first server process this long into the storm and start it again at once (needs --processes)")
	waitLimit := fl.Duration("wait-limit", 10*time.Minute, "give up when the fleet is not done this long after the broadcasts are created")
	dbMaxConns := fl.Int("db-max-conns", config.Default().DBMaxConns, "on PostgreSQL, each process's budget of church database connections (STEEPLE_DB_MAX_CONNS)")
	maxOpen := fl.Int("max-open-tenants", config.Default().MaxOpenTenants, "on SQLite, each process's budget of open church files and connections (STEEPLE_MAX_OPEN_TENANTS)")
	registryConns := fl.Int("registry-max-conns", config.Default().RegistryMaxConns, "each process's registry pool, shared with the job queue (STEEPLE_REGISTRY_MAX_CONNS)")
	providerDelay := fl.Duration("provider-delay", 0, "the simulator answers each send this much later, as a provider reached over the internet would (the ceiling's sends too)")
	rescueAfter := fl.Duration("rescue-after", 30*time.Second, "the servers' STEEPLE_JOB_RESCUE_AFTER: how long a killed server's sends wait (STEEPLE_SEND_JOB_TIMEOUT is two thirds of it)")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	b, err := backendFlag(*backendName)
	if err != nil {
		return err
	}
	*eventWorkers = config.EventWorkersFor(*eventWorkers, b == steeple.BackendPostgres)
	if *nChurches < 2 || *bigMax < 300 || *workers < 1 || *eventWorkers < 1 || *stopPct < 0 || *stopPct > 50 || *stopWindow <= 0 || *waitLimit <= 0 || *dbMaxConns < 1 || *maxOpen < 1 || *registryConns < 2 {
		return usageError{"--churches ≥ 2, --big-max ≥ 300, --workers ≥ 1, --event-workers ≥ 1, 0 ≤ --stop-pct ≤ 50, --stop-window > 0, --wait-limit > 0, --db-max-conns ≥ 1, --max-open-tenants ≥ 1, --registry-max-conns ≥ 2"}
	}
	if err := checkProcessFlags(b, *processes, *killAfter, *rescueAfter); err != nil {
		return err
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
	// The budget as `steeple serve` sizes it (tenancy.OptionsFromConfig):
	// PostgreSQL's server connections, or on SQLite open church files.
	mc := tenancy.ManagerConfig{MaxConns: *maxOpen, MaxPerTenant: min(def.DBMaxConnsPerTenant, *maxOpen), MaxPools: *maxOpen,
		IdleTimeout: time.Minute, AcquireTimeout: 30 * time.Second}
	if b == steeple.BackendPostgres {
		mc.MaxConns, mc.MaxPools = *dbMaxConns, *dbMaxConns
	}
	ten, closeTen, err := e.open(ctx, e.options(*registryConns, mc, store.Schema()))
	if err != nil {
		return err
	}
	defer closeTen()

	rng := rand.New(rand.NewPCG(*seed, 2))
	fleet, total := sundaySizes(rng, *nChurches, *bigMax)
	var stack *sundayStack
	if *processes > 0 {
		stack, err = startSundayProcs(ctx, e, ten, total, sundayProcs{n: *processes, workers: *workers, eventWorkers: *eventWorkers, rescueAfter: *rescueAfter, dbMaxConns: *dbMaxConns, maxOpen: *maxOpen, registryConns: *registryConns})
	} else {
		stack, err = startSundayApp(ctx, ten, total, *workers, *eventWorkers)
	}
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			stack.showLogs(r)
		}
		stack.close()
	}()
	setupStart := time.Now()
	if err := setupSundayFleet(ctx, r, ten, stack.app.Store, fleet); err != nil {
		return err
	}
	r.logf("fleet: %d churches, %d recipients, set up in %.1fs", len(fleet), total, time.Since(setupStart).Seconds())

	var conns *sampler
	if b == steeple.BackendPostgres {
		count, done, err := sundayConnCounter(ctx, e, *processes > 0)
		if err != nil {
			return err
		}
		conns = startSampler(ctx, 50*time.Millisecond, count)
		// The sampler stops before its connection closes, also when the
		// run fails: pgx panics on a connection closed while in use.
		defer func() { conns.stop(); done() }()
	}
	if err := stack.launch(ctx, r); err != nil {
		return err
	}
	for _, srv := range stack.servers {
		stack.webhookURLs = append(stack.webhookURLs, srv.url+"/webhooks/telnyx")
	}
	rss := startSampler(ctx, 200*time.Millisecond, func(context.Context) (int, error) { return rssMB(), nil })
	stopProfile, err := startCPUProfile(*cpuProfile, "")
	if err != nil {
		return err
	}
	stack.sim.SetSendDelay(*providerDelay)
	sessions := startSessionCount(ctx, e, b)
	cpu0 := readCPU()
	storm := time.Now()
	var killed <-chan sundayKill
	if *processes == 0 {
		if err := stack.app.Start(ctx); err != nil {
			return err
		}
	} else if *killAfter > 0 {
		// Cancelled before the deferred close, which waits for it: no
		// server is restarted after the others are stopped.
		killCtx, cancelKill := context.WithCancel(ctx)
		defer cancelKill()
		killed = stack.killLater(killCtx, r, ten, fleet, storm, *killAfter)
	}
	stops := pickStops(rng, fleet, *stopPct)
	stopsDone := make(chan error, 1)
	go func() { stopsDone <- stack.textStops(ctx, stops, *stopWindow) }()
	if err := askAll(ctx, ten, stack.app.Messaging, fleet); err != nil {
		return err
	}
	r.logf("%d broadcasts created in %.1fs; sending", len(fleet), time.Since(storm).Seconds())
	if err := <-stopsDone; err != nil {
		return err
	}
	r.logf("%d STOPs texted", len(stops))
	if err := waitSunday(ctx, r, ten, stack.sim, fleet, stops, *waitLimit, func() error { return serversAlive(stack.servers) }); err != nil {
		return err
	}
	var kill *sundayKill
	if killed != nil {
		k := <-killed
		if k.err != nil {
			return k.err
		}
		kill = &k
	}
	cpu := cpuSince(cpu0, readCPU())
	sessionsStarted := sessions()
	stopProfile()
	rss.stop()
	stopServers(stack.servers) // idle now; their peaks are read before they go
	res, err := countSunday(ctx, ten, stack, fleet, stops)
	if err != nil {
		return err
	}
	if err := logEventWaits(ctx, r, ten); err != nil {
		r.logf("event waits: %v", err)
	}
	ceiling, err := stack.ceiling(ctx, min(total, 20000), *workers)
	if err != nil {
		return err
	}
	extra := []kv{{"churches", len(fleet)}, {"recipients", total}, {"workers", *workers}, {"event_workers", *eventWorkers}, {"seed", *seed}, {"machine", machine()}}
	if *processes > 0 {
		extra = append(extra, kv{"processes", *processes})
	}
	if kill != nil {
		extra = append(extra, kv{"kill_after_s", roundTo(kill.at.Seconds(), 2)})
	}
	fleetRate := float64(res.sent) / res.span.Seconds()
	paceBound, smallFloor := sundayBounds(fleet, res.sent, ceiling, registeredRate)
	r.out.metric("fleet_msgs_per_s", fleetRate, "msgs/s", append(extra, kv{"seconds", roundTo(res.span.Seconds(), 2)})...)
	r.out.metric("ceiling_msgs_per_s", ceiling, "msgs/s", extra...)
	r.out.metric("fleet_to_ceiling_ratio", fleetRate/ceiling, "ratio", extra...)
	r.out.metric("pace_bound_msgs_per_s", paceBound, "msgs/s", extra...)
	r.out.metric("fleet_to_pace_bound_ratio", fleetRate/paceBound, "ratio", extra...)
	r.out.metric("busy_msgs_per_s", res.busyRate, "msgs/s", append(extra, kv{"seconds", roundTo(res.busySpan.Seconds(), 2)})...)
	r.out.metric("small_church_p95_seconds", percentile(res.smallSeconds, 95), "s",
		append(extra, kv{"small_churches", len(res.smallSeconds)}, kv{"pace_allows_p95_seconds", roundTo(percentile(res.smallPace, 95), 2)},
			kv{"floor_p95_seconds", roundTo(smallFloor, 2)})...)
	r.out.metric("small_church_to_pace_p95", percentile(res.smallRatio, 95), "ratio", extra...)
	r.out.metric("small_church_to_floor_p95", percentile(res.smallSeconds, 95)/smallFloor, "ratio", extra...)
	fair := fairShareP95(fleet, res.busyRate, registeredRate)
	r.out.metric("small_church_to_fair_share_p95", percentile(res.smallSeconds, 95)/fair, "ratio",
		append(extra, kv{"fair_share_p95_seconds", roundTo(fair, 2)})...)
	stopExtra := append(extra, kv{"stops", len(stops)}, kv{"applied", len(res.stopMS)}, kv{"p50_ms", roundTo(percentile(res.stopMS, 50), 1)})
	if *processes == 0 { // else each server's, in its figures
		stopExtra = append(stopExtra, kv{"gave_way", ten.Manager.Stats().GaveWay})
	}
	r.out.metric("stop_applied_p99_ms", percentile(res.stopMS, 99), "ms", stopExtra...)
	r.out.metric("texts_after_stop", float64(res.afterStop), "texts", extra...)
	r.out.metric("receipt_lag_p99_seconds", percentile(res.receiptLag, 99), "s", extra...)
	r.out.metric("lost", float64(res.lost), "texts", extra...)
	r.out.metric("duplicates", float64(res.dups), "texts", extra...)
	r.out.metric("rss_mb", float64(rss.max()), "MiB", append(extra, cpu...)...) // this process: with --processes, not the servers
	if sessionsStarted >= 0 {
		r.out.metric("church_db_sessions", float64(sessionsStarted), "sessions",
			append(extra, kv{"per_1000_texts", roundTo(1000*float64(sessionsStarted)/float64(max(res.sent, 1)), 1)})...)
	}
	if conns != nil {
		conns.stop()
		r.out.metric("max_db_connections", float64(conns.max()), "conns",
			append(extra, kv{"budget", max(1, *processes) * (*dbMaxConns + *registryConns)})...)
	}
	if *processes > 0 {
		stack.serverFigures(r, extra)
	}
	if kill != nil {
		r.out.metric("sending_at_kill", float64(kill.sending), "texts", append(extra, kv{"server", kill.server},
			kv{"sent_before_kill", kill.sentBefore}, kv{"restart_s", roundTo(kill.restart.Seconds(), 2)})...)
	}
	return nil
}

// sundaySizes draws the fleet's sizes: 99 % of churches 50–300 members, 1 %
// (at least one) between a tenth of bigMax and bigMax.
func sundaySizes(rng *rand.Rand, n, bigMax int) ([]*sundayChurch, int) {
	fleet := make([]*sundayChurch, n)
	bigs := max(1, n/100)
	total := 0
	for i := range fleet {
		size := 50 + rng.IntN(251)
		if i < bigs {
			size = bigMax/10 + rng.IntN(bigMax-bigMax/10+1)
		}
		fleet[i] = &sundayChurch{number: fmt.Sprintf("+1312%07d", 5550000+i), members: size, firstPhone: total}
		total += size
	}
	rng.Shuffle(len(fleet), func(i, j int) { fleet[i], fleet[j] = fleet[j], fleet[i] })
	return fleet, total
}

// memberPhone is the k-th member's phone across the fleet: each member has
// a phone of their own, so a text is known by its destination alone.
func memberPhone(k int) string { return fmt.Sprintf("+1415%03d%04d", 200+k/10000, k%10000) }

// sundayStack is Steeple as `steeple serve` builds it (over the built-in
// simulator), with an HTTP server for the simulator's webhooks — or, with
// --processes, an app that only creates the broadcasts while `steeple
// serve` children do the work (see startSundayProcs).
type sundayStack struct {
	app    *app.App
	sim    *telnyxsim.Sim
	simURL string
	http   *httptest.Server // in-process: the app's webhooks
	sink   *httptest.Server // receipts of the ceiling's sends
	// webhookURLs are where STOPs are posted, in turn.
	webhookURLs []string

	// --processes only: the children, started by launch, their logs and
	// keys in dir; the simulator runs here (stopSim).
	servers []*sundayServer
	launch  func(context.Context, *runner) error
	killing chan struct{} // closed when killLater's goroutine is done
	dir     string
	stopSim func()
}

func startSundayApp(ctx context.Context, ten *tenancy.Tenancy, total, workers, eventWorkers int) (*sundayStack, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	def := config.Default()
	def.TelnyxAPIKey = ""
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(ctx, app.Options{Config: def, Tenancy: ten, Keys: mustKeys(), PublicURL: "http://" + ln.Addr().String(), Logger: quiet,
		Tune: func(t *app.Tuning) {
			t.Sim.History = total + 20000 + 1000
			// A large provider account: the account-wide cap (50/s by
			// default) would be the whole story otherwise.
			t.Messaging.AccountRate = 0
			t.Queue = jobs.Config{MaxWorkers: workers, EventWorkers: eventWorkers, Logger: quiet, PollInterval: 50 * time.Millisecond, NoPeriodicJobs: true}
		}})
	if err != nil {
		ln.Close()
		return nil, err
	}
	hs := httptest.NewUnstartedServer(nil)
	hs.Listener.Close()
	hs.Listener = ln
	limits := httpapi.DefaultLimits()
	limits.MaxRequestsPerClient, limits.MaxWebhooksPerClient = 0, 0
	hs.Config = httpapi.NewHTTPServer(a.Handler, limits)
	hs.Start()
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	return &sundayStack{app: a, sim: a.Sim, simURL: a.SimURL, http: hs, sink: sink, webhookURLs: []string{hs.URL + "/webhooks/telnyx"},
		launch: func(context.Context, *runner) error { return nil }, stopSim: func() {}}, nil
}

// close stops the servers (if any), the app, the simulator and the HTTP
// servers, and removes the servers' directory.
func (s *sundayStack) close() {
	if s.killing != nil {
		<-s.killing
	}
	stopServers(s.servers)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if s.app != nil {
		_ = s.app.Close(ctx)
	}
	s.stopSim()
	for _, hs := range []*httptest.Server{s.http, s.sink} {
		if hs != nil {
			hs.Close()
		}
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

// setupSundayFleet provisions every church (4 at a time) with its number
// assigned to a provisioned 10DLC campaign (the registered pace) and its
// members imported with consent.
func setupSundayFleet(ctx context.Context, r *runner, ten *tenancy.Tenancy, st *store.Store, fleet []*sundayChurch) error {
	ts, _, err := provisionMany(ctx, r, ten, "Sunday church", 0, len(fleet), 4)
	if err != nil {
		return err
	}
	work := make(chan int)
	errs := make(chan error, len(fleet))
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				fleet[i].id = ts[i].ID
				errs <- setupSundayChurch(ctx, ten, st, fleet[i])
			}
		}()
	}
	for i := range fleet {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func setupSundayChurch(ctx context.Context, ten *tenancy.Tenancy, st *store.Store, c *sundayChurch) error {
	if err := ten.Registry.AssignNumber(ctx, c.id, c.number); err != nil {
		return err
	}
	if err := ten.Registry.SetCampaignState(ctx, c.id, c.number, tenancy.CampaignAssigned); err != nil {
		return err
	}
	h, err := ten.Manager.Acquire(ctx, c.id)
	if err != nil {
		return err
	}
	defer h.Release()
	if err := st.SubmitRegistration(ctx, h, store.BrandProfile{LegalName: "Church", EIN: "123456789", EINLast4: "6789", Street: "1 Main St",
		City: "Springfield", State: "IL", PostalCode: "62701", Website: "https://church.example.org", ContactEmail: "office@church.example.org",
		ContactPhone: "+13125550199"}, steeple.RegProvisioned); err != nil {
		return err
	}
	rows := make([]store.ImportRow, c.members)
	for i := range rows {
		rows[i] = store.ImportRow{Line: i + 2, Member: store.MemberInput{FirstName: fmt.Sprintf("M%d", i), Phone: memberPhone(c.firstPhone + i)}}
	}
	_, err = st.ImportMembers(ctx, h, rows, steeple.Consent{Status: steeple.ConsentOptedIn, Source: steeple.ConsentSourceImport})
	return err
}

// askAll creates every church's broadcast, 8 at a time, as fast as they go.
func askAll(ctx context.Context, ten *tenancy.Tenancy, svc *messaging.Service, fleet []*sundayChurch) error {
	work := make(chan *sundayChurch)
	errs := make(chan error, len(fleet))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				errs <- ask(ctx, ten, svc, c)
			}
		}()
	}
	for _, c := range fleet {
		work <- c
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func ask(ctx context.Context, ten *tenancy.Tenancy, svc *messaging.Service, c *sundayChurch) error {
	h, err := ten.Manager.Acquire(ctx, c.id)
	if err != nil {
		return err
	}
	defer h.Release()
	c.asked = time.Now()
	_, err = svc.Create(ctx, h, &steeple.Admin{ID: steeple.NewID()}, messaging.BroadcastRequest{
		Text: "Good morning {first_name}! Service at 10, coffee at 9:30.", Audience: store.Audience{All: true}})
	return err
}

// pickStops chooses who texts STOP: pct percent of the fleet's recipients.
func pickStops(rng *rand.Rand, fleet []*sundayChurch, pct float64) []*sundayStop {
	var out []*sundayStop
	for _, c := range fleet {
		for k := range c.members {
			if rng.Float64()*100 < pct {
				out = append(out, &sundayStop{church: c, phone: memberPhone(c.firstPhone + k)})
			}
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// textStops sends the STOPs through the simulator, spread evenly over
// within, and records when each webhook was answered.
func (s *sundayStack) textStops(ctx context.Context, stops []*sundayStop, within time.Duration) error {
	if len(stops) == 0 {
		return nil
	}
	gap := within / time.Duration(len(stops))
	var wg sync.WaitGroup
	errs := make(chan error, len(stops))
	tick := time.NewTicker(gap)
	defer tick.Stop()
	for i, st := range stops {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.textStopOnce(ctx, i, st)
			st.acked = time.Now()
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return fmt.Errorf("STOP: %w", err)
		}
	}
	return nil
}
