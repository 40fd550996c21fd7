package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"sync"
	"time"

	"github.com/steeple-sms/steeple"
)

// OpsPrefix is where River's web UI is served.
const OpsPrefix = "/ops/queue"

// Operator password throttling: after opsFreeFailures wrong credentials in a
// row from one address, that address is locked out for 1 s, then 2 s, 4 s…
// up to opsMaxLockout; while locked out no credential is even checked. A
// failure streak is forgotten opsForgetAfter after its last failure.
const (
	opsFreeFailures = 5
	opsMaxLockout   = 15 * time.Minute
	opsForgetAfter  = time.Hour
	opsMaxTracked   = 10000 // addresses remembered at once, to bound memory
)

// routeOps mounts the operators' queue UI behind HTTP basic auth with the
// operator credential from configuration; without a password it is not
// served. Cross-origin browser requests that change anything are refused
// (a page elsewhere must not use an operator's saved credential).
func (s *Server) routeOps() {
	if s.deps.OpsPassword == "" {
		off := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.fail(w, r, steeple.Errorf(steeple.ENOTFOUND, "the queue UI is off: set STEEPLE_OPS_PASSWORD"))
		})
		s.mux.Handle(OpsPrefix+"/", off)
		s.mux.Handle(OpsPrefix, off) // not a redirect to the 404
		return
	}
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, steeple.Errorf(steeple.EFORBIDDEN, "cross-origin request refused"))
	}))
	guarded := cop.Handler(s.operator(s.deps.Ops))
	s.mux.Handle(OpsPrefix+"/", guarded)
	s.mux.Handle(OpsPrefix, guarded)
}

// operator lets through requests carrying the operator's credential, and
// throttles addresses that keep getting it wrong.
func (s *Server) operator(next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(s.deps.OpsUser + "\x00" + s.deps.OpsPassword))
	th := &opsThrottle{now: s.now, streaks: map[string]*opsStreak{}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := clientGroup(r)
		if wait := th.lockedFor(ip); wait > 0 {
			s.fail(w, r, &steeple.Error{Code: steeple.ETOOMANY, RetryAfter: wait,
				Message: "too many wrong operator credentials from your address; try again later"})
			return
		}
		user, pass, ok := r.BasicAuth()
		got := sha256.Sum256([]byte(user + "\x00" + pass))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			th.failed(ip)
			w.Header().Set("WWW-Authenticate", `Basic realm="Steeple operators", charset="UTF-8"`)
			s.fail(w, r, steeple.Errorf(steeple.EUNAUTHORIZED, "operator credential required"))
			return
		}
		th.succeeded(ip)
		next.ServeHTTP(w, r)
	})
}

// opsThrottle remembers each address's streak of wrong operator credentials.
type opsThrottle struct {
	now     func() time.Time
	mu      sync.Mutex
	streaks map[string]*opsStreak
}

type opsStreak struct {
	failures int
	last     time.Time // the latest failure
	until    time.Time // locked out until then
}

// lockedFor is how long ip must still wait, or 0.
func (t *opsThrottle) lockedFor(ip string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.streaks[ip]
	if st == nil {
		return 0
	}
	now := t.now()
	if now.Sub(st.last) > opsForgetAfter {
		delete(t.streaks, ip)
		return 0
	}
	return max(st.until.Sub(now), 0)
}

// failed counts a wrong credential from ip and locks it out once past the
// free failures.
func (t *opsThrottle) failed(ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	st := t.streaks[ip]
	if st == nil || now.Sub(st.last) > opsForgetAfter {
		if len(t.streaks) >= opsMaxTracked {
			t.forgetIdle(now)
		}
		st = &opsStreak{}
		t.streaks[ip] = st
	}
	st.failures++
	st.last = now
	if over := st.failures - opsFreeFailures; over >= 0 {
		lock := opsMaxLockout
		if over < 20 {
			lock = min(time.Second<<over, opsMaxLockout)
		}
		st.until = now.Add(lock)
	}
}

// succeeded ends ip's streak.
func (t *opsThrottle) succeeded(ip string) {
	t.mu.Lock()
	delete(t.streaks, ip)
	t.mu.Unlock()
}

// forgetIdle drops streaks that are not locking anyone out; if every one
// is, it drops them all rather than grow without bound.
func (t *opsThrottle) forgetIdle(now time.Time) {
	for ip, st := range t.streaks {
		if !now.Before(st.until) {
			delete(t.streaks, ip)
		}
	}
	if len(t.streaks) >= opsMaxTracked {
		clear(t.streaks)
	}
}
