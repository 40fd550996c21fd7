package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/config"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/secret"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/tenancy"
	"github.com/steeple-sms/steeple/webhooks"
)

// runWebhook measures the webhook path (POST /webhooks/telnyx, then the
// queue's workers applying each event to its church):
//
//   - limit_throughput, limit_p50_ms, limit_p99_ms: a bare net/http handler
//     doing only the unavoidable work of receiving a webhook: read the body,
//     verify its Ed25519 signature, insert one row (the signature as key)
//     into a SQLite table opened the way the registry is (same pragmas,
//     same pool size), autocommit.
//   - throughput, p50_ms, p99_ms: Steeple's own handler (httpapi, with
//     webhooks.Service on the SQLite registry: verify, parse, then apply
//     each inbound text to its church and record its id — or, for a text
//     whose church's connection does not come at once, the de-duplication
//     row and River job in one transaction) while the queue runs as
//     `steeple serve` runs it (production poll interval and worker counts),
//     its event workers applying the queued texts to --churches churches. Both
//     handlers serve a real net/http server on 127.0.0.1 and take the same
//     signed message.received webhooks (each event id unique) from the same
//     load generator: --clients clients on keep-alive connections, each
//     phase --requests requests or --duration, whichever ends first, after
//     an untimed warm-up of 4 requests a client. The texts still queued
//     after the phase are deleted from the queue, so that they do not run
//     in the next phase.
//   - dlr_throughput_N_tenants for each N of --dlr-tenants: the worker stage
//     alone for --receipts message.finalized receipts, in a fleet of N
//     churches made just before the phase (the registry holds only the
//     churches made so far), spread evenly in a random order over the
//     first count's number of them (10 by default: the same working set in
//     every fleet, so the figures differ only by how many churches exist).
//     The jobs are inserted as Accept inserts them (Service.JobArgs), then
//     the workers start and the clock runs until the last receipt has
//     updated its row in its church's database (the applied count of
//     steeple_webhook_events_total; any other outcome fails the run, and
//     one church's rows are counted before and after). Each receipt names a
//     distinct provider message id that exists there as a broadcast
//     recipient in status sent, and its webhook_url names the church
//     (…/webhooks/telnyx?tenant=ID), as Steeple sets it when sending. The
//     queue polls every --dlr-poll (5 ms) here.
//   - dlr_throughput_N_tenants_all_receiving for the largest N: the same,
//     with the receipts spread over every church of the fleet, one each;
//     each then opens its church's database, which dominates.
//
// Bench-only shortcut (SQLite): provisioning 10,000 churches does not fit a
// one-minute run. Each receipts phase provisions one church the real way,
// adds its broadcast through the store, checkpoints it, and makes the other
// N-1 churches by copying that file, with the 8-character church code that
// starts every provider id rewritten in the copy (same length, and the same
// within a file, so the provider-id index stays ordered), then registers
// each copy in the registry with a copy of the model's registry row (new
// id, name, slug and database name). One copy is checked with PRAGMA
// integrity_check and a count of its provider ids before the phase, and
// the copies are synced to disk before the first phase starts.
func runWebhook(ctx context.Context, r *runner, args []string) (err error) {
	fl := r.newFlags()
	backendName := fl.String("backend", "sqlite", "sqlite or postgres")
	clients := fl.Int("clients", 16, "concurrent HTTP clients (keep-alive) of the load generator")
	nRequests := fl.Int("requests", 20000, "signed webhooks prepared for each HTTP phase (a phase ends when they are used up or at --duration)")
	duration := fl.Duration("duration", 3*time.Second, "longest HTTP phase")
	nChurches := fl.Int("churches", 4, "churches owning the numbers the inbound texts are sent to")
	dlrTenants := fl.String("dlr-tenants", "10,10000", "comma-separated church counts of the receipts phases")
	nReceipts := fl.Int("receipts", 2000, "receipts applied in each receipts phase")
	def := config.Default()
	workers := fl.Int("workers", def.Workers, "send and other job workers (STEEPLE_WORKERS)")
	eventWorkers := fl.Int("event-workers", config.EventWorkersFor(0, false), "webhook event workers (STEEPLE_EVENT_WORKERS)")
	poll := fl.Duration("poll", 0, "queue poll interval on SQLite while webhooks are posted (0: the production default, 200ms)")
	dlrPoll := fl.Duration("dlr-poll", 5*time.Millisecond, "queue poll interval on SQLite in the receipts phases; it also sets River's fetch cooldown (0: the production default)")
	maxOpen := fl.Int("max-open-tenants", def.MaxOpenTenants, "church databases open at once (STEEPLE_MAX_OPEN_TENANTS)")
	cpuProfile := fl.String("cpuprofile", "", "write CPU profiles of Steeple's HTTP phase and of each receipts phase to this path plus .http, .dlr-N")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	b, err := backendFlag(*backendName)
	if err != nil {
		return err
	}
	tenantCounts, err := parseCounts(*dlrTenants)
	if err != nil {
		return err
	}
	switch {
	case *clients < 1 || *nRequests < 1 || *duration <= 0:
		return usageError{"--clients ≥ 1, --requests ≥ 1 and --duration > 0"}
	case *nChurches < 1 || *nReceipts < 1 || *workers < 1 || *eventWorkers < 1 || *poll < 0 || *dlrPoll < 0 || *maxOpen < 1:
		return usageError{"--churches ≥ 1, --receipts ≥ 1, --workers ≥ 1, --event-workers ≥ 1, --poll ≥ 0, --dlr-poll ≥ 0 and --max-open-tenants ≥ 1"}
	}
	if b == steeple.BackendPostgres {
		return usageError{"--backend postgres is not supported by this scenario: its figures are SQLite's"}
	}
	r.out.backend = string(b)
	r.out.common = []kv{{"machine", machine()}}

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
	s, err := newWebhookStack(ctx, r, e, *workers, *eventWorkers, *poll, *maxOpen)
	if err != nil {
		return err
	}
	defer s.close()

	// Inbound texts go to a few churches, each with its own number.
	numbers := make([]string, *nChurches)
	for i := range numbers {
		t, err := s.ten.Provisioner.Provision(ctx, tenancy.NewTenant{Name: fmt.Sprintf("Inbound Church %d", i), Timezone: "America/Chicago"})
		if err != nil {
			return err
		}
		numbers[i] = fmt.Sprintf("+1312555%04d", i)
		if err := s.ten.Registry.AssignNumber(ctx, t.ID, numbers[i]); err != nil {
			return err
		}
	}
	warm := 4 * *clients
	r.logf("signing %d inbound webhooks", *nRequests+warm)
	reqs, err := signInbound(ctx, s.priv, numbers, *nRequests+warm, s.url)
	if err != nil {
		return err
	}
	load := loadConfig{clients: *clients, duration: *duration}

	// 1. The limit: a bare handler doing only the unavoidable work.
	lim, err := startLimitServer(ctx, e, s.pub, def.RegistryMaxConns)
	if err != nil {
		return err
	}
	r.logf("limit handler: %d clients, %d requests or %s", *clients, *nRequests, *duration)
	limRes, err := load.run(ctx, lim.url, reqs[:warm], reqs[warm:])
	lim.close()
	if err != nil {
		return fmt.Errorf("limit handler: %w", err)
	}
	lx := []kv{{"clients", *clients}, {"requests", limRes.n}, {"seconds", roundTo(limRes.elapsed.Seconds(), 3)}}
	lx = append(lx, limRes.cpu...)
	r.out.metric("limit_throughput", limRes.rate(), "req/s", lx...)
	r.out.metric("limit_p50_ms", percentile(limRes.lat, 50), "ms", lx[:2]...)
	r.out.metric("limit_p99_ms", percentile(limRes.lat, 99), "ms", lx[:2]...)

	// 2. Steeple's handler, the queue's workers running.
	q := s.app.Queue
	stopQ, err := s.startQueue(ctx, q)
	if err != nil {
		return err
	}
	r.logf("steeple handler: %d clients, %d requests or %s, %d event workers applying", *clients, *nRequests, *duration, *eventWorkers)
	stopProfile, err := startCPUProfile(*cpuProfile, ".http")
	if err != nil {
		stopQ()
		return err
	}
	realRes, err := load.run(ctx, s.url+"/webhooks/telnyx", reqs[:warm], reqs[warm:])
	stopProfile()
	if err != nil {
		stopQ()
		return fmt.Errorf("steeple handler: %w", err)
	}
	counts, err := s.counts()
	if err != nil {
		stopQ()
		return err
	}
	appliedDuring := counts[outcomeKey{telnyx.EventMessageReceived, webhooks.OutcomeApplied}]
	stopQ()
	accepted := counts[outcomeKey{telnyx.EventMessageReceived, webhooks.OutcomeAccepted}]
	if want := int64(warm + realRes.n); accepted != want {
		return fmt.Errorf("steeple handler: %d webhooks accepted, want %d (counts %v)", accepted, want, counts)
	}
	// The inbound texts not applied yet would run first in the next phase.
	left, err := s.dropQueuedEvents(ctx)
	if err != nil {
		return err
	}
	r.logf("inbound texts: %d accepted, %d applied by %d event workers meanwhile, %d left queued (dropped)", accepted, appliedDuring, *eventWorkers, left)
	rx := []kv{{"clients", *clients}, {"requests", realRes.n}, {"seconds", roundTo(realRes.elapsed.Seconds(), 3)},
		{"ratio_to_limit", roundTo(realRes.rate()/limRes.rate(), 3)}, {"event_workers", *eventWorkers}, {"applied_meanwhile", appliedDuring}}
	rx = append(rx, realRes.cpu...)
	r.out.metric("throughput", realRes.rate(), "req/s", rx...)
	r.out.metric("p50_ms", percentile(realRes.lat, 50), "ms", rx[:2]...)
	r.out.metric("p99_ms", percentile(realRes.lat, 99), "ms", append(rx[:2:2], kv{"target_max", 50})...)

	// 3. Receipts in a fleet of few and of many churches. Each fleet is
	// made just before its phase, so the registry holds only the churches
	// signed up so far. The first figures send the receipts to 10 churches
	// of each fleet (the same working set: what changes is only how many
	// churches exist); the last spreads them over every church of the
	// largest fleet, where each receipt also opens a church's database.
	s.poll = *dlrPoll
	var first float64
	var last *receiptSet
	for i, n := range tenantCounts {
		receivers := min(n, tenantCounts[0])
		set, err := s.makeReceiptChurches(ctx, i, n, (*nReceipts+receivers-1)/receivers+1)
		if err != nil {
			return fmt.Errorf("churches for %d-church receipts: %w", n, err)
		}
		t0 := time.Now()
		syncDisks() // put the copies on disk now, not while the phase runs
		r.logf("sync: %.1fs", time.Since(t0).Seconds())
		res, err := s.runReceipts(ctx, set, randomChurches(n, receivers), 0, *nReceipts, *cpuProfile)
		if err != nil {
			return fmt.Errorf("receipts over %d churches: %w", n, err)
		}
		x, err := s.receiptFigures(ctx, set, receivers, res, *nReceipts, *eventWorkers, *maxOpen, *dlrPoll)
		if err != nil {
			return err
		}
		if i == 0 {
			first = res.rate()
		} else {
			x = append(x, kv{fmt.Sprintf("ratio_to_%d_tenants", tenantCounts[0]), roundTo(res.rate()/first, 3)})
		}
		r.out.metric(fmt.Sprintf("dlr_throughput_%d_tenants", n), res.rate(), "receipts/s", append(x, res.cpu...)...)
		last = set
	}
	if last == nil || last.n <= tenantCounts[0] {
		return nil
	}
	all := make([]int, last.n)
	for i := range all {
		all[i] = i
	}
	kBase := (*nReceipts + tenantCounts[0] - 1) / tenantCounts[0] // past the rows the 10-church phase used
	res, err := s.runReceipts(ctx, last, all, kBase, min(*nReceipts, last.n), *cpuProfile)
	if err != nil {
		return fmt.Errorf("receipts spread over %d churches: %w", last.n, err)
	}
	x, err := s.receiptFigures(ctx, last, last.n, res, min(*nReceipts, last.n), *eventWorkers, *maxOpen, *dlrPoll)
	if err != nil {
		return err
	}
	x = append(x, kv{fmt.Sprintf("ratio_to_%d_tenants", tenantCounts[0]), roundTo(res.rate()/first, 3)})
	r.out.metric(fmt.Sprintf("dlr_throughput_%d_tenants_all_receiving", last.n), res.rate(), "receipts/s", append(x, res.cpu...)...)
	return nil
}

