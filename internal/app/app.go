// Package app is the one place that knows how Steeple's pieces fit
// together: keys, the job queue, every service and the HTTP handler, built
// in order over an open tenancy core. `steeple serve`, the test kit, the
// benchmarks and the multi-process tests all build a Steeple with New, so
// they run the same shape; Tuning is the one hook for what differs (rates,
// poll intervals, the clock).
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"riverqueue.com/riverui"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/backup"
	"github.com/steeple-sms/steeple/closing"
	"github.com/steeple-sms/steeple/config"
	"github.com/steeple-sms/steeple/httpapi"
	"github.com/steeple-sms/steeple/inbox"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/mail"
	"github.com/steeple-sms/steeple/members"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/numbers"
	"github.com/steeple-sms/steeple/registration"
	"github.com/steeple-sms/steeple/schedule"
	"github.com/steeple-sms/steeple/secret"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
	"github.com/steeple-sms/steeple/tenancy"
	"github.com/steeple-sms/steeple/web"
	"github.com/steeple-sms/steeple/webhooks"
)

// Options say what to build a Steeple over.
type Options struct {
	// Config is the process's settings (config.Default() in tests). Its
	// Telnyx key selects real Telnyx; without one the built-in simulator is
	// started (App.Sim).
	Config config.Config
	// Tenancy is an open tenancy core: the registry (ready, see
	// tenancy.Registry.Status) and the tenant manager, which the caller
	// closes after App.Close. Nil: New opens it as Config says (OpenTenancy)
	// and Close closes it.
	Tenancy *tenancy.Tenancy
	// Keys encrypt church data and sign tokens; nil loads them as
	// Config.KeysFile says (on the embedded default, generating DataDir's
	// keys.json on first run).
	Keys *secret.Keys
	// PublicURL is where people and the provider reach this process (the
	// listener's address, known before New); empty: Config.PublicBase().
	PublicURL string
	// Logger logs (nil: discarded); Metrics collects metrics (nil: a new
	// registry, App.Metrics).
	Logger  *slog.Logger
	Metrics *prometheus.Registry
	// Notes are extra facts /readyz reports.
	Notes map[string]string
	// Tune adjusts the services' settings after they are read from Config.
	Tune func(*Tuning)
}

// Tuning is every service's settings, as read from Options.Config. Tune may
// change any of them before the services are built.
type Tuning struct {
	// Now is the clock of church data, accounts, schedules, numbers,
	// registration and welcome texts (nil: time.Now). Webhook timestamps and
	// the queue run on real time.
	Now          func() time.Time
	Auth         auth.Config
	Messaging    messaging.Config
	Schedule     schedule.Config
	Inbox        inbox.Config
	Webhooks     webhooks.Config
	Numbers      numbers.Config
	Registration registration.Config
	Closing      closing.Config
	Queue        jobs.Config
	// Telnyx is the provider's API client configuration (from Config; the
	// simulator's address when Config has no Telnyx key).
	Telnyx telnyx.Config
	// Sim are the simulator's options when Config has no Telnyx key.
	Sim telnyxsim.Options
	// Provider, if set, wraps the provider messages are sent through
	// (tests count sends per process).
	Provider func(messaging.Provider) messaging.Provider
	// AcquireTimeout bounds a request's wait for its church's database.
	AcquireTimeout time.Duration
	// ExportDir holds church exports prepared in the web app until
	// downloaded (DataDir/exports).
	ExportDir string
}

// App is a built Steeple: its services, queue and HTTP handler.
type App struct {
	Config       config.Config
	Tuning       Tuning
	Tenancy      *tenancy.Tenancy
	Keys         *secret.Keys
	Store        *store.Store
	Queue        *jobs.Queue
	Auth         *auth.Service
	Messaging    *messaging.Service
	Schedules    *schedule.Service
	Inbox        *inbox.Service
	Members      *members.Service
	Registration *registration.Service
	Numbers      *numbers.Service
	Webhooks     *webhooks.Service
	Closing      *closing.Service
	// API is the JSON API with webhooks, health, metrics and operators'
	// pages; Handler routes to it and to Options.Web.
	API *httpapi.Server
	// Web is the web app for church staff, served at "/".
	Web     *web.Handler
	Handler http.Handler
	Metrics *prometheus.Registry
	Logger  *slog.Logger
	// Sim is the built-in Telnyx simulator (nil with real Telnyx); SimURL
	// is its root (its API is SimURL + "/v2").
	Sim    *telnyxsim.Sim
	SimURL string
	// Instance is this process's random id, answered by /healthz in the
	// httpapi.InstanceHeader header.
	Instance string

	ops       *riverui.Handler // nil unless Config.OpsPassword is set
	stopSim   func()
	started   bool
	ownTenant bool // New opened Tenancy, so Close closes it
}

