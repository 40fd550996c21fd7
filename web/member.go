package web

import (
	"net/http"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/members"
)

func (h *Handler) routeMember() {
	h.mux.HandleFunc("GET /members/new", h.authed(h.memberNew))
	h.mux.HandleFunc("POST /members/new", h.authed(h.memberCreate))
	h.mux.HandleFunc("GET /members/{id}", h.authed(h.memberShow))
	h.mux.HandleFunc("POST /members/{id}", h.authed(h.memberEdit))
	// One pattern for the member's sub-actions: "/members/{id}/consent"
	// would conflict with a literal route such as "/members/import/{id}"
	// (net/http cannot tell which is more specific).
	h.mux.HandleFunc("POST /members/{id}/{action}", h.authed(h.memberAction))
}

// memberAction serves /members/{id}/consent and /members/{id}/delete.
func (h *Handler) memberAction(w http.ResponseWriter, r *http.Request, s *session) {
	switch r.PathValue("action") {
	case "consent":
		h.memberConsent(w, r, s)
	case "delete":
		h.memberDelete(w, r, s)
	default:
		h.fail(w, r, s.view, errNotFound)
	}
}

// memberData is one member's page (M nil: a new member).
type memberData struct {
	M       *steeple.Member
	History []steeple.Consent
	Saved   bool
	Notice  string // message id shown above the consent form
}

// OwnStop reports whether the member opted out themselves (STOP, or their
// carrier): an admin cannot undo it.
func (d memberData) OwnStop() bool {
	return d.M != nil && d.M.Consent.Status == steeple.ConsentOptedOut &&
		(d.M.Consent.Source == steeple.ConsentSourceKeyword || d.M.Consent.Source == steeple.ConsentSourceProvider)
}

// memberFields are the fields of the member form.
var memberFields = []string{"first_name", "last_name", "phone", "email"}

func (h *Handler) memberNew(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	v.TitleID = "member.new.title"
	v.Data = memberData{}
	h.render(w, r, http.StatusOK, "member", v)
}

// memberCreate adds a member. Consent is recorded only when the box says
// the person agreed.
func (h *Handler) memberCreate(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	v.TitleID = "member.new.title"
	_, r = actorContext(r, s)
	f := r.PostForm
	for _, k := range append(memberFields, "consent", "wording") {
		v.Form.Values[k] = f.Get(k)
	}
	req := members.MemberRequest{FirstName: f.Get("first_name"), LastName: f.Get("last_name"), Phone: f.Get("phone"), Email: f.Get("email")}
	if f.Get("consent") == "yes" {
		req.Consent = &struct {
			OptedIn bool   `json:"opted_in"`
			Wording string `json:"wording"`
		}{true, f.Get("wording")}
	}
	m, err := h.deps.Members.Create(r.Context(), s.h, req)
	if err != nil {
		if h.formError(v, err, "phone") {
			v.Data = memberData{}
			h.render(w, r, http.StatusBadRequest, "member", v)
			return
		}
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/members/"+m.ID+"?saved=1", http.StatusSeeOther)
}

// loadMember fills a member's page data; another church's id is ENOTFOUND.
func (h *Handler) loadMember(r *http.Request, s *session, id string) (memberData, error) {
	if !steeple.ValidID(id) {
		return memberData{}, errNotFound
	}
	m, err := h.deps.Members.Get(r.Context(), s.h, id)
	if err != nil {
		return memberData{}, err
	}
	hist, err := h.deps.Members.ConsentHistory(r.Context(), s.h, id)
	if err != nil {
		return memberData{}, err
	}
	// Newest first: the latest change is what a secretary looks for.
	for i, j := 0, len(hist)-1; i < j; i, j = i+1, j-1 {
		hist[i], hist[j] = hist[j], hist[i]
	}
	return memberData{M: m, History: hist}, nil
}

// showMember renders a member's page; fields typed in a failed form stay.
func (h *Handler) showMember(w http.ResponseWriter, r *http.Request, s *session, status int, d memberData, typed bool) {
	v := s.view
	v.TitleID = "member.title"
	v.region = h.phoneRegion(r.Context(), s.h)
	if !typed {
		v.Form.Values["first_name"], v.Form.Values["last_name"] = d.M.FirstName, d.M.LastName
		v.Form.Values["phone"], v.Form.Values["email"] = v.Phone(d.M.Phone), d.M.Email
	}
	v.Data = d
	h.render(w, r, status, "member", v)
}

func (h *Handler) memberShow(w http.ResponseWriter, r *http.Request, s *session) {
	d, err := h.loadMember(r, s, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, s.view, err)
		return
	}
	d.Saved = r.URL.Query().Get("saved") == "1"
	h.showMember(w, r, s, http.StatusOK, d, false)
}

