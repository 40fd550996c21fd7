package web

import (
	"net/http"
	"strconv"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/members"
)

// membersPageSize is how many members a page of the list shows.
const membersPageSize = 50

func (h *Handler) routeMembers() {
	h.mux.HandleFunc("GET /members", h.authed(h.memberList))
	h.mux.HandleFunc("POST /members/bulk", h.authed(h.memberBulk))
}

// membersData is the member list: the filter, one page, the total, the
// groups (for the filter and the bulk actions) and what was selected.
type membersData struct {
	Filter   members.Filter
	Page     *members.MemberPage
	Groups   []steeple.Group
	Cursor   string
	Selected map[string]bool
	All      bool
	Done     string // a bulk action just applied: its message id
	N        int
	Skipped  int
	Notice   string // an error about the whole selection
}

// FilterQuery is the list's filter as a query string (for links).
func (d membersData) FilterQuery() string {
	return withQuery("", "q", d.Filter.Q, "group", d.Filter.GroupID, "consent", d.Filter.Consent)
}

// NextLink is the next page's address.
func (d membersData) NextLink() string {
	return withQuery("/members", "q", d.Filter.Q, "group", d.Filter.GroupID, "consent", d.Filter.Consent, "cursor", d.Page.NextCursor)
}

// FirstLink is the first page's address.
func (d membersData) FirstLink() string {
	return withQuery("/members", "q", d.Filter.Q, "group", d.Filter.GroupID, "consent", d.Filter.Consent)
}

// Filtered reports whether any filter is set.
func (d membersData) Filtered() bool {
	return d.Filter.Q != "" || d.Filter.GroupID != "" || d.Filter.Consent != ""
}

// filterOf reads the list's filter from a query or a form.
func filterOf(get func(string) string) members.Filter {
	return members.Filter{Q: get("q"), GroupID: get("group"), Consent: get("consent")}
}

// memberList is the paged, searchable list of members. An htmx request
// (search as you type) gets only the results.
func (h *Handler) memberList(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	d := membersData{Filter: filterOf(q.Get), Cursor: q.Get("cursor"), Selected: map[string]bool{}}
	if done := q.Get("done"); done != "" {
		switch done {
		case members.BulkAddToGroup, members.BulkRemoveFromGroup, members.BulkRecordConsent, members.BulkDelete:
			d.Done = "members.bulk.done." + done
			d.N, _ = strconv.Atoi(q.Get("n"))
			d.Skipped, _ = strconv.Atoi(q.Get("skipped"))
		}
	}
	h.showMembers(w, r, s, http.StatusOK, d)
}

// showMembers loads the page for d's filter and renders the list.
func (h *Handler) showMembers(w http.ResponseWriter, r *http.Request, s *session, status int, d membersData) {
	v := s.view
	v.TitleID = "members.title"
	for k, val := range map[string]string{"q": d.Filter.Q, "group": d.Filter.GroupID, "consent": d.Filter.Consent} {
		v.Form.Values[k] = val
	}
	ctx := r.Context()
	v.region = h.phoneRegion(ctx, s.h)
	p, err := h.deps.Members.Page(ctx, s.h, members.ListRequest{Filter: d.Filter, Cursor: d.Cursor, Limit: membersPageSize})
	if fe := fieldErrors(err); fe != nil {
		// A search too long or an unknown consent: said beside the field,
		// with an empty list, never a 500.
		for k, m := range fe {
			v.Form.Errors[k] = m
		}
		status, err = http.StatusBadRequest, nil
		p = &members.MemberPage{}
	}
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d.Page = p
	if d.Groups, err = h.deps.Members.Groups(ctx, s.h); err != nil {
		h.fail(w, r, v, err)
		return
	}
	v.Data = d
	if isHTMX(r) && r.Method == http.MethodGet {
		h.renderFragment(w, status, "members", "results", v)
		return
	}
	h.render(w, r, status, "members", v)
}

// memberBulk applies one action to the members selected (ticked rows, or
// every member matching the filter). Deleting asks first, with the count.
func (h *Handler) memberBulk(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	a, r := actorContext(r, s)
	f := r.PostForm
	d := membersData{Filter: filterOf(f.Get), Selected: map[string]bool{}, All: f.Get("all") == "yes"}
	req := members.BulkRequest{Action: f.Get("action"), GroupID: f.Get("group_id")}
	if d.All {
		filter := d.Filter
		req.Filter = &filter
	} else {
		req.IDs = f["id"]
		if req.IDs == nil {
			req.IDs = []string{}
		}
		for _, id := range req.IDs {
			d.Selected[id] = true
		}
	}
	v.Form.Values["action"], v.Form.Values["group_id"], v.Form.Values["note"] = req.Action, req.GroupID, f.Get("note")
	if req.Action == members.BulkRecordConsent {
		req.Consent = &members.ConsentRequest{Status: steeple.ConsentOptedIn, Source: steeple.ConsentSourceInPerson, Note: f.Get("note")}
	}
	if req.Action == members.BulkDelete && f.Get("confirm") != "yes" && (d.All || len(req.IDs) > 0) {
		n := len(req.IDs)
		if d.All {
			p, err := h.deps.Members.Page(r.Context(), s.h, members.ListRequest{Filter: d.Filter, Limit: 1})
			if err != nil {
				h.fail(w, r, v, err)
				return
			}
			n = p.Total
		}
		h.confirm(w, r, v, v.T("members.bulk.delete.question", "Count", n, "N", v.Num(n)),
			v.T("members.bulk.delete.button", "Count", n, "N", v.Num(n)), "/members"+d.FilterQuery())
		return
	}
	res, err := h.deps.Members.Bulk(r.Context(), s.h, a, req)
	if err != nil {
		if fe := fieldErrors(err); fe != nil {
			for k, m := range fe {
				switch k {
				case "ids":
					d.Notice = "members.bulk.none"
				case "action":
					v.Form.Errors["action"] = "choose an action"
				case "group_id":
					v.Form.Errors["group_id"] = m
				default:
					v.Form.Errors[k] = m
				}
			}
			h.showMembers(w, r, s, http.StatusBadRequest, d)
			return
		}
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, withQuery("/members", "q", d.Filter.Q, "group", d.Filter.GroupID, "consent", d.Filter.Consent,
		"done", req.Action, "n", strconv.Itoa(res.Count), "skipped", strconv.Itoa(res.Skipped)), http.StatusSeeOther)
}