// TuningFromConfig reads every service's settings from cfg, with the
// public URL given.
func TuningFromConfig(cfg config.Config, publicURL string) Tuning {
	plans := map[string]steeple.Plan{}
	for name, p := range cfg.Plans {
		plans[name] = steeple.Plan{Name: name, MaxAdmins: p.MaxAdmins, MonthlySegments: p.MonthlySegments}
	}
	t := Tuning{Auth: auth.DefaultConfig(), Messaging: messaging.DefaultConfig(), Webhooks: webhooks.DefaultConfig(),
		Numbers: numbers.DefaultConfig(), Registration: registration.DefaultConfig(), AcquireTimeout: cfg.AcquireTimeout}
	t.Auth.PublicURL, t.Auth.Plans = publicURL, plans
	t.Auth.SignupMode, t.Auth.SignupsPerAddress, t.Auth.SignupsGlobal = cfg.Signup, cfg.SignupsPerAddress, cfg.SignupsGlobal
	m := &t.Messaging
	m.PublicURL, m.PerNumberRate, m.AccountRate, m.Plans = publicURL, cfg.SendRatePerNumber, cfg.SendRateAccount, plans
	m.RegisteredRate, m.UnregisteredDailyCap = cfg.SendRateRegistered, cfg.UnregisteredDailyCap
	t.Inbox.ProviderConfirmsKeywords, t.Inbox.PublicURL = cfg.ProviderConfirmsKeywords, publicURL
	t.Numbers.PublicURL, t.Numbers.ReleaseGrace = publicURL, cfg.NumberReleaseGrace
	t.Registration.PublicURL = publicURL
	t.Closing.Grace = cfg.DeleteGrace
	m.JobTimeout = cfg.SendJobTimeout
	// EventWorkers is left to New, which picks its default by the registry
	// it is given.
	t.Queue = jobs.Config{MaxWorkers: cfg.Workers, RescueAfter: cfg.JobRescueAfter}
	if cfg.SendJobTimeout < time.Minute {
		// Below River's 1-minute default for other jobs: bound those too, so
		// that none still running is taken for dead (Validate keeps the
		// send job's timeout under the rescue time).
		t.Queue.JobTimeout = cfg.SendJobTimeout
	}
	t.Telnyx = telnyx.Config{BaseURL: cfg.TelnyxBaseURL, APIKey: cfg.TelnyxAPIKey, MaxConns: ProviderConns(cfg.Workers)}
	t.ExportDir = filepath.Join(cfg.DataDir, "exports")
	return t
}

// ProviderConns is how many connections to the provider a process may
// hold: enough for every text its send workers, their lanes and the
// members' replies may have in a provider call at once. The client's
// default of 16 capped a process of 40 workers at 157 texts/s against a
// provider answering in 100 ms (docs/benchmarks.md, fifteenth pass).
func ProviderConns(workers int) int { return max(16, 2*workers) }

