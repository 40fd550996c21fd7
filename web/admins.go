package web

import (
	"net/http"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
)

func (h *Handler) routeAdmins() {
	h.mux.HandleFunc("GET /admins", h.authed(h.adminsPage))
	h.mux.HandleFunc("POST /admins/invite", h.authed(h.owner(h.adminInvite)))
	h.mux.HandleFunc("POST /admins/invitations/{id}/revoke", h.authed(h.owner(h.invitationRevoke)))
	h.mux.HandleFunc("POST /admins/invitations/{id}/resend", h.authed(h.owner(h.invitationResend)))
	h.mux.HandleFunc("POST /admins/{id}/role", h.authed(h.owner(h.adminRole)))
	h.mux.HandleFunc("POST /admins/{id}/remove", h.authed(h.owner(h.adminRemove)))
}

// adminsData is the admins page: who runs the church, who is invited.
type adminsData struct {
	Admins      []steeple.Admin
	Invitations []store.Invitation
	Roles       []steeple.Role
	Done        string
}

var roles = []steeple.Role{steeple.RoleOwner, steeple.RoleAdmin, steeple.RoleSender}

func (h *Handler) showAdmins(w http.ResponseWriter, r *http.Request, s *session, status int, done string) {
	v := s.view
	v.TitleID = "admins.title"
	d := adminsData{Roles: roles, Done: done}
	var err error
	if d.Admins, err = h.deps.Auth.Admins(r.Context(), s.h); err != nil {
		h.fail(w, r, v, err)
		return
	}
	if v.Owner() {
		if d.Invitations, err = h.deps.Auth.Invitations(r.Context(), s.h, s.admin); err != nil {
			h.fail(w, r, v, err)
			return
		}
	}
	if _, ok := v.Form.Values["role"]; !ok {
		v.Form.Values["role"] = string(steeple.RoleSender)
	}
	v.Data = d
	h.render(w, r, status, "admins", v)
}

func (h *Handler) adminsPage(w http.ResponseWriter, r *http.Request, s *session) {
	done := ""
	switch r.URL.Query().Get("done") {
	case "invited", "revoked", "resent", "role", "removed", "notmailed":
		done = "admins.done." + r.URL.Query().Get("done")
	}
	h.showAdmins(w, r, s, http.StatusOK, done)
}

func (h *Handler) adminInvite(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	v.Form.Values["email"], v.Form.Values["role"] = r.PostForm.Get("email"), r.PostForm.Get("role")
	inv, deliver, err := h.deps.Auth.Invite(r.Context(), s.h, s.admin, r.PostForm.Get("email"), steeple.Role(r.PostForm.Get("role")), client(r).IP)
	if err != nil {
		if h.formError(v, err, "email") {
			h.showAdmins(w, r, s, http.StatusBadRequest, "")
			return
		}
		h.fail(w, r, v, err)
		return
	}
	s.h.Release() // no church connection held while the mail server answers
	_ = deliver(r.Context())
	done := "invited"
	if !inv.Mailed {
		done = "notmailed"
	}
	http.Redirect(w, r, "/admins?done="+done, http.StatusSeeOther)
}

func (h *Handler) invitationRevoke(w http.ResponseWriter, r *http.Request, s *session) {
	if err := h.deps.Auth.RevokeInvitation(r.Context(), s.h, s.admin, r.PathValue("id"), client(r).IP); err != nil {
		h.fail(w, r, s.view, err)
		return
	}
	http.Redirect(w, r, "/admins?done=revoked", http.StatusSeeOther)
}

// invitationResend revokes a pending invitation and sends a new link to
// the same address with the same role (the old link stops working).
func (h *Handler) invitationResend(w http.ResponseWriter, r *http.Request, s *session) {
	inv, deliver, err := h.deps.Auth.ResendInvitation(r.Context(), s.h, s.admin, r.PathValue("id"), client(r).IP)
	if err != nil {
		h.fail(w, r, s.view, err)
		return
	}
	s.h.Release()
	_ = deliver(r.Context())
	done := "resent"
	if !inv.Mailed {
		done = "notmailed"
	}
	http.Redirect(w, r, "/admins?done="+done, http.StatusSeeOther)
}

func (h *Handler) adminRole(w http.ResponseWriter, r *http.Request, s *session) {
	if _, err := h.deps.Auth.ChangeRole(r.Context(), s.h, s.admin, r.PathValue("id"), r.PostForm.Get("role"), client(r).IP); err != nil {
		if steeple.ErrorCode(err) == steeple.ECONFLICT {
			s.view.Notice = s.view.T("admins.lastowner")
			h.showAdmins(w, r, s, http.StatusConflict, "")
			return
		}
		h.fail(w, r, s.view, err)
		return
	}
	http.Redirect(w, r, "/admins?done=role", http.StatusSeeOther)
}

func (h *Handler) adminRemove(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	var target *steeple.Admin
	admins, err := h.deps.Auth.Admins(r.Context(), s.h)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	for i := range admins {
		if admins[i].ID == r.PathValue("id") {
			target = &admins[i]
		}
	}
	if target == nil {
		h.fail(w, r, v, errNotFound)
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		h.confirm(w, r, v, v.T("admins.remove.question", "Name", target.Name), v.T("admins.remove.button", "Name", target.Name), "/admins")
		return
	}
	if err := h.deps.Auth.RemoveAdmin(r.Context(), s.h, s.admin, target.ID, client(r).IP); err != nil {
		if steeple.ErrorCode(err) == steeple.ECONFLICT {
			s.view.Notice = s.view.T("admins.lastowner")
			h.showAdmins(w, r, s, http.StatusConflict, "")
			return
		}
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/admins?done=removed", http.StatusSeeOther)
}
