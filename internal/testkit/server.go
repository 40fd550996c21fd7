package testkit

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/config"
	"github.com/steeple-sms/steeple/httpapi"
	"github.com/steeple-sms/steeple/inbox"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/mail"
	"github.com/steeple-sms/steeple/members"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/numbers"
	"github.com/steeple-sms/steeple/registration"
	"github.com/steeple-sms/steeple/schedule"
	"github.com/steeple-sms/steeple/secret"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
	"github.com/steeple-sms/steeple/tenancy"
	"github.com/steeple-sms/steeple/webhooks"
)

// Server is the whole of Steeple, built by app.New as `steeple serve`
// builds it, on a real listener over one backend, with the job queue
// running and the Telnyx simulator as the provider.
type Server struct {
	URL          string
	Sim          *telnyxsim.Sim
	SimURL       string // the simulator's root; its API is SimURL + "/v2"
	Messaging    *messaging.Service
	Inbox        *inbox.Service
	Webhooks     *webhooks.Service
	Numbers      *numbers.Service
	Registration *registration.Service
	Schedules    *schedule.Service
	Members      *members.Service
	Metrics      *prometheus.Registry
	Queue        *jobs.Queue
	Tenancy      *tenancy.Tenancy
	Auth         *auth.Service
	Store        *store.Store
	Keys         *secret.Keys
	KeysFile     secret.File // Keys in file form, for another process of the same test
	Clock        *Clock
	Backend      *Backend
	App          *app.App
	opt          ServerOptions
	perTenant    int // the manager's MaxPerTenant
	// Mail is the SMTP server that receives the server's mail.
	Mail *SMTPServer
	mail mail.Sender
}

// Clock is a movable clock for tests, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Add moves the clock forward.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// ServerOptions tune NewServer.
type ServerOptions struct {
	Auth         func(*auth.Config)         // adjust the account service's configuration
	Tenancy      func(*tenancy.Options)     // adjust the tenancy options
	Messaging    func(*messaging.Config)    // adjust messaging (rates, retries)
	Inbox        func(*inbox.Config)        // adjust the inbox (keyword confirmations)
	Webhooks     func(*webhooks.Config)     // adjust webhook handling (key, receipt grace)
	Numbers      func(*numbers.Config)      // adjust number purchases (grace, polling)
	Registration func(*registration.Config) // adjust 10DLC registration (polling)
	Tune         func(*app.Tuning)          // adjust anything else, last
	NoQueue      bool                       // do not start the job queue's workers
	Logger       *slog.Logger               // where every service logs (default: warnings to stderr)
	// HTTP adjusts the HTTP server's limits. By default they are
	// httpapi.DefaultLimits without the per-client bounds, since every test
	// client shares one loopback address.
	HTTP func(*httpapi.Limits)
	// AcquireTimeout bounds a request's wait for its church's database (default 5 s).
	AcquireTimeout time.Duration
	// Welcome turns welcome texts on (entering or importing a member with
	// consent, START after STOP). The server is wired as in production
	// either way; without Welcome the inbox's NoWelcome setting is on, so
	// that other tests count only the texts they send themselves.
	Welcome bool
	// ProcessURL makes the server's own address its STEEPLE_PROCESS_URL, as
	// for one of several processes sharing the registry.
	ProcessURL bool
	// Keys are the keys file to serve with (default: freshly generated),
	// e.g. an earlier server's, to serve data restored from its backup.
	Keys *secret.File
}

