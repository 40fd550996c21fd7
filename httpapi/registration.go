package httpapi

import (
	"net/http"

	"github.com/steeple-sms/steeple/registration"
)

func (s *Server) routeRegistration() {
	s.mux.HandleFunc("GET /api/v1/registration", s.authed(s.manager(s.getRegistration)))
	s.mux.HandleFunc("POST /api/v1/registration", s.authed(s.manager(s.submitRegistration)))
}

func (s *Server) getRegistration(w http.ResponseWriter, r *http.Request, c *caller) {
	st, err := s.deps.Registration.Get(r.Context(), c.h)
	respond(s, w, r, http.StatusOK, st, err)
}

func (s *Server) submitRegistration(w http.ResponseWriter, r *http.Request, c *caller) {
	var req registration.SubmitRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.deps.Registration.Submit(r.Context(), c.h, c.admin, clientIP(r), req)
	respond(s, w, r, http.StatusAccepted, st, err)
}
