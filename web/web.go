// Package web is Steeple's web app for church staff: server-rendered pages
// (html/template, htmx for partial updates, Pico CSS), beside the JSON API on
// the same server. Handlers call the domain services directly and acquire a
// church's database the way the API's authenticated handlers do. Errors are
// mapped to pages in errors.go only.
package web

import (
	"context"
	"embed"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/closing"
	"github.com/steeple-sms/steeple/inbox"
	"github.com/steeple-sms/steeple/members"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/numbers"
	"github.com/steeple-sms/steeple/registration"
	"github.com/steeple-sms/steeple/schedule"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
	"github.com/steeple-sms/steeple/tenancy"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/app.css static/app.js static/vendor/*
var staticFS embed.FS

//go:embed locales/*.json
var localeFS embed.FS

// Deps are the services the pages use, built by the one wiring.
type Deps struct {
	Tenancy      *tenancy.Tenancy
	Auth         *auth.Service
	Store        *store.Store // read-only overviews for the home page
	Members      *members.Service
	Messaging    *messaging.Service
	Inbox        *inbox.Service
	Numbers      *numbers.Service
	Registration *registration.Service
	Schedules    *schedule.Service
	Closing      *closing.Service
	// Plans give each plan's monthly quota.
	Plans map[string]steeple.Plan
	// Limits describe the sending limits, for the home page's explanation.
	Limits Limits
	// AcquireTimeout bounds a request's wait for its church's database.
	AcquireTimeout time.Duration
	Logger         *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Sim is the built-in Telnyx simulator when the server runs on it (nil
	// with real Telnyx): the inbox then offers the pretend phone, whose
	// texts the simulator posts to WebhookURL.
	Sim        *telnyxsim.Sim
	WebhookURL string
	// ExportDir holds prepared church exports until downloaded or an hour
	// old (default: steeple-exports in the system's temporary folder).
	ExportDir string
}

// Limits are the messaging limits the home page explains.
type Limits struct {
	UnregisteredRate     float64 // texts per second from a number before 10DLC registration
	UnregisteredDailyCap int     // texts per day before registration (0: none)
	RegisteredRate       float64 // texts per second once registered
}

// Handler serves the web app.
type Handler struct {
	deps   Deps
	mux    *http.ServeMux
	pages  *pages
	static *assets
	tr     *translator
	h      http.Handler
	// checked are the sessions recently checked in their church's database,
	// trusted by pure computations without a church connection.
	checked checkedSessions
	// orderLocks make a church's one-number check and its order one step
	// in this process, as the API does.
	orderLocks sync.Map
}

// New builds the web app's handler.
func New(d Deps) (*Handler, error) {
	if d.AcquireTimeout == 0 {
		d.AcquireTimeout = 5 * time.Second
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.ExportDir == "" {
		d.ExportDir = filepath.Join(os.TempDir(), "steeple-exports")
	}
	st, err := loadAssets()
	if err != nil {
		return nil, err
	}
	tr, err := loadTranslator()
	if err != nil {
		return nil, err
	}
	pg, err := loadPages(st)
	if err != nil {
		return nil, err
	}
	h := &Handler{deps: d, mux: http.NewServeMux(), pages: pg, static: st, tr: tr}
	h.mux.HandleFunc("GET /static/{name}", h.serveStatic)
	h.routeSignup()
	h.routeSignin()
	h.routePassword()
	h.routeInvite()
	h.routeSignout()
	h.routeLanguage()
	h.routeHome()
	h.routeBroadcast()
	h.routeMessages()
	h.routeReports()
	h.routeMembers()
	h.routeMember()
	h.routeGroups()
	h.routeKeywords()
	h.routeInbox()
	h.routeSettings()
	h.routeExport()
	h.routeClose()
	h.routeAdmins()
	h.routeAccount()
	h.routeAudit()
	h.routeNumbers()
	h.routeRegistration()
	h.routeTemplates()

	h.routeImport()
	h.routeCompose()
	h.routeSchedules()
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, nil, errNotFound)
	})
	// Every unsafe request from another origin is refused (403): forms need
	// no tokens. Safe methods pass through.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, nil, errCrossOrigin)
	}))
	h.h = securityHeaders(cop.Handler(h.mux))
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.h.ServeHTTP(w, r) }

// contentSecurityPolicy allows no inline script or style and no framing.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// securityHeaders sets the headers every answer carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// acquire gets the church's handle within the acquire timeout.
func (h *Handler) acquire(ctx context.Context, tenantID string) (*tenancy.Handle, error) {
	ctx, cancel := context.WithTimeout(ctx, h.deps.AcquireTimeout)
	defer cancel()
	return h.deps.Tenancy.Manager.Acquire(ctx, tenantID)
}
