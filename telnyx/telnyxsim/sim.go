// Package telnyxsim is a Telnyx-compatible simulator: the same /v2 paths,
// JSON shapes, error codes and rate-limit answers as Telnyx API v2 (see
// TELNYX.md), and Ed25519-signed webhooks posted back the way Telnyx posts
// them. It powers Steeple's tests and benchmarks, the embedded default
// (`steeple serve` without a Telnyx key) and `steeple sim`.
//
// A Sim is an http.Handler. Point the telnyx client at "<base>/v2":
//
//	sim := telnyxsim.New(telnyxsim.Options{})
//	base, stop, err := sim.Start("127.0.0.1:0")
//	client := telnyx.New(telnyx.Config{BaseURL: base + "/v2", APIKey: "any"})
//
// # API served under /v2
//
// POST /messages, GET /available_phone_numbers, POST /number_orders,
// GET /number_orders/{id}, GET /phone_numbers, GET /phone_numbers/{id},
// PATCH /phone_numbers/{id}/messaging, DELETE /phone_numbers/{id},
// POST /messaging_profiles. Any non-empty bearer key is accepted.
//
// 10DLC (camelCase fields, answers unwrapped as at Telnyx): POST /10dlc/brand,
// GET and PUT /10dlc/brand/{id}, POST /10dlc/campaignBuilder, GET and PUT
// /10dlc/campaign/{id}, POST /10dlc/phone_number_campaigns and
// GET /10dlc/phone_number_campaigns/{phoneNumber}. Brands, campaigns and
// assignments move through their lifecycles in the background, one step per
// RegistrationOutcome.Delay, posting a signed 10dlc.brand.update,
// 10dlc.campaign.update or 10dlc.phone_number.update per transition (number
// events go to the campaign's webhooks). A campaign needs a brand in OK; an
// assignment succeeds only for an owned number and a MNO_PROVISIONED
// campaign. PUT on a failed brand or campaign resubmits it. See
// ScriptRegistration and SendRegistrationWebhooks.
//
// Sends are validated like Telnyx does (40310 bad 'to', 40305 bad 'from',
// 40316 no content, 40317 more than 10 media, 40300 recipient opted out).
// After an accepted send, message.sent and then message.finalized are posted
// to the message's webhook_url (then webhook_failover_url), else to its
// messaging profile's URLs, as SetOutcome says. Deliveries run in the
// background; WaitIdle waits for them.
//
// Phone-number ids are numeric strings, as at Telnyx, and differ from both the
// order id and the ids of the order's lines: find a number's id with
// GET /phone_numbers?filter[phone_number]=… before updating or releasing it.
//
// # Control endpoints under /sim (no authentication; for local use)
//
//	GET  /sim/public-key   {"public_key":"<base64 Ed25519 key>"}: the webhook key
//	GET  /sim/messages     {"data":[SentMessage…]}; ?to=+1… filters by recipient
//	POST /sim/inbound      {"from","to","text","media":[{url,content_type,size,hash_sha256}],"webhook_url"}:
//	                       deliver a message.received webhook (see Sim.Inbound)
//	POST /sim/outcome      {"to":"+1…" or "*","kind":"deliver|fail|never_finalize",
//	                       "code":"40008","status":"delivery_failed","delay":"2s"} (see Sim.SetOutcome)
//	POST /sim/registration/outcome {"kind":"brand|campaign|assignment","result":"approve|reject|stall",
//	                       "reasons":["…"],"delay":"50ms","reject_at":"TELNYX_FAILED"} (see Sim.ScriptRegistration)
//	POST /sim/registration/webhooks {"enabled":false}: drop (or resume) 10DLC webhooks
//	GET  /sim/registrations {"brands":[Brand…],"campaigns":[Campaign…],"assignments":[NumberAssignment…]}
//	POST /sim/reset        forget messages, webhooks, outcomes, opt-outs, numbers, registrations and faults
package telnyxsim

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configures a Sim. Zero fields take the defaults noted.
type Options struct {
	// Clock stamps messages, events, signatures and order progress
	// (default time.Now). Delays between webhooks still use real time.
	Clock func() time.Time
	// Logger receives delivery failures and debug traces (default: discard).
	Logger *slog.Logger
	// WebhookTimeout bounds each webhook POST (default 2s, as Telnyx).
	WebhookTimeout time.Duration
	// WebhookBackoff is the wait after a failed attempt, times the attempt
	// number (default 50ms; Telnyx waits longer).
	WebhookBackoff time.Duration
	// History is how many recent sends and webhook attempts Messages and
	// Webhooks keep (default 10,000), so a long run or a benchmark does not
	// grow without bound. CountTo counts every send regardless.
	History int
}