// receiptFigures are the extra keys of a receipts figure.
func (s *webhookStack) receiptFigures(ctx context.Context, set *receiptSet, receivers int, res *receiptsResult, n, workers, maxOpen int, poll time.Duration) ([]kv, error) {
	var registryTenants int
	if err := s.ten.Registry.DB().QueryRowContext(ctx, `SELECT count(*) FROM tenants`).Scan(&registryTenants); err != nil {
		return nil, err
	}
	return []kv{{"tenants", set.n}, {"receiving_tenants", receivers}, {"registry_tenants", registryTenants}, {"receipts", n},
		{"event_workers", workers}, {"seconds", roundTo(res.elapsed.Seconds(), 3)}, {"pool_opens", res.opens},
		{"max_open_tenants", maxOpen}, {"dlr_poll_ms", ms(poll)}}, nil
}

// randomChurches picks k of n church indexes.
func randomChurches(n, k int) []int {
	return mrand.Perm(n)[:k]
}

// parseCounts reads "10,10000".
func parseCounts(v string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, usageError{fmt.Sprintf("--dlr-tenants must be church counts ≥ 1 separated by commas, not %q", v)}
		}
		out = append(out, n)
	}
	return out, nil
}

// webhookStack is Steeple built as `steeple serve` builds it (app.New), over the run's data directory, with the Telnyx simulator as
// the provider and a key pair of the bench's own signing the webhooks.
type webhookStack struct {
	r        *runner
	e        *env
	ten      *tenancy.Tenancy
	st       *store.Store
	keys     *secret.Keys
	msg      *messaging.Service
	wh       *webhooks.Service
	metrics  *prometheus.Registry
	app      *app.App // the one serving HTTP
	nWorkers int      // send and other jobs (STEEPLE_WORKERS)
	nEvents  int      // webhook events (STEEPLE_EVENT_WORKERS)
	poll     time.Duration
	quiet    *slog.Logger
	pub      ed25519.PublicKey
	priv     ed25519.PrivateKey
	url      string // the HTTP server's root
	closers  []func()

	churches int // churches copied by makeReceiptChurches so far, for their codes
}