// New builds a Steeple over o.Tenancy, in the one order that works: keys,
// the provider (or simulator), the queue, then each service with what it
// needs as constructor arguments (each adds its workers and periodic jobs
// to the queue), then the queue is opened and the HTTP handler built.
// Nothing runs yet: Start runs the queue. Close undoes New.
func New(ctx context.Context, o Options) (_ *App, err error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = prometheus.NewRegistry()
	}
	own := o.Tenancy == nil
	if own {
		if o.Tenancy, err = OpenTenancy(ctx, &o.Config, log, o.Metrics); err != nil {
			return nil, err
		}
	}
	publicURL := o.PublicURL
	if publicURL == "" {
		publicURL = o.Config.PublicBase()
	}
	a := &App{Config: o.Config, Tenancy: o.Tenancy, Keys: o.Keys, Metrics: o.Metrics, Logger: log, stopSim: func() {}, ownTenant: own,
		Instance: steeple.NewID()}
	defer func() {
		if err != nil {
			a.stopSim()
			if own {
				o.Tenancy.Close()
			}
		}
	}()
	if a.Keys == nil {
		if a.Keys, err = LoadKeys(o.Config, log); err != nil {
			return nil, err
		}
	}
	t := TuningFromConfig(o.Config, publicURL)
	// The event workers' default follows the registry actually opened,
	// whatever the config's URL says.
	t.Queue.EventWorkers = config.EventWorkersFor(o.Config.EventWorkers, o.Tenancy.Registry.Backend() == steeple.BackendPostgres)
	t.Sim.Logger = log
	if o.Tune != nil {
		o.Tune(&t)
	}
	a.fillClock(&t)

	client, publicKey, err := a.provider(o.Config, t.Telnyx, t.Sim)
	if err != nil {
		return nil, err
	}
	if t.Webhooks.PublicKey == nil {
		if t.Webhooks.PublicKey, err = telnyx.ParsePublicKey(publicKey); err != nil {
			return nil, fmt.Errorf("STEEPLE_TELNYX_PUBLIC_KEY: %w", err)
		}
	}
	var provider messaging.Provider = messaging.TelnyxProvider{Client: client}
	if t.Provider != nil {
		provider = t.Provider(provider)
	}

	ten := o.Tenancy
	a.Store = store.New(a.Keys, t.Now)
	if t.Queue.Logger == nil {
		t.Queue.Logger = slog.New(log.Handler()).With("component", "queue")
	}
	a.Tuning = t
	if a.Queue, err = jobs.New(ten.Registry, t.Queue); err != nil {
		return nil, err
	}
	if t.Auth.Mail == nil {
		// SMTP when configured, else .eml files in the data directory's outbox.
		if t.Auth.Mail, err = NewMailer(o.Config, log); err != nil {
			return nil, err
		}
	}
	if t.Auth.Logger == nil {
		t.Auth.Logger = log
	}
	if t.Inbox.Mail == nil {
		t.Inbox.Mail = t.Auth.Mail
	}
	a.Auth = auth.New(ten, a.Store, a.Keys, t.Auth, t.Now)
	// Welcome texts are held for quiet hours on the inbox's clock, which
	// writes them; the send job checks again when it runs.
	welcomeNow := t.Inbox.Now
	if welcomeNow == nil {
		welcomeNow = time.Now
	}
	holdWelcome := func(ctx context.Context, h *tenancy.Handle) (time.Duration, error) {
		return schedule.QuietWait(ctx, a.Store, h, welcomeNow())
	}
	if a.Messaging, err = messaging.New(ten, a.Store, provider, a.Queue, holdWelcome, t.Messaging, log); err != nil {
		return nil, err
	}
	if a.Schedules, err = schedule.New(ten, a.Store, a.Messaging, a.Queue, t.Schedule, log); err != nil {
		return nil, err
	}
	if a.Inbox, err = inbox.New(ten, a.Store, a.Messaging, a.Queue, t.Inbox, log); err != nil {
		return nil, err
	}
	a.Members = members.New(a.Store, a.Inbox)
	if a.Registration, err = registration.New(ten, a.Store, client, a.Queue, t.Registration, log); err != nil {
		return nil, err
	}
	if a.Numbers, err = numbers.New(ten, a.Store, client, a.Queue, a.Registration, t.Numbers, log); err != nil {
		return nil, err
	}
	if a.Closing, err = closing.New(ten, a.Store, a.Numbers, a.Queue, t.Closing, log); err != nil {
		return nil, err
	}
	if a.Webhooks, err = webhooks.New(ten, a.Keys, a.Inbox, a.Messaging, a.Registration, a.Queue, t.Webhooks, a.Metrics, log); err != nil {
		return nil, err
	}
	if err := a.Queue.Open(); err != nil {
		return nil, err
	}
	if o.Config.OpsPassword != "" {
		if a.ops, err = a.Queue.UI(httpapi.OpsPrefix, log.With("component", "queue-ui")); err != nil {
			return nil, fmt.Errorf("queue UI: %w", err)
		}
	}
	notes := map[string]string{"telnyx": "live"}
	if a.Sim != nil {
		notes["telnyx"] = "simulator (no STEEPLE_TELNYX_API_KEY): texts are not delivered to phones"
		notes["simulator_url"] = a.SimURL // its control endpoints are under /sim (docs/api.md)
	}
	for k, v := range o.Notes {
		notes[k] = v
	}
	deps := httpapi.Deps{Tenancy: ten, Auth: a.Auth, Members: a.Members, Messaging: a.Messaging, Inbox: a.Inbox,
		Webhooks: a.Webhooks, Numbers: a.Numbers, Registration: a.Registration, Schedules: a.Schedules,
		Metrics: a.Metrics, Logger: log, AcquireTimeout: t.AcquireTimeout, Notes: notes,
		OpsUser: o.Config.OpsUser, OpsPassword: o.Config.OpsPassword, Instance: a.Instance}
	if a.ops != nil {
		deps.Ops = a.ops
	}
	a.API = httpapi.New(deps)
	a.Web, err = web.New(web.Deps{Tenancy: ten, Auth: a.Auth, Store: a.Store, Members: a.Members, Messaging: a.Messaging,
		Inbox: a.Inbox, Numbers: a.Numbers, Registration: a.Registration, Schedules: a.Schedules, Closing: a.Closing, Plans: t.Auth.Plans,
		Limits: web.Limits{UnregisteredRate: t.Messaging.PerNumberRate, UnregisteredDailyCap: t.Messaging.UnregisteredDailyCap,
			RegisteredRate: t.Messaging.RegisteredRate},
		AcquireTimeout: t.AcquireTimeout, Logger: log.With("component", "web"), Now: t.Now,
		Sim: a.Sim, WebhookURL: strings.TrimRight(publicURL, "/") + "/webhooks/telnyx", ExportDir: t.ExportDir})
	if err != nil {
		return nil, fmt.Errorf("web app: %w", err)
	}
	a.Handler = httpapi.AccessLog(log.With("component", "http"), route(a.API, a.Web))
	return a, nil
}

