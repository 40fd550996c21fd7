package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"

	"github.com/steeple-sms/steeple"
)

// OpsPrefix is where River's web UI is served.
const OpsPrefix = "/ops/queue"

// routeOps mounts the operators' queue UI behind HTTP basic auth with the
// operator credential from configuration; without a password it is not
// served.
func (s *Server) routeOps() {
	if s.deps.OpsPassword == "" {
		off := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.fail(w, r, steeple.Errorf(steeple.ENOTFOUND, "the queue UI is off: set STEEPLE_OPS_PASSWORD"))
		})
		s.mux.Handle(OpsPrefix+"/", off)
		s.mux.Handle(OpsPrefix, off) // not a redirect to the 404
		return
	}
	guarded := s.operator(s.deps.Ops)
	s.mux.Handle(OpsPrefix+"/", guarded)
	s.mux.Handle(OpsPrefix, guarded)
}

// operator lets through requests carrying the operator's credential.
func (s *Server) operator(next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(s.deps.OpsUser + "\x00" + s.deps.OpsPassword))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		got := sha256.Sum256([]byte(user + "\x00" + pass))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="Steeple operators", charset="UTF-8"`)
			s.fail(w, r, steeple.Errorf(steeple.EUNAUTHORIZED, "operator credential required"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
