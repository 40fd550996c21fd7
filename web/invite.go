package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
)

// An invitation's link (accept_url) opens a form for the new admin's name
// and password; accepting signs them in. The email verification link
// verifies and says so, also when the link is used or expired.
func (h *Handler) routeInvite() {
	h.mux.HandleFunc("GET /invitations/accept", h.acceptPage)
	h.mux.HandleFunc("POST /invitations/accept", h.accept)
	h.mux.HandleFunc("GET /verify-email", h.verifyEmail)
	h.mux.HandleFunc("POST /verify-email/resend", h.authed(h.resendVerification))
}

// acceptData is what the accept page shows besides the form.
type acceptData struct {
	Church, Email string
	Bad           bool // the link cannot be used
}

func (h *Handler) acceptPage(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "accept.title")
	w.Header().Set("Cache-Control", "no-store")
	token := r.URL.Query().Get("token")
	church, email, err := h.deps.Auth.InvitationTarget(r.Context(), token)
	if steeple.ErrorCode(err) == steeple.ENOTFOUND {
		v.Data = acceptData{Bad: true}
		h.render(w, r, http.StatusNotFound, "accept", v)
		return
	}
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	v.Form.Values["token"] = token
	v.Data = acceptData{Church: church.Name, Email: email}
	h.render(w, r, http.StatusOK, "accept", v)
}

func (h *Handler) accept(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "accept.title")
	w.Header().Set("Cache-Control", "no-store")
	if !h.parseForm(w, r, v) {
		return
	}
	token := r.PostForm.Get("token")
	v.Form.Values["token"] = token
	v.Form.Values["name"] = strings.TrimSpace(r.PostForm.Get("name"))
	req := auth.AcceptRequest{Token: token, Name: v.Form.Values["name"], Password: r.PostForm.Get("password")}
	res, err := h.deps.Auth.WebAcceptInvitation(r.Context(), req, client(r))
	if steeple.ErrorCode(err) == steeple.ENOTFOUND {
		v.Data = acceptData{Bad: true}
		h.render(w, r, http.StatusNotFound, "accept", v)
		return
	}
	if err != nil {
		d := acceptData{}
		if church, email, terr := h.deps.Auth.InvitationTarget(r.Context(), token); terr == nil {
			d.Church, d.Email = church.Name, email
		}
		v.Data = d
		if h.formError(v, err, "password") {
			h.render(w, r, statusOf(err), "accept", v)
			return
		}
		h.fail(w, r, v, err)
		return
	}
	setCookie(w, sessionCookie, res.WebSession, h.deps.Now().Add(auth.WebAbsoluteTimeout))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// verifyData is what the verification page says.
type verifyData struct {
	Verified bool   // verified now
	Already  bool   // the church's email was verified before
	Church   string // the church verified
	CanSend  bool   // signed in as the admin who must verify: offer a new link
}

// verifyEmail spends the link and shows the outcome. A used or expired
// link explains itself; signed in, the page tells whether the email is
// verified already or offers a new link.
func (h *Handler) verifyEmail(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "verify.title")
	w.Header().Set("Cache-Control", "no-store")
	church, err := h.deps.Auth.VerifyEmail(r.Context(), r.URL.Query().Get("token"), client(r).IP)
	if err == nil {
		v.Data = verifyData{Verified: true, Church: church.Name}
		h.render(w, r, http.StatusOK, "verify", v)
		return
	}
	if steeple.ErrorCode(err) != steeple.ENOTFOUND {
		h.fail(w, r, v, err)
		return
	}
	d := verifyData{}
	if c, cerr := r.Cookie(sessionCookie); cerr == nil && auth.WebSessionTenant(c.Value) != "" {
		h.authed(func(w http.ResponseWriter, r *http.Request, s *session) {
			s.view.TitleID = "verify.title"
			if g, err := h.deps.Auth.ChurchGate(r.Context(), s.h); err == nil {
				d.Already = g.VerifiedAt != nil
				d.CanSend = g.VerifiedAt == nil && g.AdminID == s.admin.ID
				d.Church = s.view.Church
			}
			s.view.Data = d
			h.render(w, r, http.StatusNotFound, "verify", s.view)
		})(w, r)
		return
	}
	v.Data = d
	h.render(w, r, http.StatusNotFound, "verify", v)
}

// resendVerification mails a new verification link. The mail is sent
// after the answer, without the church's handle.
func (h *Handler) resendVerification(w http.ResponseWriter, r *http.Request, s *session) {
	deliver, err := h.deps.Auth.ResendVerification(r.Context(), s.h, s.admin, client(r).IP)
	switch steeple.ErrorCode(err) {
	case "":
	case steeple.ECONFLICT:
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	case steeple.ETOOMANY:
		http.Redirect(w, r, "/?resent=wait", http.StatusSeeOther)
		return
	default:
		h.fail(w, r, s.view, err)
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), time.Minute)
		defer cancel()
		if err := deliver(ctx); err != nil {
			h.deps.Logger.Warn("web: verification mail not sent", "err", err)
		}
	}()
	http.Redirect(w, r, "/?resent=1", http.StatusSeeOther)
}