// fillClock gives every service without a clock of its own t.Now.
func (a *App) fillClock(t *Tuning) {
	if t.Now == nil {
		return
	}
	if t.Schedule.Now == nil {
		t.Schedule.Now = t.Now
	}
	if t.Messaging.Now == nil {
		t.Messaging.Now = t.Now
	}
	if t.Inbox.Now == nil {
		t.Inbox.Now = t.Now
	}
	if t.Numbers.Now == nil {
		t.Numbers.Now = t.Now
	}
	if t.Registration.Now == nil {
		t.Registration.Now = t.Now
	}
	if t.Closing.Now == nil {
		t.Closing.Now = t.Now
	}
}

// provider returns the Telnyx client and the key webhooks are signed with:
// real Telnyx as cfg says, or the built-in simulator, started here.
func (a *App) provider(cfg config.Config, tc telnyx.Config, so telnyxsim.Options) (*telnyx.Client, string, error) {
	if !cfg.Simulated() {
		return telnyx.New(tc), cfg.TelnyxPublicKey, nil
	}
	a.Sim = telnyxsim.New(so)
	root, stop, err := a.Sim.Start("127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("telnyx simulator: %w", err)
	}
	a.SimURL, a.stopSim = root, stop
	tc.BaseURL, tc.APIKey = root+"/v2", "simulated"
	return telnyx.New(tc), a.Sim.PublicKeyBase64(), nil
}

// route sends the API's paths to api and everything else to web.
func route(api, web http.Handler) http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/api/", "/webhooks/", "/media/", "/healthz", "/readyz", "/metrics", httpapi.OpsPrefix + "/", httpapi.OpsPrefix} {
		mux.Handle(p, api)
	}
	mux.Handle("/", web)
	return mux
}

// Start runs the job queue's workers (and the operators' queue pages) until
// Close or until ctx ends.
func (a *App) Start(ctx context.Context) error {
	if err := a.Queue.Start(ctx); err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	a.started = true
	if a.ops != nil {
		if err := a.ops.Start(ctx); err != nil {
			return fmt.Errorf("queue UI: %w", err)
		}
	}
	return nil
}

// Close undoes New in reverse: it waits for running jobs (until ctx ends;
// the queue retries those cut off), stops the simulator and, if New opened
// it, closes the tenancy.
func (a *App) Close(ctx context.Context) error {
	var err error
	if a.started {
		err = a.Queue.Stop(ctx)
		a.started = false
	}
	a.stopSim()
	if a.ownTenant {
		a.ownTenant = false
		a.Tenancy.Close()
	}
	return err
}

