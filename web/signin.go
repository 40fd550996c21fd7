package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
)

func (h *Handler) routeSignin() {
	h.mux.HandleFunc("GET /signin", h.signinPage)
	h.mux.HandleFunc("POST /signin", h.signin)
	h.mux.HandleFunc("GET /signin/code", h.mfaPage)
	h.mux.HandleFunc("POST /signin/code", h.mfa)
	h.mux.HandleFunc("POST /signin/choose", h.choose)
}

// chooseData lists the churches an email and password open.
type chooseData struct {
	Churches []auth.Church
}

func (h *Handler) signinPage(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "signin.title")
	v.Form.Values["next"] = safeNext(r.URL.Query().Get("next"))
	if r.URL.Query().Get("signed_out") == "1" {
		v.Data = true // says "you have signed out"
	}
	if r.URL.Query().Get("reset") == "1" {
		v.Form.Values["reset"] = "1" // says "your password is changed"
	}
	h.render(w, r, http.StatusOK, "signin", v)
}

// signin checks email and password (with the API's throttling and lockout),
// then asks which church when several match, then for the MFA code when the
// admin has MFA, and otherwise starts the session.
func (h *Handler) signin(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "signin.title")
	if !h.parseForm(w, r, v) {
		return
	}
	v.Form.Values["email"] = strings.TrimSpace(r.PostForm.Get("email"))
	v.Form.Values["next"] = safeNext(r.PostForm.Get("next"))
	req := auth.LoginRequest{Email: v.Form.Values["email"], Password: r.PostForm.Get("password"),
		TenantID: r.PostForm.Get("tenant_id")}
	if req.Password == "" {
		v.Form.Errors["password"] = "is required"
		h.render(w, r, http.StatusBadRequest, "signin", v)
		return
	}
	res, err := h.deps.Auth.WebLogin(r.Context(), req, client(r))
	if err != nil {
		if steeple.ErrorCode(err) == steeple.EUNAUTHORIZED {
			v.Notice = v.T("signin.bad")
			h.render(w, r, http.StatusUnauthorized, "signin", v)
			return
		}
		if h.formError(v, err, "email") {
			h.render(w, r, statusOf(err), "signin", v)
			return
		}
		h.fail(w, r, v, err)
		return
	}
	h.signedIn(w, r, v, res, req.Password)
}

// signedIn carries a login result to its next step.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request, v *view, res *auth.LoginResult, password string) {
	switch {
	case res.Churches != nil:
		// The password is not sent back: a short-lived signed token naming
		// the admins whose password matched goes in an HttpOnly cookie,
		// and the chooser posts only the church's id.
		setCookie(w, choiceCookie, res.ChoiceToken, h.deps.Now().Add(auth.ChoiceTTL))
		w.Header().Set("Cache-Control", "no-store")
		v.TitleID = "choose.title"
		v.Data = chooseData{Churches: res.Churches}
		h.render(w, r, http.StatusOK, "choose", v)
	case res.MFARequired:
		setCookie(w, mfaCookie, res.MFAToken, h.deps.Now().Add(mfaCookieTTL))
		http.Redirect(w, r, "/signin/code?next="+urlEscape(v.Form.Values["next"]), http.StatusSeeOther)
	default:
		setCookie(w, sessionCookie, res.WebSession, h.deps.Now().Add(auth.WebAbsoluteTimeout))
		setCookie(w, mfaCookie, "", time.Time{})
		http.Redirect(w, r, safeNext(v.Form.Values["next"]), http.StatusSeeOther)
	}
}

// choose finishes a sign-in at the church chosen, with the choice cookie.
func (h *Handler) choose(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "signin.title")
	if !h.parseForm(w, r, v) {
		return
	}
	v.Form.Values["next"] = safeNext(r.PostForm.Get("next"))
	c, err := r.Cookie(choiceCookie)
	var res *auth.LoginResult
	if err == nil {
		res, err = h.deps.Auth.WebCompleteChoice(r.Context(), c.Value, r.PostForm.Get("tenant_id"), client(r))
	}
	if err != nil {
		if err == http.ErrNoCookie || steeple.ErrorCode(err) == steeple.EUNAUTHORIZED {
			setCookie(w, choiceCookie, "", time.Time{})
			v.Notice = v.T("mfa.expired")
			h.render(w, r, http.StatusUnauthorized, "signin", v)
			return
		}
		h.fail(w, r, v, err)
		return
	}
	setCookie(w, choiceCookie, "", time.Time{})
	h.signedIn(w, r, v, res, "")
}

func (h *Handler) mfaPage(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "mfa.title")
	if _, err := r.Cookie(mfaCookie); err != nil {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	v.Form.Values["next"] = safeNext(r.URL.Query().Get("next"))
	h.render(w, r, http.StatusOK, "mfa", v)
}

// mfa completes sign-in with a code from the authenticator app or a
// recovery code. The MFA token stays in its own short-lived cookie.
func (h *Handler) mfa(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "mfa.title")
	if !h.parseForm(w, r, v) {
		return
	}
	v.Form.Values["next"] = safeNext(r.PostForm.Get("next"))
	c, err := r.Cookie(mfaCookie)
	if err != nil {
		v.TitleID = "signin.title"
		v.Notice = v.T("mfa.expired")
		h.render(w, r, http.StatusUnauthorized, "signin", v)
		return
	}
	code := strings.ReplaceAll(strings.TrimSpace(r.PostForm.Get("code")), " ", "")
	req := auth.MFARequest{MFAToken: c.Value}
	if len(code) == 6 && strings.Trim(code, "0123456789") == "" {
		req.Code = code
	} else {
		req.RecoveryCode = code
	}
	if code == "" {
		v.Form.Errors["code"] = "is required"
		h.render(w, r, http.StatusBadRequest, "mfa", v)
		return
	}
	res, err := h.deps.Auth.WebCompleteMFA(r.Context(), req, client(r))
	if err != nil {
		var e *steeple.Error
		if steeple.ErrorCode(err) == steeple.EUNAUTHORIZED && asError(err, &e) && e.Message == "invalid or expired token" {
			setCookie(w, mfaCookie, "", time.Time{})
			v.TitleID = "signin.title"
			v.Notice = v.T("mfa.expired")
			h.render(w, r, http.StatusUnauthorized, "signin", v)
			return
		}
		if h.formError(v, err, "code") {
			h.render(w, r, statusOf(err), "mfa", v)
			return
		}
		h.fail(w, r, v, err)
		return
	}
	h.signedIn(w, r, v, res, "")
}