// NewServer starts Steeple over b with fresh keys and a movable clock
// (starting at the real time). It stops when the test ends.
func NewServer(t testing.TB, b *Backend, so ...ServerOptions) *Server {
	t.Helper()
	clock := &Clock{t: time.Now().UTC()}
	o := b.Options()
	var opt ServerOptions
	if len(so) > 0 {
		opt = so[0]
	}
	o.Now = clock.Now
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	if opt.ProcessURL {
		o.ProcessURL = "http://" + ln.Addr().String()
	}
	// The tenant manager's series beside the app's, as serve has them.
	metrics := prometheus.NewRegistry()
	o.Metrics = metrics
	if opt.Tenancy != nil {
		opt.Tenancy(&o)
	}
	ten := b.Open(t, o)
	exportDir := t.TempDir()
	keysFile := secret.Generate()
	if opt.Keys != nil {
		keysFile = *opt.Keys
	}
	keys, err := secret.New(keysFile)
	if err != nil {
		t.Fatal(err)
	}
	smtpSrv := NewSMTPServer(t)
	sender, err := mail.New(mail.Config{SMTPURL: smtpSrv.URL(), From: "Steeple <no-reply@steeple.test>", RootCAs: smtpSrv.RootCAs})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	// Test churches' plans: few admins, no segment quota.
	cfg.Plans = map[string]config.Plan{"standard": {MaxAdmins: 5}, "starter": {MaxAdmins: 2}}
	cfg.TelnyxAPIKey = ""
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if opt.Logger != nil {
		log = opt.Logger
	}
	a, err := app.New(context.Background(), app.Options{Config: cfg, Tenancy: ten, Keys: keys, PublicURL: "http://" + ln.Addr().String(),
		Logger: log, Metrics: metrics, Tune: func(tu *app.Tuning) { tu.ExportDir = exportDir; tuneForTests(tu, clock, sender, opt) }})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	limits := httpapi.DefaultLimits()
	limits.MaxRequestsPerClient, limits.MaxWebhooksPerClient, limits.Metrics = 0, 0, a.Metrics
	if opt.HTTP != nil {
		opt.HTTP(&limits)
	}
	hs := httptest.NewUnstartedServer(nil)
	hs.Listener.Close()
	hs.Listener = ln
	hs.Config = httpapi.NewHTTPServer(a.Handler, limits)
	hs.Start()
	if !opt.NoQueue {
		ctx, cancel := context.WithCancel(context.Background())
		if err := a.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cancel)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = a.Close(sctx)
	})
	t.Cleanup(hs.Close)
	return &Server{URL: hs.URL, Sim: a.Sim, SimURL: a.SimURL, Messaging: a.Messaging, Inbox: a.Inbox, Webhooks: a.Webhooks,
		Numbers: a.Numbers, Registration: a.Registration, Schedules: a.Schedules, Members: a.Members, Metrics: a.Metrics,
		Queue: a.Queue, Tenancy: ten, Auth: a.Auth, Store: a.Store, Keys: keys, KeysFile: keysFile, Clock: clock, Backend: b, App: a, opt: opt, Mail: smtpSrv, mail: sender,
		perTenant: o.Manager.MaxPerTenant}
}