// memberEdit is a partial update: only the fields the form sent change,
// so a form without (say) the email never wipes it.
func (h *Handler) memberEdit(w http.ResponseWriter, r *http.Request, s *session) {
	_, r = actorContext(r, s)
	d, err := h.loadMember(r, s, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, s.view, err)
		return
	}
	v := s.view
	f := r.PostForm
	var p members.MemberPatch
	ptrs := map[string]**string{"first_name": &p.FirstName, "last_name": &p.LastName, "phone": &p.Phone, "email": &p.Email}
	for _, k := range memberFields {
		v.Form.Values[k] = memberValue(d.M, k)
		if vals, ok := f[k]; ok {
			val := strings.Join(vals[:1], "")
			v.Form.Values[k] = val
			*ptrs[k] = &val
		}
	}
	if _, err := h.deps.Members.Patch(r.Context(), s.h, d.M.ID, p); err != nil {
		if h.formError(v, err, "phone") {
			h.showMember(w, r, s, http.StatusBadRequest, d, true)
			return
		}
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/members/"+d.M.ID+"?saved=1", http.StatusSeeOther)
}

func memberValue(m *steeple.Member, k string) string {
	switch k {
	case "first_name":
		return m.FirstName
	case "last_name":
		return m.LastName
	case "phone":
		return m.Phone
	}
	return m.Email
}

// memberConsent records consent the admin collected in person, with a
// note. A member's own STOP cannot be undone here: the page says why.
func (h *Handler) memberConsent(w http.ResponseWriter, r *http.Request, s *session) {
	a, r := actorContext(r, s)
	d, err := h.loadMember(r, s, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, s.view, err)
		return
	}
	v := s.view
	f := r.PostForm
	v.Form.Values["status"], v.Form.Values["note"] = f.Get("status"), f.Get("note")
	_, err = h.deps.Members.RecordConsent(r.Context(), s.h, a, d.M.ID,
		members.ConsentRequest{Status: f.Get("status"), Source: steeple.ConsentSourceInPerson, Note: f.Get("note")})
	if err != nil {
		if fe := fieldErrors(err); fe != nil {
			for k, m := range fe {
				if k == "consent" {
					k = "status"
				}
				v.Form.Errors[k] = m
			}
			for _, k := range memberFields {
				v.Form.Values[k] = memberValue(d.M, k)
			}
			h.showMember(w, r, s, http.StatusBadRequest, d, true)
			return
		}
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/members/"+d.M.ID+"?saved=1#consent-h", http.StatusSeeOther)
}

// memberDelete removes a member after a confirmation page.
func (h *Handler) memberDelete(w http.ResponseWriter, r *http.Request, s *session) {
	d, err := h.loadMember(r, s, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, s.view, err)
		return
	}
	v := s.view
	name := strings.TrimSpace(d.M.FirstName + " " + d.M.LastName)
	if r.PostForm.Get("confirm") != "yes" {
		h.confirm(w, r, v, v.T("member.delete.question", "Name", name), v.T("member.delete.button", "Name", name), "/members/"+d.M.ID)
		return
	}
	if err := h.deps.Members.Delete(r.Context(), s.h, d.M.ID); err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, withQuery("/members", "done", members.BulkDelete, "n", "1"), http.StatusSeeOther)
}
