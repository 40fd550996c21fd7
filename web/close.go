package web

import (
	"net/http"
	"strings"
	"time"
)

func (h *Handler) routeClose() {
	h.mux.HandleFunc("GET /settings/close", h.authed(h.owner(h.closePage)))
	h.mux.HandleFunc("POST /settings/close", h.authed(h.owner(h.closeChurch)))
}

// closeData is the close-account page: what happens, and when the data
// is destroyed if nobody undoes it.
type closeData struct {
	Church  string
	PurgeAt time.Time
	Grace   int // days
	Closed  bool
}

func (h *Handler) closeDays() int { return int(h.deps.Closing.Grace().Hours() / 24) }

func (h *Handler) showClose(w http.ResponseWriter, r *http.Request, s *session, status int) {
	v := s.view
	v.TitleID = "close.title"
	v.Data = closeData{Church: s.h.Tenant().Name, PurgeAt: h.deps.Now().Add(h.deps.Closing.Grace()), Grace: h.closeDays()}
	h.render(w, r, status, "close", v)
}

func (h *Handler) closePage(w http.ResponseWriter, r *http.Request, s *session) {
	h.showClose(w, r, s, http.StatusOK)
}

// closeChurch closes the church once the owner has typed its name: the
// church is refused from now on, every session ends (this one too), and
// the answer is the page saying when the data will be destroyed.
func (h *Handler) closeChurch(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	typed := r.PostForm.Get("confirm")
	v.Form.Values["confirm"] = typed
	name := s.h.Tenant().Name
	if !strings.EqualFold(strings.Join(strings.Fields(typed), " "), strings.Join(strings.Fields(name), " ")) {
		v.Form.Errors["confirm"] = "type the church's name exactly as shown to close the account"
		h.showClose(w, r, s, http.StatusBadRequest)
		return
	}
	c, err := h.deps.Closing.Close(r.Context(), s.h.Tenant().ID, s.admin.ID, s.h)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	h.checked.forget(s.raw, true)
	setCookie(w, sessionCookie, "", time.Time{})
	// The closed page is shown to someone no longer signed in.
	out := h.newView(r, "closed.title")
	out.Lang, out.location = v.Lang, v.location
	d := closeData{Church: name, Closed: true, Grace: h.closeDays()}
	if c.PurgeAt != nil {
		d.PurgeAt = *c.PurgeAt
	}
	out.Data = d
	h.render(w, r, http.StatusOK, "close", out)
}