func newWebhookStack(ctx context.Context, r *runner, e *env, nWorkers, nEvents int, poll time.Duration, maxOpen int) (s *webhookStack, err error) {
	s = &webhookStack{r: r, e: e, nWorkers: nWorkers, nEvents: nEvents, poll: poll, quiet: slog.New(slog.NewTextHandler(io.Discard, nil))}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	def := config.Default()
	def.MaxOpenTenants = maxOpen
	schema := store.Schema()
	o := e.options(def.RegistryMaxConns, tenancy.OptionsFromConfig(&def, schema).Manager, schema)
	ten, closeTen, err := e.open(ctx, o)
	if err != nil {
		return nil, err
	}
	s.ten = ten
	s.closers = append(s.closers, closeTen)
	keys, err := secret.New(secret.Generate())
	if err != nil {
		return nil, err
	}
	s.keys = keys
	if s.pub, s.priv, err = ed25519.GenerateKey(rand.Reader); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.url = "http://" + ln.Addr().String()
	if s.app, err = s.newApp(ctx); err != nil {
		ln.Close()
		return nil, err
	}
	s.st = s.app.Store
	srv := &http.Server{Handler: s.app.Handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	s.closers = append(s.closers, func() { _ = srv.Close() })
	return s, nil
}

// newApp builds Steeple as `steeple serve` does (app.New, without the
// periodic jobs and welcome texts), over the stack's church data, with the
// Telnyx simulator as the provider and the bench's key checking webhook
// signatures. Its services become the stack's.
func (s *webhookStack) newApp(ctx context.Context) (*app.App, error) {
	def := config.Default()
	def.TelnyxAPIKey = ""
	a, err := app.New(ctx, app.Options{Config: def, Tenancy: s.ten, Keys: s.keys, PublicURL: s.url, Logger: s.quiet,
		Tune: func(t *app.Tuning) {
			t.Sim.History = 100
			t.Webhooks.PublicKey = s.pub
			t.Messaging.UnregisteredDailyCap = 0
			t.Inbox.NoWelcome = true
			t.Queue = jobs.Config{MaxWorkers: s.nWorkers, EventWorkers: s.nEvents, Logger: s.quiet, PollInterval: s.poll, NoPeriodicJobs: true}
		}})
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { _ = a.Close(context.Background()) })
	s.msg, s.wh, s.metrics = a.Messaging, a.Webhooks, a.Metrics
	return a, nil
}