// Another builds a second Steeple over the server's church data, keys and
// clock, as another process (or this one after a restart) would: with the
// server's test settings, then tune's, sending to the provider at
// providerURL (the simulator's root, or a proxy in front of it; "" for
// the simulator itself). Its queue is open but not started; it is closed
// when the test ends.
func (s *Server) Another(t testing.TB, providerURL string, tune func(*app.Tuning)) *app.App {
	t.Helper()
	if providerURL == "" {
		providerURL = s.SimURL
	}
	cfg := s.App.Config
	cfg.TelnyxAPIKey, cfg.TelnyxBaseURL, cfg.TelnyxPublicKey = "test", providerURL+"/v2", s.Sim.PublicKeyBase64()
	a, err := app.New(context.Background(), app.Options{Config: cfg, Tenancy: s.Tenancy, Keys: s.Keys, PublicURL: s.URL,
		Logger: s.App.Logger, Tune: func(tu *app.Tuning) {
			tuneForTests(tu, s.Clock, s.mail, s.opt)
			if tune != nil {
				tune(tu)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Close(ctx)
	})
	return a
}

// tuneForTests is what a test server changes from production's settings:
// the movable clock, fast rates and polls, no periodic jobs (tests drive
// sweeps and ticks themselves), then the test's own adjustments.
func tuneForTests(tu *app.Tuning, clock *Clock, sender mail.Sender, opt ServerOptions) {
	tu.Now = clock.Now
	// Mail goes to the test's SMTP server. Tests sign up many churches from
	// one address and buy several numbers before registering; the tests of
	// those limits turn them on.
	tu.Auth.Mail = sender
	tu.Auth.SignupsPerAddress, tu.Auth.SignupsGlobal, tu.Auth.UnregisteredMaxNumbers = 0, 0, 0
	tu.Sim.Logger = nil // the simulator's complaints (a test's receipts refused) are not the test's
	tu.Messaging.PerNumberRate, tu.Messaging.AccountRate, tu.Messaging.UnregisteredDailyCap = 1000, 0, 0
	tu.Messaging.RetryBackoff = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}
	tu.Messaging.LookupIP = LookupIP
	tu.Inbox.ProviderConfirmsKeywords, tu.Inbox.NoWelcome = true, !opt.Welcome
	tu.Webhooks.RetryEvery = 50 * time.Millisecond
	tu.Numbers.OrderPollEvery = 50 * time.Millisecond
	tu.Numbers.ReleaseGrace = numbers.DefaultConfig().ReleaseGrace
	tu.Queue = jobs.Config{MaxWorkers: 8, EventWorkers: 4, PollInterval: 50 * time.Millisecond, NoPeriodicJobs: true}
	tu.AcquireTimeout = cmp.Or(opt.AcquireTimeout, 5*time.Second)
	for _, f := range []func(){
		func() { call(opt.Auth, &tu.Auth) },
		func() { call(opt.Messaging, &tu.Messaging) },
		func() { call(opt.Inbox, &tu.Inbox) },
		func() { call(opt.Webhooks, &tu.Webhooks) },
		func() { call(opt.Numbers, &tu.Numbers) },
		func() { call(opt.Registration, &tu.Registration) },
		func() { call(opt.Tune, tu) },
	} {
		f()
	}
}

// LookupIP is the test servers' resolver for media URLs (tests have no
// DNS): "localhost" and names under ".internal.test" resolve to internal
// addresses, every other name to a public one.
func LookupIP(_ context.Context, host string) ([]net.IPAddr, error) {
	switch {
	case host == "localhost":
		return []net.IPAddr{{IP: net.IPv4(127, 0, 0, 1)}}, nil
	case strings.HasSuffix(host, ".internal.test"):
		return []net.IPAddr{{IP: net.IPv4(93, 184, 215, 14)}, {IP: net.IPv4(10, 1, 2, 3)}}, nil
	case strings.HasSuffix(host, ".invalid"):
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return []net.IPAddr{{IP: net.IPv4(93, 184, 215, 14)}}, nil
}

func call[T any](f func(*T), v *T) {
	if f != nil {
		f(v)
	}
}

// Response is a decoded JSON answer.
type Response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

// Do sends a JSON request (body may be nil, a string sent as is, or a value
// to encode) with an optional bearer token, and decodes the answer.
func (s *Server) Do(t testing.TB, method, path, token string, body any) *Response {
	t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := &Response{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &r.Body)
	}
	return r
}

// Signup creates a church with its owner, verifies the owner's email by
// following the mailed link, and returns the signup answer.
func (s *Server) Signup(t testing.TB, church, email, password string) *Response {
	t.Helper()
	r := s.SignupUnverified(t, church, email, password)
	s.VerifyEmail(t, r)
	return r
}

// VerifyEmail follows the verification link mailed for a signup answer.
func (s *Server) VerifyEmail(t testing.TB, signup *Response) {
	t.Helper()
	var a SessionAnswer
	signup.Decode(t, &a)
	id := a.Tenant.ID
	token := s.Mail.WaitFor(t, "", "ev1."+id+".").Token()
	for _, m := range s.Mail.Mails() { // the newest link for this church
		if strings.Contains(m.Body(), "ev1."+id+".") {
			token = m.Token()
		}
	}
	if v := s.Do(t, "POST", "/api/v1/auth/verify-email", "", map[string]string{"token": token}); v.Status != http.StatusOK {
		t.Fatalf("verify email: %d %s", v.Status, v.Raw)
	}
}

// SignupUnverified creates a church with its owner and returns the signup
// answer; the owner's email is left unverified.
func (s *Server) SignupUnverified(t testing.TB, church, email, password string) *Response {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/signup", "", map[string]any{
		"church": map[string]string{"name": church, "timezone": "America/Chicago"},
		"admin":  map[string]string{"name": "Owner of " + church, "email": email, "password": password},
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("signup %s: %d %s", church, r.Status, r.Raw)
	}
	return r
}
