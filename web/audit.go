package web

import (
	"net/http"
	"strconv"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
)

func (h *Handler) routeAudit() {
	h.mux.HandleFunc("GET /audit", h.authed(h.owner(h.auditPage)))
}

// auditFilters are the audit page's choices: an action prefix each.
var auditFilters = []string{"", "message.", "member", "keyword.", "settings.", "church.", "admin.", "login.", "conversation.", "mfa.", "number.", "registration."}

const auditPageSize = 50

// auditData is a page of the audit log, newest first.
type auditData struct {
	Entries []store.AuditEntry
	Names   map[string]string // admin id → name
	Filters []string
	Filter  string
	Next    int64 // the cursor of the next (older) page; 0 when none
}

// auditPage shows the church's audit log to its owners, filtered by kind.
func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	v.TitleID = "audit.title"
	q := r.URL.Query()
	d := auditData{Filters: auditFilters, Filter: q.Get("kind"), Names: map[string]string{}}
	known := false
	for _, f := range auditFilters {
		known = known || f == d.Filter
	}
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	if !known || before < 0 {
		h.fail(w, r, v, steeple.Errorf(steeple.EINVALID, "unknown filter"))
		return
	}
	entries, err := h.deps.Auth.AuditLog(r.Context(), s.h, s.admin, d.Filter, before, auditPageSize+1)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	if len(entries) > auditPageSize {
		entries = entries[:auditPageSize]
		d.Next = entries[len(entries)-1].Seq
	}
	d.Entries = entries
	admins, err := h.deps.Auth.Admins(r.Context(), s.h)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	for _, a := range admins {
		d.Names[a.ID] = a.Name
	}
	v.Data = d
	h.render(w, r, http.StatusOK, "audit", v)
}