// close stops everything newWebhookStack started, last first.
func (s *webhookStack) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// newQueue builds a new Steeple (newApp) with the stack's current poll
// interval and returns its queue, not started; its services become the
// stack's.
func (s *webhookStack) newQueue(ctx context.Context) (*jobs.Queue, error) {
	a, err := s.newApp(ctx)
	if err != nil {
		return nil, err
	}
	return a.Queue, nil
}

// startQueue starts q; the function returned stops it (waiting for the
// jobs running) and may be called more than once.
func (s *webhookStack) startQueue(ctx context.Context, q *jobs.Queue) (func(), error) {
	qctx, cancel := context.WithCancel(ctx)
	if err := q.Start(qctx); err != nil {
		cancel()
		return nil, err
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer scancel()
		if err := q.Stop(sctx); err != nil {
			s.r.logf("stopping the queue: %v", err)
		}
		cancel()
	}
	s.closers = append(s.closers, stop)
	return stop, nil
}

// dropQueuedEvents deletes the webhook events still waiting in the queue
// and returns how many there were.
func (s *webhookStack) dropQueuedEvents(ctx context.Context) (int64, error) {
	res, err := s.ten.Registry.DB().ExecContext(ctx, `DELETE FROM river_job WHERE kind = $1 AND state IN ('available', 'retryable', 'scheduled')`,
		webhooks.EventArgs{}.Kind())
	if err != nil {
		return 0, fmt.Errorf("dropping queued events: %w", err)
	}
	return res.RowsAffected()
}

// outcomeKey is one series of steeple_webhook_events_total.
type outcomeKey struct{ eventType, outcome string }

// counts reads steeple_webhook_events_total.
func (s *webhookStack) counts() (map[outcomeKey]int64, error) {
	mfs, err := s.metrics.Gather()
	if err != nil {
		return nil, err
	}
	out := map[outcomeKey]int64{}
	for _, mf := range mfs {
		if mf.GetName() != "steeple_webhook_events_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var k outcomeKey
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "type":
					k.eventType = l.GetValue()
				case "outcome":
					k.outcome = l.GetValue()
				}
			}
			out[k] = int64(m.GetCounter().GetValue())
		}
	}
	return out, nil
}

// startCPUProfile profiles this process into path until the returned
// function is called; with no path it does nothing.
func startCPUProfile(path, suffix string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path + suffix)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
