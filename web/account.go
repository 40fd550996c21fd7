package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
)

func (h *Handler) routeAccount() {
	h.mux.HandleFunc("GET /account", h.authed(h.accountPage))
	h.mux.HandleFunc("POST /account/phone", h.authed(h.accountPhone))
	h.mux.HandleFunc("POST /account/notifications", h.authed(h.accountNotifications))
	h.mux.HandleFunc("POST /account/mfa/setup", h.authed(h.accountMFASetup))
	h.mux.HandleFunc("POST /account/mfa/enable", h.authed(h.accountMFAEnable))
	h.mux.HandleFunc("POST /account/mfa/disable", h.authed(h.accountMFADisable))
}

// accountData is "My account": the admin's own phone, reply emails,
// two-step sign-in and sessions.
type accountData struct {
	Sessions      int
	Setup         *auth.MFASetup // while turning two-step sign-in on
	QR            template.URL   // Setup's QR code, a data: URL of a PNG
	RecoveryCodes []string       // shown once, right after turning it on
	RecoveryFile  template.URL   // the codes as a text file (data: URL)
	Modes         []string
	Done          string
}

func (h *Handler) showAccount(w http.ResponseWriter, r *http.Request, s *session, status int, d accountData) {
	v := s.view
	v.TitleID = "account.title"
	var err error
	if d.Sessions, err = h.deps.Store.CountWebSessions(r.Context(), s.h, s.admin.ID); err != nil {
		h.fail(w, r, v, err)
		return
	}
	if _, typed := v.Form.Values["phone"]; !typed {
		phone, err := h.deps.Messaging.AdminPhone(r.Context(), s.h, s.admin)
		if err != nil {
			h.fail(w, r, v, err)
			return
		}
		if phone != "" {
			v.Form.Values["phone"] = v.Phone(phone)
		}
	}
	v.Form.Values["reply_notifications"] = s.admin.ReplyNotifications
	if d.Setup != nil {
		d.QR = template.URL(d.Setup.QRPNG) // made here, a PNG: safe to show
	}
	d.Modes = []string{steeple.ReplyNotifyOff, steeple.ReplyNotifyImmediate, steeple.ReplyNotifyHourly}
	v.Data = d
	h.render(w, r, status, "account", v)
}

func (h *Handler) accountPage(w http.ResponseWriter, r *http.Request, s *session) {
	d := accountData{}
	switch r.URL.Query().Get("done") {
	case "phone", "notifications", "mfa_off":
		d.Done = "account.done." + r.URL.Query().Get("done")
	}
	h.showAccount(w, r, s, http.StatusOK, d)
}

func (h *Handler) accountPhone(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	v.Form.Values["phone"] = r.PostForm.Get("phone")
	if _, err := h.deps.Messaging.SetAdminPhone(r.Context(), s.h, s.admin, client(r).IP, r.PostForm.Get("phone")); err != nil {
		if h.formError(v, err, "phone") {
			h.showAccount(w, r, s, http.StatusBadRequest, accountData{})
			return
		}
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/account?done=phone", http.StatusSeeOther)
}

func (h *Handler) accountNotifications(w http.ResponseWriter, r *http.Request, s *session) {
	if err := h.deps.Inbox.SetReplyNotifications(r.Context(), s.h, s.admin, client(r).IP, r.PostForm.Get("reply_notifications")); err != nil {
		h.fail(w, r, s.view, err)
		return
	}
	http.Redirect(w, r, "/account?done=notifications", http.StatusSeeOther)
}

// accountMFASetup starts turning two-step sign-in on: a new secret, shown
// as a QR code to scan, waiting for its first code.
func (h *Handler) accountMFASetup(w http.ResponseWriter, r *http.Request, s *session) {
	setup, err := h.deps.Auth.SetupMFA(r.Context(), s.h, s.admin, client(r).IP)
	if err != nil {
		h.fail(w, r, s.view, err)
		return
	}
	h.showAccount(w, r, s, http.StatusOK, accountData{Setup: setup})
}

// accountMFAEnable confirms the first code and shows the recovery codes,
// once, with a file to keep them in.
func (h *Handler) accountMFAEnable(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	codes, err := h.deps.Auth.EnableMFA(r.Context(), s.h, s.admin, strings.TrimSpace(r.PostForm.Get("code")), client(r).IP)
	if err != nil {
		if h.formError(v, err, "code") {
			// The same pending secret: scanning again is not needed.
			setup, serr := h.deps.Auth.PendingMFA(r.Context(), s.h, s.admin)
			if serr != nil {
				h.fail(w, r, v, serr)
				return
			}
			h.showAccount(w, r, s, http.StatusBadRequest, accountData{Setup: setup})
			return
		}
		h.fail(w, r, v, err)
		return
	}
	s.admin.MFAEnabled = true
	file := "Steeple recovery codes for " + s.admin.Email + " (" + s.h.Tenant().Name + ")\n" +
		"Each code signs you in once if you lose your phone.\n\n" + strings.Join(codes, "\n") + "\n"
	h.showAccount(w, r, s, http.StatusOK, accountData{RecoveryCodes: codes,
		RecoveryFile: template.URL("data:text/plain;charset=utf-8," + url.PathEscape(file))})
}

func (h *Handler) accountMFADisable(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	if err := h.deps.Auth.DisableMFA(r.Context(), s.h, s.admin, strings.TrimSpace(r.PostForm.Get("code")), client(r).IP); err != nil {
		if h.formError(v, err, "disable_code") {
			if fe := v.Form.Errors["code"]; fe != "" {
				v.Form.Errors["disable_code"] = fe
			}
			h.showAccount(w, r, s, http.StatusBadRequest, accountData{})
			return
		}
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/account?done=mfa_off", http.StatusSeeOther)
}