// Sim is a running simulator. It is safe for concurrent use.
type Sim struct {
	clock   func() time.Time
	log     *slog.Logger
	backoff time.Duration
	history int
	pub     ed25519.PublicKey
	priv    ed25519.PrivateKey
	mux     *http.ServeMux
	hc      *http.Client

	ctx    context.Context // cancelled by Close: stops deliveries
	cancel context.CancelFunc

	mu         sync.Mutex
	messages   []SentMessage
	sentTo     map[string]int // sends per destination, never trimmed
	sentFrom   map[string]int // sends per sending number, never trimmed
	outcomes   map[string]Outcome
	optedOut   map[string]bool
	noKeywords bool // the profile's opt-out management is off
	webhooks   []DeliveredWebhook
	pending    int
	idle       chan struct{} // closed when pending drops to 0
	rateLimit  int
	window     int64 // Unix second of the current rate window
	windowUsed int
	down       bool
	sendDelay  time.Duration // how long each send waits before its answer
	failN      int
	failStatus int
	failCode   string
	failRoute  string // "METHOD /path-prefix" the failures are limited to ("" for all)
	numberState
	tenDLCState
}

// New returns a simulator with a fresh Ed25519 key pair.
func New(opts Options) *Sim {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.WebhookTimeout <= 0 {
		opts.WebhookTimeout = 2 * time.Second
	}
	if opts.WebhookBackoff <= 0 {
		opts.WebhookBackoff = 50 * time.Millisecond
	}
	if opts.History <= 0 {
		opts.History = 10_000
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic("telnyxsim: generate key: " + err.Error()) // crypto/rand does not fail
	}
	s := &Sim{
		clock:   opts.Clock,
		log:     opts.Logger,
		backoff: opts.WebhookBackoff,
		history: opts.History,
		pub:     pub,
		priv:    priv,
		hc:      &http.Client{Timeout: opts.WebhookTimeout},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.resetLocked()
	s.routes()
	return s
}

func (s *Sim) routes() {
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /v2/messages", s.api(s.handleSendMessage))
	s.mux.HandleFunc("GET /v2/available_phone_numbers", s.api(s.handleSearchNumbers))
	s.mux.HandleFunc("POST /v2/number_orders", s.api(s.handleOrderNumbers))
	s.mux.HandleFunc("GET /v2/number_orders/{id}", s.api(s.handleGetOrder))
	s.mux.HandleFunc("GET /v2/phone_numbers", s.api(s.handleListNumbers))
	s.mux.HandleFunc("GET /v2/phone_numbers/{id}", s.api(s.handleGetNumber))
	s.mux.HandleFunc("PATCH /v2/phone_numbers/{id}/messaging", s.api(s.handleUpdateMessaging))
	s.mux.HandleFunc("DELETE /v2/phone_numbers/{id}", s.api(s.handleReleaseNumber))
	s.mux.HandleFunc("POST /v2/messaging_profiles", s.api(s.handleCreateProfile))
	s.routeTenDLC()
	s.mux.HandleFunc("/v2/", s.api(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "10005", "Resource not found", "No route for "+r.Method+" "+r.URL.Path, "")
	}))
	s.routeControl()
}

// ServeHTTP serves the simulated API and the /sim control endpoints.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// api wraps a /v2 handler with what every Telnyx call goes through: outage
// mode, injected failures and the bearer key.
func (s *Sim) api(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		down := s.down
		var status int
		var code string
		if !down && s.failN > 0 && strings.HasPrefix(r.Method+" "+r.URL.Path, s.failRoute) {
			s.failN--
			status, code = s.failStatus, s.failCode
		}
		s.mu.Unlock()
		switch {
		case down:
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, "10007", "Service unavailable", "The simulator is in outage mode.", "")
		case status != 0:
			if status == http.StatusTooManyRequests {
				setRateHeaders(w, 0, 0, 1)
			}
			writeError(w, status, code, http.StatusText(status), "Injected by FailNext.", "")
		case !hasBearer(r):
			writeError(w, http.StatusUnauthorized, "10009", "Authentication failed", "Missing or malformed bearer API key.", "")
		default:
			next(w, r)
		}
	}
}

// trim keeps the last n entries of a history slice once it has grown to
// twice that, so appends stay amortized O(1).
func trim[T any](s []T, n int) []T {
	if len(s) <= 2*n {
		return s
	}
	return append([]T(nil), s[len(s)-n:]...)
}

// last returns a copy of the last n entries of s.
func last[T any](s []T, n int) []T {
	return append([]T(nil), s[max(len(s)-n, 0):]...)
}

func hasBearer(r *http.Request) bool {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && strings.TrimSpace(key) != ""
}

// PublicKey returns the key webhooks are signed with.
func (s *Sim) PublicKey() ed25519.PublicKey { return s.pub }

