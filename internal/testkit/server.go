package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/httpapi"
	"github.com/steeple-sms/steeple/inbox"
	"github.com/steeple-sms/steeple/jobs"
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
	"github.com/steeple-sms/steeple/webhooks"
)

// Server is the whole HTTP stack on a real listener over one backend, with
// the job queue running and the Telnyx simulator as the provider.
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
	Metrics      *prometheus.Registry
	Queue        *jobs.Queue
	Tenancy      *tenancy.Tenancy
	Auth         *auth.Service
	Store        *store.Store
	Keys         *secret.Keys
	KeysFile     secret.File // Keys in file form, for another process of the same test
	Clock        *Clock
	Backend      *Backend
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
	NoQueue      bool                       // do not start the job queue's workers
	// Welcome turns welcome texts on (entering or importing a member with
	// consent, START after STOP). Off by default, so that other tests count
	// only the texts they send themselves.
	Welcome bool
}

// NewServer starts the HTTP API over b with fresh keys and a movable clock
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
	if opt.Tenancy != nil {
		opt.Tenancy(&o)
	}
	ten := b.Open(t, o)
	keysFile := secret.Generate()
	keys, err := secret.New(keysFile)
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(keys, clock.Now)
	cfg := auth.DefaultConfig()
	cfg.Plans = map[string]steeple.Plan{"standard": {Name: "standard", MaxAdmins: 5}, "starter": {Name: "starter", MaxAdmins: 2}}
	if opt.Auth != nil {
		opt.Auth(&cfg)
	}
	svc := auth.New(ten, st, keys, cfg, clock.Now)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sim := telnyxsim.New(telnyxsim.Options{})
	simRoot, stopSim, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopSim)
	mc := messaging.DefaultConfig()
	mc.PerNumberRate, mc.AccountRate = 1000, 0
	mc.RetryBackoff = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}
	mc.Plans = cfg.Plans
	if opt.Messaging != nil {
		opt.Messaging(&mc)
	}
	msg := messaging.New(ten, st, messaging.TelnyxProvider{Client: telnyx.New(telnyx.Config{BaseURL: simRoot + "/v2", APIKey: "test"})}, mc, log)
	ic := inbox.Config{ProviderConfirmsKeywords: true}
	if opt.Inbox != nil {
		opt.Inbox(&ic)
	}
	ib := inbox.New(st, msg, ic, log)
	wc := webhooks.DefaultConfig()
	wc.PublicKey, wc.RetryEvery = sim.PublicKey(), 50*time.Millisecond
	if opt.Webhooks != nil {
		opt.Webhooks(&wc)
	}
	metrics := prometheus.NewRegistry()
	wh := webhooks.New(ten, keys, ib, msg, wc, metrics, log)
	nc := numbers.DefaultConfig()
	nc.Now, nc.OrderPollEvery = clock.Now, 50*time.Millisecond
	if opt.Numbers != nil {
		opt.Numbers(&nc)
	}
	client := telnyx.New(telnyx.Config{BaseURL: simRoot + "/v2", APIKey: "test"})
	nums := numbers.New(ten, client, nc, log)
	rc := registration.DefaultConfig()
	rc.Now = clock.Now
	if opt.Registration != nil {
		opt.Registration(&rc)
	}
	reg := registration.New(ten, st, client, rc, log)
	sched := schedule.New(ten, st, msg, schedule.Config{Now: clock.Now}, log)
	nums.OnNumberAdded(reg.NumberAdded)
	wh.SetRegistration(reg)
	workers := river.NewWorkers()
	msg.Register(workers)
	wh.Register(workers)
	nums.Register(workers)
	reg.Register(workers)
	sched.Register(workers)
	ib.Register(workers)
	q, err := jobs.New(ten.Registry, workers, jobs.Config{MaxWorkers: 8, EventWorkers: 4, Logger: log, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	msg.UseQueue(q)
	wh.UseQueue(q)
	mem := members.New(st)
	if opt.Welcome {
		ib.Use(ten, sched, q, clock.Now)
		mem.OnOptIn(ib.OptedIn)
		mem.OnImportOptIn(ib.OptedInPaced)
	}
	nums.UseQueue(q)
	sched.UseQueue(q)
	h := httpapi.New(httpapi.Deps{Tenancy: ten, Auth: svc, Members: mem, Messaging: msg, Inbox: ib, Webhooks: wh,
		Numbers: nums, Registration: reg, Schedules: sched, Metrics: metrics, Logger: log, AcquireTimeout: 5 * time.Second})
	hs := httptest.NewServer(h)
	msg.SetPublicURL(hs.URL)
	nums.SetPublicURL(hs.URL)
	reg.SetPublicURL(hs.URL)
	if !opt.NoQueue {
		ctx, cancel := context.WithCancel(context.Background())
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer scancel()
			_ = q.Stop(sctx)
			cancel()
		})
	}
	t.Cleanup(hs.Close)
	return &Server{URL: hs.URL, Sim: sim, SimURL: simRoot, Messaging: msg, Inbox: ib, Webhooks: wh, Numbers: nums, Registration: reg, Schedules: sched, Metrics: metrics, Queue: q, Tenancy: ten, Auth: svc, Store: st,
		Keys: keys, KeysFile: keysFile, Clock: clock, Backend: b}
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

// Signup creates a church with its owner and returns the signup answer.
func (s *Server) Signup(t testing.TB, church, email, password string) *Response {
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
