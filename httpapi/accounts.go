package httpapi

import (
	"net/http"

	"github.com/steeple-sms/steeple/auth"
)

func (s *Server) routeAccounts() {
	s.mux.HandleFunc("POST /api/v1/signup", s.signup)
	s.mux.HandleFunc("POST /api/v1/auth/login", s.login)
	s.mux.HandleFunc("POST /api/v1/auth/mfa", s.loginMFA)
	s.mux.HandleFunc("POST /api/v1/auth/refresh", s.refresh)
	s.mux.HandleFunc("POST /api/v1/auth/logout", s.logout)
	s.mux.HandleFunc("POST /api/v1/invitations/accept", s.acceptInvitation)
}

// sessionBody is the shape of every answer that carries tokens.
type sessionBody struct {
	Tenant *auth.Church `json:"tenant,omitempty"`
	*auth.Session
}

func (s *Server) signup(w http.ResponseWriter, r *http.Request) {
	var req auth.SignupRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	t, sess, err := s.deps.Auth.Signup(r.Context(), req, clientIP(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, sessionBody{Tenant: &auth.Church{ID: t.ID, Name: t.Name}, Session: sess})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req auth.LoginRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.deps.Auth.Login(r.Context(), req, clientIP(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeLoginResult(w, http.StatusOK, res)
}

// writeLoginResult answers with tokens, an MFA challenge, or a choice of churches.
func writeLoginResult(w http.ResponseWriter, status int, res *auth.LoginResult) {
	switch {
	case res.Churches != nil:
		writeJSON(w, http.StatusOK, map[string]any{"churches": res.Churches})
	case res.MFARequired:
		writeJSON(w, http.StatusOK, map[string]any{"mfa_required": true, "mfa_token": res.MFAToken, "tenant": res.Tenant})
	default:
		writeJSON(w, status, sessionBody{Tenant: res.Tenant, Session: res.Session})
	}
}

func (s *Server) loginMFA(w http.ResponseWriter, r *http.Request) {
	var req auth.MFARequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.deps.Auth.CompleteMFA(r.Context(), req, clientIP(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeLoginResult(w, http.StatusOK, res)
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	var req refreshRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	sess, err := s.deps.Auth.Refresh(r.Context(), req.RefreshToken)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sess)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	var req refreshRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.deps.Auth.Logout(r.Context(), req.RefreshToken, clientIP(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) acceptInvitation(w http.ResponseWriter, r *http.Request) {
	var req auth.AcceptRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.deps.Auth.AcceptInvitation(r.Context(), req, clientIP(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeLoginResult(w, http.StatusCreated, res)
}