// PublicKeyBase64 returns PublicKey as the Telnyx portal shows it.
func (s *Sim) PublicKeyBase64() string { return base64.StdEncoding.EncodeToString(s.pub) }

// Start listens on addr (e.g. "127.0.0.1:0") and serves the simulator. It
// returns the root URL (append "/v2" for the API) and a stop function that
// shuts the server down and stops webhook deliveries.
func (s *Sim) Start(addr string) (baseURL string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("telnyxsim: serve", "err", err)
		}
	}()
	tcp := ln.Addr().(*net.TCPAddr)
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
			s.Close()
		})
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port)), stop, nil
}

// Close stops webhook deliveries in flight and waits for them to end. The
// handler keeps answering, but later deliveries fail at once.
func (s *Sim) Close() {
	s.cancel()
	_ = s.WaitIdle(context.Background())
}

// Reset forgets sent messages, delivered webhooks, outcomes, opt-outs, owned
// numbers, orders, profiles, the order delay, the rate limit, injected
// faults and 10DLC brands, campaigns, assignments and their settings; 10DLC
// lifecycles in progress stop at their next step. Deliveries
// already in flight still finish and are recorded.
func (s *Sim) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

func (s *Sim) resetLocked() {
	s.messages = nil
	s.sentTo = map[string]int{}
	s.sentFrom = map[string]int{}
	s.webhooks = nil
	s.outcomes = map[string]Outcome{}
	s.optedOut = map[string]bool{}
	s.rateLimit, s.window, s.windowUsed = 0, 0, 0
	s.down = false
	s.sendDelay = 0
	s.failN, s.failStatus, s.failCode, s.failRoute = 0, 0, "", ""
	s.numberState = newNumberState()
	s.tenDLCState = newTenDLCState()
}

// SetRateLimit caps accepted sends per second of the sim clock; 0 removes the
// cap. Excess sends answer 429, code 10011, with x-ratelimit-* headers.
func (s *Sim) SetRateLimit(perSecond int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimit, s.window, s.windowUsed = max(perSecond, 0), 0, 0
}

// SetDown switches outage mode: while down, every /v2 call answers 503.
func (s *Sim) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// SetSendDelay makes every send wait d before it is answered, as a slow
// provider does; 0 answers at once.
func (s *Sim) SetSendDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendDelay = max(d, 0)
}

// FailNext makes the next n /v2 calls, whatever they are, answer status with
// Telnyx error code (e.g. 500 and "10007", or 400 and "40318").
func (s *Sim) FailNext(n, status int, code string) { s.FailNextOn("", n, status, code) }

// FailNextOn is FailNext for the calls whose "METHOD /path" starts with
// route (e.g. "PATCH /v2/phone_numbers/"); other calls are answered as
// usual.
func (s *Sim) FailNextOn(route string, n, status int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failStatus, s.failCode, s.failRoute = n, status, code, route
}

// OptOut records a provider block rule for phone: sends to it fail with 40300
// until OptIn (or an inbound START) lifts it. Blocks are per recipient number;
// the simulator does not separate messaging profiles.
func (s *Sim) OptOut(phone string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.optedOut[phone] = true
}

// OptIn lifts phone's block rule.
func (s *Sim) OptIn(phone string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.optedOut, phone)
}

// SetKeywordHandling turns the provider's own STOP/START/HELP handling on
// (the default, as Telnyx on long codes) or off, as for a messaging profile
// whose opt-out management is disabled: then an inbound keyword neither
// blocks nor lifts a block, and no autoresponse_type is set.
func (s *Sim) SetKeywordHandling(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noKeywords = !on
}

// OptedOut reports whether phone has a block rule.
func (s *Sim) OptedOut(phone string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.optedOut[phone]
}

// takeRate counts one send against the rate limit. It reports whether the send
// may go ahead and the values for the x-ratelimit-* headers (limit 0: no cap).
func (s *Sim) takeRate(now time.Time) (ok bool, limit, remaining, reset int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rateLimit == 0 {
		return true, 0, 0, 0
	}
	if sec := now.Unix(); sec != s.window {
		s.window, s.windowUsed = sec, 0
	}
	if s.windowUsed >= s.rateLimit {
		return false, s.rateLimit, 0, 1
	}
	s.windowUsed++
	return true, s.rateLimit, s.rateLimit - s.windowUsed, 1
}

func setRateHeaders(w http.ResponseWriter, limit, remaining, reset int) {
	w.Header().Set("x-ratelimit-limit", strconv.Itoa(limit))
	w.Header().Set("x-ratelimit-remaining", strconv.Itoa(remaining))
	w.Header().Set("x-ratelimit-reset", strconv.Itoa(reset))
}
