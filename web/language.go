package web

import (
	"net/http"
	"time"

	"github.com/steeple-sms/steeple/auth"
)

func (h *Handler) routeLanguage() {
	h.mux.HandleFunc("POST /language", h.language)
}

// language switches the page language: stored for the signed-in admin, and
// remembered in a cookie for the sign-in pages.
func (h *Handler) language(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "")
	if !h.parseForm(w, r, v) {
		return
	}
	lang := r.PostForm.Get("lang")
	if !supported(lang) {
		lang = Languages[0]
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Expires: h.deps.Now().Add(365 * 24 * time.Hour)})
	back := safeNext(r.PostForm.Get("back"))
	if c, err := r.Cookie(sessionCookie); err == nil && auth.WebSessionTenant(c.Value) != "" {
		h.authed(func(w http.ResponseWriter, r *http.Request, s *session) {
			if err := h.deps.Auth.SetLanguage(r.Context(), s.h, s.admin.ID, lang, Languages); err != nil {
				h.fail(w, r, s.view, err)
				return
			}
			h.checked.forget(s.raw, false) // checked again with its new language
			http.Redirect(w, r, back, http.StatusSeeOther)
		})(w, r)
		return
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
