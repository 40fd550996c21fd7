package web

import (
	"net/http"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/registration"
	"github.com/steeple-sms/steeple/tenancy"
)

// The 10DLC registration page: where the registration stands (a timeline
// with the provider's reasons and what to fix), what changes once it is
// approved, and the form, step by step, while there is something to
// submit. Only owners and admins reach it.
func (h *Handler) routeRegistration() {
	h.mux.HandleFunc("GET /registration", h.authed(h.manager(h.registrationPage)))
	h.mux.HandleFunc("POST /registration", h.authed(h.manager(h.registrationSubmit)))
	h.mux.HandleFunc("POST /registration/check", h.authed(h.manager(h.registrationCheck)))
}

// registrationFields are the form's fields, in the order they are asked.
var registrationFields = []string{"legal_name", "ein", "street", "city", "state", "postal_code", "website", "contact_email", "contact_phone"}

// registrationData is the registration page.
type registrationData struct {
	St       *registration.Status
	Campaign registration.CampaignText
	Timeline []timelineItem
	Editable bool   // the form is shown: never submitted, or failed
	FixID    string // what to fix after a failure
	Done     string
	Rate     string // texts per second from a number now
	RegRate  string // once registered
	Cap      int    // texts a day now (0: none)
	Numbers  []*tenancy.Number
}

// timelineItem is one step of the registration as the church sees it.
type timelineItem struct {
	TextID string
	State  string // done, current, failed or todo
}

func (h *Handler) showRegistration(w http.ResponseWriter, r *http.Request, s *session, status int, done string) {
	v := s.view
	v.TitleID = "registration.title"
	v.region = h.phoneRegion(r.Context(), s.h)
	st, err := h.deps.Registration.Get(r.Context(), s.h)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d := registrationData{St: st, Done: done, Numbers: st.Numbers, Timeline: timeline(st),
		RegRate: formatRate(h.deps.Limits.RegisteredRate)}
	if st.Status != steeple.RegProvisioned {
		d.Rate, d.Cap = formatRate(h.deps.Limits.UnregisteredRate), h.deps.Limits.UnregisteredDailyCap
	}
	switch st.Status {
	case "not_submitted":
		d.Editable = true
	case steeple.RegBrandFailed:
		d.Editable, d.FixID = true, "registration.fix.brand"
	case steeple.RegCampaignRejected:
		d.Editable, d.FixID = true, "registration.fix.campaign"
	}
	if d.Campaign, err = h.deps.Registration.Campaign(r.Context(), s.h); err != nil {
		h.fail(w, r, v, err)
		return
	}
	if status == http.StatusOK && st.Status != "not_submitted" {
		// A correction starts from what was sent; the EIN is typed again
		// (only its last four digits are kept to show).
		p := st.Profile
		for k, val := range map[string]string{"legal_name": p.LegalName, "street": p.Street, "city": p.City, "state": p.State,
			"postal_code": p.PostalCode, "website": p.Website, "contact_email": p.ContactEmail, "contact_phone": p.ContactPhone} {
			v.Form.Values[k] = val
		}
		if p.ContactPhone != "" {
			v.Form.Values["contact_phone"] = v.Phone(p.ContactPhone)
		}
	}
	v.Data = d
	h.render(w, r, status, "registration", v)
}

// timeline places the registration on its four steps.
func timeline(st *registration.Status) []timelineItem {
	ids := []string{"registration.step.submitted", "registration.step.brand", "registration.step.campaign", "registration.step.numbers"}
	states := map[steeple.RegistrationStatus][]string{
		"not_submitted":             {"current", "todo", "todo", "todo"},
		steeple.RegBrandPending:     {"done", "current", "todo", "todo"},
		steeple.RegBrandFailed:      {"done", "failed", "todo", "todo"},
		steeple.RegCampaignPending:  {"done", "done", "current", "todo"},
		steeple.RegCampaignRejected: {"done", "done", "failed", "todo"},
		steeple.RegProvisioned:      {"done", "done", "done", "current"},
	}[st.Status]
	if states == nil {
		return nil
	}
	if st.Status == steeple.RegProvisioned {
		states[3] = "done"
		for _, n := range st.Numbers {
			if n.CampaignState != tenancy.CampaignAssigned {
				states[3] = "current"
			}
		}
	}
	out := make([]timelineItem, len(ids))
	for i := range ids {
		out[i] = timelineItem{TextID: ids[i], State: states[i]}
	}
	return out
}

func (h *Handler) registrationPage(w http.ResponseWriter, r *http.Request, s *session) {
	done := ""
	if r.URL.Query().Get("done") == "submitted" {
		done = "registration.done.submitted"
	}
	h.showRegistration(w, r, s, http.StatusOK, done)
}

// registrationForm reads the form and keeps what was typed.
func registrationForm(r *http.Request, v *view) registration.SubmitRequest {
	for _, k := range registrationFields {
		v.Form.Values[k] = r.PostForm.Get(k)
	}
	f := r.PostForm.Get
	return registration.SubmitRequest{LegalName: f("legal_name"), EIN: f("ein"), Street: f("street"), City: f("city"),
		State: f("state"), PostalCode: f("postal_code"), Website: f("website"), ContactEmail: f("contact_email"),
		ContactPhone: f("contact_phone")}
}

func (h *Handler) registrationSubmit(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	_, err := h.deps.Registration.Submit(r.Context(), s.h, s.admin, client(r).IP, registrationForm(r, v))
	if err != nil {
		if !h.formError(v, err, "form") {
			h.fail(w, r, v, err)
			return
		}
		v.Form.Values["ein"] = "" // not sent back into the page
		h.showRegistration(w, r, s, http.StatusBadRequest, "")
		return
	}
	http.Redirect(w, r, "/registration?done=submitted", http.StatusSeeOther)
}

// registrationCheck answers the error (or none) for the one field named
// by "field", as it is left: htmx puts it beside the field.
func (h *Handler) registrationCheck(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	name := r.PostForm.Get("field")
	known := false
	for _, f := range registrationFields {
		known = known || f == name
	}
	if !known {
		h.fail(w, r, v, errNotFound)
		return
	}
	if err := registration.Check(registrationForm(r, v)); err != nil {
		if m := fieldErrors(err)[name]; m != "" {
			v.Form.Errors[name] = m
		}
	}
	if v.Form.Values[name] == "" {
		delete(v.Form.Errors, name) // a field left empty is not a mistake until the form is sent
	}
	v.Data = v.RegField(name)
	h.renderFragment(w, http.StatusOK, "registration", "reg_check", v)
}

// regField is one field of the registration form, ready to show.
type regField struct {
	Name, ID, Label, Help, Value, Error string
	Type, Autocomplete                  string
}

// regInputs are each field's input type and autocomplete token.
var regInputs = map[string][2]string{
	"legal_name": {"text", "organization"}, "ein": {"text", "off"}, "street": {"text", "address-line1"},
	"city": {"text", "address-level2"}, "state": {"text", "address-level1"}, "postal_code": {"text", "postal-code"},
	"website": {"url", "url"}, "contact_email": {"email", "email"}, "contact_phone": {"tel", "tel"},
}

// RegField is a registration form field with its label, help, what was
// typed and its error, translated.
func (v *view) RegField(name string) regField {
	in := regInputs[name]
	f := regField{Name: name, ID: "r-" + name, Label: v.T("registration.f." + name), Help: v.T("registration.f." + name + ".help"),
		Value: v.Form.Value(name), Error: v.FieldError(name), Type: in[0], Autocomplete: in[1]}
	return f
}
