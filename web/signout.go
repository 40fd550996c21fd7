package web

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/steeple-sms/steeple"
)

func (h *Handler) routeSignout() {
	h.mux.HandleFunc("POST /signout", h.authed(h.signout))
}

// signout ends this session, or with everywhere=yes every session of the
// admin (other browsers, a lost phone).
func (h *Handler) signout(w http.ResponseWriter, r *http.Request, s *session) {
	everywhere := r.PostForm.Get("everywhere") == "yes"
	if err := h.deps.Auth.WebSignOut(r.Context(), s.h, s.admin, s.raw, everywhere, client(r).IP); err != nil {
		h.fail(w, r, s.view, err)
		return
	}
	h.checked.forget(s.raw, everywhere)
	setCookie(w, sessionCookie, "", time.Time{})
	http.Redirect(w, r, "/signin?signed_out=1", http.StatusSeeOther)
}

func asError(err error, e **steeple.Error) bool { return errors.As(err, e) }

func urlEscape(s string) string { return url.QueryEscape(s) }
