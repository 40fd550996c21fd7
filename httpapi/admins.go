package httpapi

import (
	"net/http"
	"strconv"

	"github.com/steeple-sms/steeple"
)

func (s *Server) routeAdmins() {
	s.mux.HandleFunc("GET /api/v1/me", s.authed(s.me))
	s.mux.HandleFunc("PATCH /api/v1/me", s.authed(s.patchMe))
	s.mux.HandleFunc("GET /api/v1/admins", s.authed(s.listAdmins))
	s.mux.HandleFunc("POST /api/v1/admins/invitations", s.authed(s.invite))
	s.mux.HandleFunc("GET /api/v1/admins/invitations", s.authed(s.listInvitations))
	s.mux.HandleFunc("DELETE /api/v1/admins/invitations/{id}", s.authed(s.revokeInvitation))
	s.mux.HandleFunc("DELETE /api/v1/admins/{id}", s.authed(s.removeAdmin))
	s.mux.HandleFunc("PATCH /api/v1/admins/{id}", s.authed(s.changeRole))
	s.mux.HandleFunc("POST /api/v1/mfa/setup", s.authed(s.mfaSetup))
	s.mux.HandleFunc("POST /api/v1/mfa/enable", s.authed(s.mfaEnable))
	s.mux.HandleFunc("POST /api/v1/mfa/disable", s.authed(s.mfaDisable))
	s.mux.HandleFunc("GET /api/v1/audit", s.authed(s.audit))
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, c *caller) {
	phone, err := s.deps.Messaging.AdminPhone(r.Context(), c.h, c.admin)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	t := c.h.Tenant()
	writeJSON(w, http.StatusOK, map[string]any{
		"admin":  c.admin,
		"phone":  phone, // the admin's own, for test texts ("" when none)
		"church": map[string]string{"id": t.ID, "name": t.Name, "timezone": t.Timezone, "plan": t.Plan},
	})
}

// patchMe changes the signed-in admin's own settings: {"phone": "…"} ("" clears
// it) and {"reply_notifications": "off|immediate|hourly"}, one or both.
func (s *Server) patchMe(w http.ResponseWriter, r *http.Request, c *caller) {
	var req struct {
		Phone              *string `json:"phone"`
		ReplyNotifications *string `json:"reply_notifications"`
	}
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Phone == nil && req.ReplyNotifications == nil {
		s.fail(w, r, steeple.Errorf(steeple.EINVALID, "nothing to change: give phone or reply_notifications"))
		return
	}
	// Both checked before either is written: nothing half-applied.
	if m := req.ReplyNotifications; m != nil && *m != steeple.ReplyNotifyOff && *m != steeple.ReplyNotifyImmediate &&
		*m != steeple.ReplyNotifyHourly {
		s.fail(w, r, steeple.FieldError("reply_notifications", `must be "off", "immediate" or "hourly"`))
		return
	}
	var phone string
	var err error
	if req.Phone != nil {
		phone, err = s.deps.Messaging.SetAdminPhone(r.Context(), c.h, c.admin, clientIP(r), *req.Phone)
	} else {
		phone, err = s.deps.Messaging.AdminPhone(r.Context(), c.h, c.admin)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if req.ReplyNotifications != nil {
		if s.deps.Inbox == nil {
			s.fail(w, r, steeple.FieldError("reply_notifications", "cannot be changed on this server"))
			return
		}
		if err := s.deps.Inbox.SetReplyNotifications(r.Context(), c.h, c.admin, clientIP(r), *req.ReplyNotifications); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"admin": c.admin, "phone": phone})
}

func (s *Server) listAdmins(w http.ResponseWriter, r *http.Request, c *caller) {
	admins, err := s.deps.Auth.Admins(r.Context(), c.h)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"admins": admins})
}

func (s *Server) invite(w http.ResponseWriter, r *http.Request, c *caller) {
	var req struct {
		Email string       `json:"email"`
		Role  steeple.Role `json:"role"` // owner, admin (the default) or sender
	}
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	inv, deliver, err := s.deps.Auth.Invite(r.Context(), c.h, c.admin, req.Email, req.Role, clientIP(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c.h.Release() // no church connection held while the mail server answers
	_ = deliver(r.Context())
	writeJSON(w, http.StatusCreated, inv)
}

func (s *Server) listInvitations(w http.ResponseWriter, r *http.Request, c *caller) {
	invs, err := s.deps.Auth.Invitations(r.Context(), c.h, c.admin)
	respond(s, w, r, http.StatusOK, map[string]any{"invitations": invs}, err)
}

func (s *Server) revokeInvitation(w http.ResponseWriter, r *http.Request, c *caller) {
	if err := s.deps.Auth.RevokeInvitation(r.Context(), c.h, c.admin, r.PathValue("id"), clientIP(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) removeAdmin(w http.ResponseWriter, r *http.Request, c *caller) {
	if err := s.deps.Auth.RemoveAdmin(r.Context(), c.h, c.admin, r.PathValue("id"), clientIP(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type codeRequest struct {
	Code string `json:"code"`
}

func (s *Server) mfaSetup(w http.ResponseWriter, r *http.Request, c *caller) {
	setup, err := s.deps.Auth.SetupMFA(r.Context(), c.h, c.admin, clientIP(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, setup)
}

func (s *Server) mfaEnable(w http.ResponseWriter, r *http.Request, c *caller) {
	var req codeRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	codes, err := s.deps.Auth.EnableMFA(r.Context(), c.h, c.admin, req.Code, clientIP(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"recovery_codes": codes})
}

func (s *Server) mfaDisable(w http.ResponseWriter, r *http.Request, c *caller) {
	var req codeRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.deps.Auth.DisableMFA(r.Context(), c.h, c.admin, req.Code, clientIP(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request, c *caller) {
	before, limit, err := pageParams(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// One more than asked tells whether another page exists.
	entries, err := s.deps.Auth.AuditLog(r.Context(), c.h, c.admin, r.URL.Query().Get("action"), before, limit+1)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	body := map[string]any{"entries": entries}
	if len(entries) > limit {
		entries = entries[:limit]
		body["entries"] = entries
		body["next_cursor"] = strconv.FormatInt(entries[len(entries)-1].Seq, 10)
	}
	writeJSON(w, http.StatusOK, body)
}

// pageParams reads ?cursor= and ?limit= (1–200, default 50).
func pageParams(r *http.Request) (before int64, limit int, err error) {
	limit = 50
	if v := r.URL.Query().Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 200 {
			return 0, 0, steeple.FieldError("limit", "must be a whole number from 1 to 200")
		}
	}
	if v := r.URL.Query().Get("cursor"); v != "" {
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before < 1 {
			return 0, 0, steeple.FieldError("cursor", "is not a cursor from a previous page")
		}
	}
	return before, limit, nil
}

// changeRole sets an admin's role ({"role": "owner|admin|sender"}); owners only.
func (s *Server) changeRole(w http.ResponseWriter, r *http.Request, c *caller) {
	var req struct {
		Role string `json:"role"`
	}
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.deps.Auth.ChangeRole(r.Context(), c.h, c.admin, r.PathValue("id"), req.Role, clientIP(r))
	respond(s, w, r, http.StatusOK, map[string]any{"admin": a}, err)
}
