package httpapi

import (
	"net/http"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
)

// Passwords: forgotten (a mailed single-use link), reset with that link,
// and changed by the signed-in admin.
func (s *Server) routePasswords() {
	s.mux.HandleFunc("POST /api/v1/auth/password/forgot", s.forgotPassword)
	s.mux.HandleFunc("POST /api/v1/auth/password/reset", s.resetPassword)
	s.mux.HandleFunc("POST /api/v1/me/password", s.authed(s.changePassword))
}

// forgotPassword always answers 202 with the same body for a well-formed
// email, whether or not it is an admin anywhere.
func (s *Server) forgotPassword(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email string `json:"email"`
	}
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	err := s.deps.Auth.ForgotPassword(r.Context(), req.Email, clientIP(r))
	respond(s, w, r, http.StatusAccepted, map[string]any{"message": "if this email is an admin of a church on Steeple, a link to reset its password is on its way; it works once, for 1 hour"}, err)
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Token == "" {
		s.fail(w, r, steeple.FieldError("token", "is required"))
		return
	}
	church, err := s.deps.Auth.ResetPassword(r.Context(), req.Token, req.Password, clientIP(r))
	respond(s, w, r, http.StatusOK, map[string]any{"reset": true, "tenant": church}, err)
}

// changePassword answers with new tokens: the old refresh tokens of the
// admin are revoked.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, c *caller) {
	var req auth.ChangePasswordRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.deps.Auth.ChangePassword(r.Context(), c.h, c.admin, req, clientIP(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sessionBody{Tenant: res.Tenant, Session: res.Session})
}
