package web

import (
	"net/http"

	"github.com/steeple-sms/steeple"
)

// manager wraps a page or form only owners and admins may use (numbers,
// 10DLC, settings, keywords): a sender gets the forbidden page, which says
// whom to ask.
func (h *Handler) manager(next func(http.ResponseWriter, *http.Request, *session)) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		if err := steeple.RequireManager(s.admin); err != nil {
			h.failSaying(w, r, s.view, err, "error.role.text")
			return
		}
		next(w, r, s)
	}
}

// Manages says whether the signed-in admin may change the church's
// numbers, registration, settings and keywords (pages hide those forms
// from senders).
func (v *view) Manages() bool { return v.Admin != nil && v.Admin.Role.ManagesChurch() }

// Owner says whether the signed-in admin is an owner (admins page).
func (v *view) Owner() bool { return v.Admin != nil && v.Admin.Role == steeple.RoleOwner }

// owner wraps a form only the church's owners may use (people, the audit log).
func (h *Handler) owner(next func(http.ResponseWriter, *http.Request, *session)) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		if !s.view.Owner() {
			h.failSaying(w, r, s.view, steeple.Errorf(steeple.EFORBIDDEN, "only owners may do this"), "error.owner.text")
			return
		}
		next(w, r, s)
	}
}
