package web

import (
	"net/http"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/inbox"
)

func (h *Handler) routeKeywords() {
	h.mux.HandleFunc("GET /keywords", h.authed(h.keywordList))
	h.mux.HandleFunc("POST /keywords", h.authed(h.manager(h.keywordCreate)))
	h.mux.HandleFunc("GET /keywords/{id}", h.authed(h.keywordPage))
	h.mux.HandleFunc("POST /keywords/{id}", h.authed(h.manager(h.keywordUpdate)))
	h.mux.HandleFunc("POST /keywords/{id}/delete", h.authed(h.manager(h.keywordDelete)))
}

// keywordsData is the keyword list with the form for a new one.
type keywordsData struct {
	Keywords []*steeple.Keyword
	Groups   []steeple.Group
	Done     string
	Number   string // the church's number, for "Text CONNECT to …"
}

func (h *Handler) showKeywords(w http.ResponseWriter, r *http.Request, s *session, status int, d keywordsData) {
	v := s.view
	v.TitleID = "keywords.title"
	var err error
	if d.Keywords, err = h.deps.Inbox.Keywords(r.Context(), s.h); err != nil {
		h.fail(w, r, v, err)
		return
	}
	if d.Groups, err = h.deps.Members.Groups(r.Context(), s.h); err != nil {
		h.fail(w, r, v, err)
		return
	}
	d.Number = h.firstNumber(r, s)
	v.Data = d
	h.render(w, r, status, "keywords", v)
}

// firstNumber is the number people text a keyword to: the church's first
// sending number ("" when it has none, or none that sends yet).
func (h *Handler) firstNumber(r *http.Request, s *session) string {
	ns, err := h.deps.Tenancy.Registry.SendingNumbers(r.Context(), s.h.TenantID())
	if err != nil || len(ns) == 0 {
		return ""
	}
	return ns[0]
}

func (h *Handler) keywordList(w http.ResponseWriter, r *http.Request, s *session) {
	d := keywordsData{}
	if done := r.URL.Query().Get("done"); done == "deleted" {
		d.Done = "keywords.done.deleted"
	}
	s.view.Form.Values["connect_card"] = "on"
	h.showKeywords(w, r, s, http.StatusOK, d)
}

// keywordForm reads the keyword form and keeps what was typed.
func keywordForm(r *http.Request, v *view) inbox.KeywordRequest {
	for _, k := range []string{"word", "group_id", "reply", "connect_card", "resubscribes"} {
		v.Form.Values[k] = r.PostForm.Get(k)
	}
	return inbox.KeywordRequest{Word: r.PostForm.Get("word"), GroupID: r.PostForm.Get("group_id"), Reply: r.PostForm.Get("reply"),
		ConnectCard: r.PostForm.Get("connect_card") == "on", Resubscribes: r.PostForm.Get("resubscribes") == "on"}
}

// keywordError puts a keyword's refusal beside its field; false when the
// error is not about the form.
func (h *Handler) keywordError(v *view, err error) bool {
	switch steeple.ErrorCode(err) {
	case steeple.ECONFLICT:
		v.Form.Errors["word"] = "another keyword reads the same; choose another word"
		return true
	case steeple.ENOTFOUND:
		v.Form.Errors["group_id"] = "choose a group from the list"
		return true
	}
	return h.formError(v, err, "word")
}

func (h *Handler) keywordCreate(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	k, err := h.deps.Inbox.CreateKeyword(r.Context(), s.h, s.admin, keywordForm(r, v), client(r).IP)
	if err != nil {
		if h.keywordError(v, err) {
			h.showKeywords(w, r, s, http.StatusBadRequest, keywordsData{})
			return
		}
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/keywords/"+k.ID+"?done=created", http.StatusSeeOther)
}

// keywordData is one keyword's page: its joins per week, latest members
// and the form to change it.
type keywordData struct {
	K      *inbox.KeywordReport
	Chart  chart
	Groups []steeple.Group
	Done   string
	Number string
}

func (h *Handler) showKeyword(w http.ResponseWriter, r *http.Request, s *session, status int, done string) {
	v := s.view
	rep, err := h.deps.Inbox.Keyword(r.Context(), s.h, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	v.TitleID = "keyword.title"
	d := keywordData{K: rep, Done: done, Number: h.firstNumber(r, s)}
	if d.Groups, err = h.deps.Members.Groups(r.Context(), s.h); err != nil {
		h.fail(w, r, v, err)
		return
	}
	starts, values := make([]time.Time, len(rep.Weeks)), make([]int, len(rep.Weeks))
	for i, wk := range rep.Weeks {
		starts[i], values[i] = wk.Start, wk.Joins
	}
	d.Chart = weeklyChart(v, "joins", "keyword.chart", starts, values, 0, nil)
	if status == http.StatusOK {
		v.Form.Values["word"], v.Form.Values["group_id"], v.Form.Values["reply"] = rep.Word, rep.GroupID, rep.Reply
		v.Form.Values["connect_card"], v.Form.Values["resubscribes"] = checked(rep.ConnectCard), checked(rep.Resubscribes)
	}
	v.Data = d
	h.render(w, r, status, "keyword", v)
}

func checked(b bool) string {
	if b {
		return "on"
	}
	return ""
}

func (h *Handler) keywordPage(w http.ResponseWriter, r *http.Request, s *session) {
	done := ""
	switch r.URL.Query().Get("done") {
	case "created", "saved":
		done = "keywords.done." + r.URL.Query().Get("done")
	}
	h.showKeyword(w, r, s, http.StatusOK, done)
}

func (h *Handler) keywordUpdate(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	id := r.PathValue("id")
	if _, err := h.deps.Inbox.Keyword(r.Context(), s.h, id); err != nil {
		h.fail(w, r, v, err) // another church's id is not found before anything is read from the form
		return
	}
	if _, err := h.deps.Inbox.UpdateKeyword(r.Context(), s.h, s.admin, id, keywordForm(r, v), client(r).IP); err != nil {
		if h.keywordError(v, err) {
			h.showKeyword(w, r, s, http.StatusBadRequest, "")
			return
		}
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/keywords/"+id+"?done=saved", http.StatusSeeOther)
}

func (h *Handler) keywordDelete(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	k, err := h.deps.Inbox.Keyword(r.Context(), s.h, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		h.confirm(w, r, v, v.T("keywords.delete.question", "Word", k.Word), v.T("keywords.delete.button", "Word", k.Word), "/keywords/"+k.ID)
		return
	}
	if err := h.deps.Inbox.DeleteKeyword(r.Context(), s.h, s.admin, k.ID, client(r).IP); err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/keywords?done=deleted", http.StatusSeeOther)
}
