package httpapi

import (
	"net/http"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
)

func (s *Server) routeAccounts() {
	s.mux.HandleFunc("POST /api/v1/signup", s.signup)
	s.mux.HandleFunc("POST /api/v1/auth/login", s.login)
	s.mux.HandleFunc("POST /api/v1/auth/mfa", s.loginMFA)
	s.mux.HandleFunc("POST /api/v1/auth/refresh", s.refresh)
	s.mux.HandleFunc("POST /api/v1/auth/logout", s.logout)
	s.mux.HandleFunc("POST /api/v1/invitations/accept", s.acceptInvitation)
	s.mux.HandleFunc("POST /api/v1/auth/verify-email", s.verifyEmail)
	s.mux.HandleFunc("POST /api/v1/auth/verify-email/resend", s.authed(s.resendVerification))
	s.mux.HandleFunc("GET /api/v1/church/gate", s.authed(s.churchGate))
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

type tokenRequest struct {
	Token string `json:"token"`
}

func (s *Server) verifyEmail(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Token == "" {
		s.fail(w, r, steeple.FieldError("token", "is required"))
		return
	}
	church, err := s.deps.Auth.VerifyEmail(r.Context(), req.Token, clientIP(r))
	respond(s, w, r, http.StatusOK, map[string]any{"verified": true, "tenant": church}, err)
}

func (s *Server) resendVerification(w http.ResponseWriter, r *http.Request, c *caller) {
	deliver, err := s.deps.Auth.ResendVerification(r.Context(), c.h, c.admin, clientIP(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c.h.Release() // no church connection held while the mail server answers
	if err := deliver(r.Context()); err != nil {
		s.fail(w, r, steeple.Errorf(steeple.EUNAVAILABLE, "the mail could not be sent; try again in a few minutes"))
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"sent_to": c.admin.Email})
}

func (s *Server) churchGate(w http.ResponseWriter, r *http.Request, c *caller) {
	g, err := s.deps.Auth.ChurchGate(r.Context(), c.h)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"email_verified": g.VerifiedAt != nil, "awaiting_approval": g.AwaitingApproval && g.ApprovedAt == nil, "open": g.Open()})
}

// gateOpen refuses, with what to do, a send or purchase by a church whose
// email is not yet verified (or that awaits an operator's approval).
func (s *Server) gateOpen(w http.ResponseWriter, r *http.Request, c *caller) bool {
	if err := s.deps.Auth.RequireOpenGate(r.Context(), c.h); err != nil {
		s.fail(w, r, err)
		return false
	}
	return true
}
