package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
)

// Your account and password: a forgotten password (a link mailed for each
// church the email is an admin of), the reset page that link opens, and a
// signed-in admin's password change.
func (h *Handler) routePassword() {
	h.mux.HandleFunc("GET /password/forgot", h.forgotPage)
	h.mux.HandleFunc("POST /password/forgot", h.forgot)
	h.mux.HandleFunc("GET /password/reset", h.resetPage)
	h.mux.HandleFunc("POST /password/reset", h.reset)
	h.mux.HandleFunc("GET /account/password", h.authed(h.accountPasswordPage))
	h.mux.HandleFunc("POST /account/password", h.authed(h.accountPassword))
}

// passwordData is what the password pages show besides the form.
type passwordData struct {
	Sent    bool   // the forgot page: "check your inbox"
	Church  string // the reset page: the church whose password is reset
	Email   string // the reset page: for the browser's password manager
	Bad     bool   // the reset page: the link cannot be used
	Changed bool   // the account page: the password was just changed
}

func (h *Handler) forgotPage(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "forgot.title")
	v.Data = passwordData{}
	h.render(w, r, http.StatusOK, "password_forgot", v)
}

// forgot answers the same for every well-formed email: whether it runs a
// church is not told (the service mails in the background).
func (h *Handler) forgot(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "forgot.title")
	if !h.parseForm(w, r, v) {
		return
	}
	v.Form.Values["email"] = strings.TrimSpace(r.PostForm.Get("email"))
	v.Data = passwordData{}
	if err := h.deps.Auth.ForgotPassword(r.Context(), v.Form.Values["email"], client(r).IP); err != nil {
		if h.formError(v, err, "email") {
			h.render(w, r, statusOf(err), "password_forgot", v)
			return
		}
		h.fail(w, r, v, err)
		return
	}
	v.Data = passwordData{Sent: true}
	h.render(w, r, http.StatusOK, "password_forgot", v)
}

// resetPage shows the new-password form for a link that still works, and
// otherwise says the link is used or expired and offers a new one. The
// token goes on in the form's body, not in a URL.
func (h *Handler) resetPage(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "reset.title")
	w.Header().Set("Cache-Control", "no-store")
	token := r.URL.Query().Get("token")
	church, email, err := h.deps.Auth.ResetTarget(r.Context(), token)
	if steeple.ErrorCode(err) == steeple.ENOTFOUND {
		v.Data = passwordData{Bad: true}
		h.render(w, r, http.StatusNotFound, "password_reset", v)
		return
	}
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	v.Form.Values["token"] = token
	v.Data = passwordData{Church: church.Name, Email: email}
	h.render(w, r, http.StatusOK, "password_reset", v)
}

func (h *Handler) reset(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "reset.title")
	w.Header().Set("Cache-Control", "no-store")
	if !h.parseForm(w, r, v) {
		return
	}
	token := r.PostForm.Get("token")
	v.Form.Values["token"] = token
	_, err := h.deps.Auth.ResetPassword(r.Context(), token, r.PostForm.Get("password"), client(r).IP)
	switch {
	case steeple.ErrorCode(err) == steeple.ENOTFOUND:
		v.Data = passwordData{Bad: true}
		h.render(w, r, http.StatusNotFound, "password_reset", v)
		return
	case err != nil:
		church, email, terr := h.deps.Auth.ResetTarget(r.Context(), token)
		if terr == nil {
			v.Data = passwordData{Church: church.Name, Email: email}
		} else {
			v.Data = passwordData{}
		}
		if h.formError(v, err, "password") {
			h.render(w, r, statusOf(err), "password_reset", v)
			return
		}
		h.fail(w, r, v, err)
		return
	}
	// Any session of this browser ended with the old password.
	setCookie(w, sessionCookie, "", time.Time{})
	http.Redirect(w, r, "/signin?reset=1", http.StatusSeeOther)
}

func (h *Handler) accountPasswordPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	v.TitleID = "account.password.title"
	v.Data = passwordData{Changed: r.URL.Query().Get("changed") == "1"}
	h.render(w, r, http.StatusOK, "account_password", v)
}

// accountPassword changes the password: every other browser and API
// client is signed out; this browser gets a new session.
func (h *Handler) accountPassword(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	v.TitleID = "account.password.title"
	v.Data = passwordData{}
	req := auth.ChangePasswordRequest{Current: r.PostForm.Get("current"), New: r.PostForm.Get("new")}
	res, err := h.deps.Auth.WebChangePassword(r.Context(), s.h, s.admin, req, client(r))
	if err != nil {
		if h.formError(v, err, "current") {
			h.render(w, r, statusOf(err), "account_password", v)
			return
		}
		h.fail(w, r, v, err)
		return
	}
	setCookie(w, sessionCookie, res.WebSession, h.deps.Now().Add(auth.WebAbsoluteTimeout))
	http.Redirect(w, r, "/account/password?changed=1", http.StatusSeeOther)
}
