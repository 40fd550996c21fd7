// Package httpapi serves Steeple's HTTP interface: the JSON API, health and
// readiness probes, and metrics. Errors are mapped to HTTP in errors.go only.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/inbox"
	"github.com/steeple-sms/steeple/members"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/numbers"
	"github.com/steeple-sms/steeple/registration"
	"github.com/steeple-sms/steeple/schedule"
	"github.com/steeple-sms/steeple/tenancy"
	"github.com/steeple-sms/steeple/webhooks"
)

// Deps are what the handlers need, wired in main.
type Deps struct {
	Tenancy   *tenancy.Tenancy
	Auth      *auth.Service
	Members   *members.Service
	Messaging *messaging.Service
	Inbox     *inbox.Service
	Webhooks  *webhooks.Service
	Numbers   *numbers.Service
	// Registration is 10DLC registration.
	Registration *registration.Service
	// Schedules are scheduled and recurring broadcasts.
	Schedules *schedule.Service
	// Ops is River's web UI (served under OpsPrefix), for operators with
	// OpsUser and OpsPassword.
	Ops         http.Handler
	OpsUser     string
	OpsPassword string
	Metrics     prometheus.Gatherer
	// AcquireTimeout bounds a request's wait for its church's database.
	AcquireTimeout time.Duration
	Logger         *slog.Logger
	// Now is the clock (default time.Now); the operator password throttle uses it.
	Now func() time.Time
	// Notes are extra facts /readyz reports (e.g. that the Telnyx simulator is in use).
	Notes map[string]string
	// Instance is this process's random id, sent by /healthz as the
	// InstanceHeader: `steeple serve` asks its public URL for /healthz and
	// compares, to tell whether that URL reaches this very process.
	Instance string
}

// InstanceHeader carries Deps.Instance on /healthz answers.
const InstanceHeader = "X-Steeple-Instance"

// Server routes requests to handlers.
type Server struct {
	deps Deps
	mux  *http.ServeMux
	// orderLocks serialize number orders per church (tenant id → *sync.Mutex).
	orderLocks sync.Map
}

// New builds the HTTP handler.
func New(d Deps) *Server {
	if d.AcquireTimeout == 0 {
		d.AcquireTimeout = 5 * time.Second
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Server{deps: d, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(d.Metrics, promhttp.HandlerOpts{}))
	if d.Auth != nil {
		s.routeAccounts()
		s.routePasswords()
		s.routeAdmins()
		s.routeChurch()
		s.routeCompose()
	}
	if d.Members != nil {
		s.routeMembers()
		s.routeGroups()
	}
	if d.Messaging != nil {
		s.routeMessages()
		s.routeReports()
		s.routeMedia()
	}
	if d.Inbox != nil {
		s.routeConversations()
		s.routeKeywords()
	}
	if d.Webhooks != nil {
		s.routeWebhooks()
	}
	if d.Numbers != nil {
		s.routeNumbers()
	}
	if d.Registration != nil {
		s.routeRegistration()
	}
	if d.Schedules != nil {
		s.routeSchedules()
	}
	if d.Ops != nil {
		s.routeOps()
	}
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, steeple.Errorf(steeple.ENOTFOUND, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	return s
}

// now is the server's clock.
func (s *Server) now() time.Time { return s.deps.Now() }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSafetyHeaders(w, r)
	s.mux.ServeHTTP(w, r)
}

// healthz says the process is up; it touches no database.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if s.deps.Instance != "" {
		w.Header().Set(InstanceHeader, s.deps.Instance)
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz says whether the process can serve: registry reachable and its
// schema current.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	body := map[string]any{"status": "ready"}
	for k, v := range s.deps.Notes {
		body[k] = v
	}
	st, err := s.deps.Tenancy.Registry.Status(ctx)
	switch {
	case err != nil:
		s.deps.Logger.Warn("readiness: registry unreachable", "err", err)
		body["status"], body["registry"] = "unavailable", "unreachable"
		writeJSON(w, http.StatusServiceUnavailable, body)
		return
	case !st.Current():
		body["status"], body["registry"] = "unavailable", "schema behind: run `steeple migrate`"
		writeJSON(w, http.StatusServiceUnavailable, body)
		return
	}
	body["registry"] = "ok"
	body["registry_schema_version"] = st.Version
	writeJSON(w, http.StatusOK, body)
}
