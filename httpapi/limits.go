package httpapi

import (
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steeple-sms/steeple"
)

// Limits bound what one client can make the HTTP server hold: how long it may
// take to send a request, and how many requests one address may have in
// flight. They are chosen so that the largest allowed upload (a 20 MiB member
// CSV) still arrives over a slow office line.
type Limits struct {
	// ReadHeaderTimeout bounds the wait for a request's headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout time.Duration
	// WriteTimeout bounds a request from the end of its headers to the end of
	// its answer (Go starts it there), so it must exceed ReadTimeout.
	WriteTimeout time.Duration
	// IdleTimeout closes a kept-alive connection with no request for this long.
	IdleTimeout time.Duration
	// MaxRequestsPerClient bounds the requests one client address has in
	// flight (webhooks apart); beyond it the answer is 429. 0: no bound.
	MaxRequestsPerClient int
	// MaxWebhooksPerClient is the same bound for POST /webhooks/..., counted
	// apart so that a busy provider never competes with the API for one
	// address's share, nor the API with it. 0: no bound.
	MaxWebhooksPerClient int
	// Metrics, when set, receives the in-flight gauge and the refusal counter.
	Metrics prometheus.Registerer
}

// DefaultLimits are the limits `steeple serve` uses unless configured.
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout:    10 * time.Second,
		ReadTimeout:          2 * time.Minute, // 20 MiB at ~1.5 Mbit/s
		WriteTimeout:         4 * time.Minute, // the read, an import of 10,000 rows, the answer
		IdleTimeout:          90 * time.Second,
		MaxRequestsPerClient: 32,
		MaxWebhooksPerClient: 256,
	}
}

// NewHTTPServer is the http.Server Steeple serves with: handler behind the
// per-client bound, with the timeouts of l. Zero timeouts take the defaults.
func NewHTTPServer(handler http.Handler, l Limits) *http.Server {
	d := DefaultLimits()
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = d.ReadHeaderTimeout
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = d.ReadTimeout
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = d.WriteTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = d.IdleTimeout
	}
	return &http.Server{
		Handler:           newClientLimiter(handler, l),
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
}

// clientLimiter counts the requests each client address has in flight and
// refuses those beyond the bound with 429 and Retry-After. The bound applies
// from the moment the headers are in, so a client sending bodies slowly holds
// at most its share of the server's goroutines and sockets.
type clientLimiter struct {
	next     http.Handler
	max      int
	maxHooks int

	mu       sync.Mutex
	inFlight map[clientKey]int

	gauge   prometheus.Gauge
	refused prometheus.Counter
}

type clientKey struct {
	addr    string
	webhook bool
}

func newClientLimiter(next http.Handler, l Limits) *clientLimiter {
	c := &clientLimiter{next: next, max: l.MaxRequestsPerClient, maxHooks: l.MaxWebhooksPerClient,
		inFlight: map[clientKey]int{},
		gauge: prometheus.NewGauge(prometheus.GaugeOpts{Name: "steeple_http_requests_in_flight",
			Help: "HTTP requests being read or answered."}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{Name: "steeple_http_client_limited_total",
			Help: "Requests refused with 429 because their client address had too many in flight."}),
	}
	if l.Metrics != nil {
		l.Metrics.MustRegister(c.gauge, c.refused)
	}
	return c
}

func (c *clientLimiter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSafetyHeaders(w, r)
	k := clientKey{addr: clientGroup(r), webhook: strings.HasPrefix(r.URL.Path, "/webhooks/")}
	limit := c.max
	if k.webhook {
		limit = c.maxHooks
	}
	c.mu.Lock()
	if limit > 0 && c.inFlight[k] >= limit {
		c.mu.Unlock()
		c.refused.Inc()
		w.Header().Set("Connection", "close")
		Error(w, r, slog.New(slog.DiscardHandler), &steeple.Error{Code: steeple.ETOOMANY, RetryAfter: time.Second,
			Message: "too many requests at once from your address; try again shortly"})
		return
	}
	c.inFlight[k]++
	c.mu.Unlock()
	c.gauge.Inc()
	defer func() {
		c.gauge.Dec()
		c.mu.Lock()
		if c.inFlight[k]--; c.inFlight[k] == 0 {
			delete(c.inFlight, k)
		}
		c.mu.Unlock()
	}()
	c.next.ServeHTTP(w, r)
}

// setSafetyHeaders marks every answer as not to be sniffed into another
// type, and API answers (tokens, members' names and phones) and the
// operators' queue as not to be stored by browsers or proxies.
func setSafetyHeaders(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, OpsPrefix) {
		h.Set("Cache-Control", "no-store")
	}
}
