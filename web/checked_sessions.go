package web

import (
	"net/http"
	"sync"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/store"
)

// checkedFor is how long a session checked in its church's database is
// trusted by pure computations (the live counter) without checking again.
// Such an answer shows nothing of the church, so a session ended in
// another process (or by a password change) can at worst count characters
// for this long; signing out in this process forgets it at once.
const checkedFor = 2 * time.Minute

// maxChecked bounds the remembered sessions; when full, the expired ones
// are dropped, and if none has expired, all are (they are re-checked once).
const maxChecked = 10_000

// checkedSessions remembers the sessions this process checked recently.
// Sessions are kept by their hash, never as the cookie's value.
type checkedSessions struct {
	mu sync.Mutex
	m  map[string]checkedSession
}

type checkedSession struct {
	tenantID, adminID, lang string
	until                   time.Time
}

// remember records a session just checked in its church's database.
func (c *checkedSessions) remember(raw string, s checkedSession, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]checkedSession{}
	}
	if len(c.m) >= maxChecked {
		for k, v := range c.m {
			if !now.Before(v.until) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxChecked {
			clear(c.m)
		}
	}
	c.m[store.TokenHash(raw)] = s
}

// lookup returns a session checked recently enough.
func (c *checkedSessions) lookup(raw string, now time.Time) (checkedSession, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[store.TokenHash(raw)]
	if !ok || !now.Before(s.until) || s.tenantID != auth.WebSessionTenant(raw) {
		return checkedSession{}, false
	}
	return s, true
}

// forget drops one session, or with everywhere every session of its admin.
func (c *checkedSessions) forget(raw string, everywhere bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := store.TokenHash(raw)
	s, ok := c.m[key]
	delete(c.m, key)
	if !ok || !everywhere {
		return
	}
	for k, v := range c.m {
		if v.tenantID == s.tenantID && v.adminID == s.adminID {
			delete(c.m, k)
		}
	}
}

// sessionOnly wraps a pure computation that needs a signed-in admin but no
// church data: a session this process checked within checkedFor is
// trusted without taking a church connection; any other goes through
// authed once (which remembers it). The handler gets a view in the
// admin's language, without church details.
func (h *Handler) sessionOnly(next func(http.ResponseWriter, *http.Request, *view)) http.HandlerFunc {
	viaChurch := h.authed(func(w http.ResponseWriter, r *http.Request, s *session) { next(w, r, s.view) })
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil || auth.WebSessionTenant(c.Value) == "" {
			h.toSignIn(w, r)
			return
		}
		cs, ok := h.checked.lookup(c.Value, h.deps.Now())
		if !ok {
			viaChurch(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil {
				h.fail(w, r, nil, steeple.Errorf(steeple.ETOOLARGE, "the form is too large"))
				return
			}
		}
		v := h.newView(r, "")
		if supported(cs.lang) {
			v.Lang = cs.lang
		}
		next(w, r, v)
	}
}
