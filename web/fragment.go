package web

import (
	"bytes"
	"net"
	"net/http"
	"net/url"

	"github.com/steeple-sms/steeple/members"
)

// renderFragment writes one named template of a page without the layout,
// for an htmx request. The session's handler already holds the church's
// handle, so the fragment is as church-scoped as its page.
func (h *Handler) renderFragment(w http.ResponseWriter, status int, page, name string, v *view) {
	var buf bytes.Buffer
	if err := h.pages.byName[page].ExecuteTemplate(&buf, name, v); err != nil {
		h.deps.Logger.Error("web: rendering fragment", "page", page, "fragment", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Language", v.Lang)
	hd.Set("Vary", "HX-Request")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// isHTMX reports whether the request came from htmx (a fragment is wanted).
func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// actorContext names the signed-in admin as the audit log's actor.
func actorContext(r *http.Request, s *session) (members.Actor, *http.Request) {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	a := members.Actor{AdminID: s.admin.ID, IP: ip}
	return a, r.WithContext(members.WithActor(r.Context(), a))
}

// confirmData is a page that asks before something hard to undo: it
// repeats the form's fields with confirm=yes. It works without script.
type confirmData struct {
	Question string
	Action   string
	Fields   []field
	Button   string
	Back     string
}

type field struct{ Name, Value string }

// confirm renders the confirmation page for a form posted to action.
func (h *Handler) confirm(w http.ResponseWriter, r *http.Request, v *view, question, button, back string) {
	d := confirmData{Question: question, Action: r.URL.Path, Button: button, Back: back}
	for k, vals := range r.PostForm {
		if k == "confirm" {
			continue
		}
		for _, val := range vals {
			d.Fields = append(d.Fields, field{k, val})
		}
	}
	sortFields(d.Fields)
	v.TitleID = "confirm.title"
	v.Data = d
	h.render(w, r, http.StatusOK, "confirm", v)
}

func sortFields(fs []field) {
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && fs[j-1].Name > fs[j].Name; j-- {
			fs[j-1], fs[j] = fs[j], fs[j-1]
		}
	}
}

// withQuery adds parameters to a path (empty values are left out).
func withQuery(path string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}