// OpenTenancy opens the registry and the tenant servers cfg names and makes
// sure the registry is usable: a brand-new registry is created on the
// spot; one that is behind this binary is refused until `steeple migrate`
// has run.
func OpenTenancy(ctx context.Context, cfg *config.Config, log *slog.Logger, metrics prometheus.Registerer) (*tenancy.Tenancy, error) {
	o := tenancy.OptionsFromConfig(cfg, store.Schema())
	o.Logger, o.Metrics = log, metrics
	ten, err := tenancy.Open(ctx, o)
	if err != nil {
		return nil, err
	}
	st, err := ten.Registry.Status(ctx)
	if err != nil {
		ten.Close()
		return nil, fmt.Errorf("reading registry schema: %w", err)
	}
	if id := backup.RestoreInProgress(ctx, ten.Registry.DB(), ten.Registry.Backend()); id != "" {
		ten.Close()
		return nil, fmt.Errorf("a restore of backup %s into this registry has not finished: run `steeple restore --from` that backup again to finish it", id)
	}
	switch {
	case st.Empty:
		if _, err := ten.Registry.Migrate(ctx); err != nil {
			ten.Close()
			return nil, err
		}
		log.Info("created a new registry", "where", RegistryWhere(cfg))
	case !st.Current():
		ten.Close()
		return nil, fmt.Errorf("the registry schema is at version %d but this binary needs %d (job queue behind: %v): run `steeple migrate` first",
			st.Version, st.Latest, st.QueuePending)
	}
	if err := ten.Prepare(ctx); err != nil {
		ten.Close()
		return nil, err
	}
	return ten, nil
}

// RegistryWhere names the registry for people: the PostgreSQL variable or
// the SQLite file.
func RegistryWhere(cfg *config.Config) string {
	if cfg.Postgres() {
		return "PostgreSQL (STEEPLE_DATABASE_URL)"
	}
	return tenancy.RegistryPath(cfg.DataDir)
}

// NewMailer sends Steeple's mail as cfg says: over SMTP when configured,
// else as .eml files in the data directory's outbox.
func NewMailer(cfg config.Config, log *slog.Logger) (mail.Sender, error) {
	return mail.New(mail.Config{SMTPURL: cfg.SMTPURL, From: cfg.MailFrom, OutboxDir: OutboxDir(cfg), Logger: log})
}

// OutboxDir is where mail goes without SMTP.
func OutboxDir(cfg config.Config) string { return filepath.Join(cfg.DataDir, "outbox") }

// Accounts builds the account service alone, over an open tenancy, with
// the settings and mail New would give it: for operator commands that
// invite admins without serving.
func Accounts(cfg config.Config, ten *tenancy.Tenancy, log *slog.Logger) (*auth.Service, *store.Store, error) {
	keys, err := LoadKeys(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	t := TuningFromConfig(cfg, cfg.PublicBase())
	if t.Auth.Mail, err = NewMailer(cfg, log); err != nil {
		return nil, nil, err
	}
	t.Auth.Logger = log
	st := store.New(keys, nil)
	return auth.New(ten, st, keys, t.Auth, nil), st, nil
}

// KeysPath is the keys file: cfg.KeysFile, or on the embedded default
// keys.json in the data directory.
func KeysPath(cfg config.Config) string {
	if cfg.KeysFile != "" {
		return cfg.KeysFile
	}
	return filepath.Join(cfg.DataDir, "keys.json")
}

// LoadKeys reads cfg.KeysFile, or on the embedded default the keys file in
// the data directory, generating it on first run.
func LoadKeys(cfg config.Config, log *slog.Logger) (*secret.Keys, error) {
	if cfg.KeysFile != "" {
		k, err := secret.Load(cfg.KeysFile)
		if err != nil {
			return nil, fmt.Errorf("STEEPLE_KEYS_FILE: %w", err)
		}
		return k, nil
	}
	path := filepath.Join(cfg.DataDir, "keys.json")
	k, created, err := secret.LoadOrCreate(path)
	if err != nil {
		return nil, fmt.Errorf("keys file %s: %w", path, err)
	}
	if created {
		log.Warn("generated new keys: back this file up — without it encrypted data cannot be read", "path", path)
	}
	return k, nil
}
