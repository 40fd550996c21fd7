package httpapi

import (
	"net/http"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/messaging"
)

// maxComposeText bounds the text POST /api/v1/compose/count explains: ten
// UCS-2 parts are 670 units, so anything much longer is refused as a send
// anyway; the bound keeps the answer (one entry per forcing character) small.
const maxComposeText = 5000

func (s *Server) routeCompose() {
	s.mux.HandleFunc("POST /api/v1/compose/count", s.signedIn(s.composeCount))
}

// signedIn wraps a handler that needs a valid access token but no church
// database: it never acquires a handle, so a live counter typed into by
// many admins costs no connections.
func (s *Server) signedIn(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || raw == "" {
			s.fail(w, r, steeple.Errorf(steeple.EUNAUTHORIZED, "missing bearer token"))
			return
		}
		if _, err := s.deps.Auth.Authenticate(strings.TrimSpace(raw)); err != nil {
			s.fail(w, r, err)
			return
		}
		next(w, r)
	}
}

// composeCount explains a text's characters, encoding and parts, the
// characters forcing UCS-2 and the GSM-7 look-alike rewrite.
func (s *Server) composeCount(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Text string `json:"text"`
	}
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if len([]rune(req.Text)) > maxComposeText {
		s.fail(w, r, steeple.FieldError("text", "is longer than 5000 characters"))
		return
	}
	writeJSON(w, http.StatusOK, messaging.CountText(req.Text))
}
