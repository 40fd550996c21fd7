package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/members"
	"github.com/steeple-sms/steeple/messaging"
)

func (h *Handler) routeSettings() {
	h.mux.HandleFunc("GET /settings", h.authed(h.manager(h.settingsPage)))
	h.mux.HandleFunc("POST /settings/church", h.authed(h.manager(h.settingsChurch)))
	h.mux.HandleFunc("POST /settings/texting", h.authed(h.manager(h.settingsTexting)))
	h.mux.HandleFunc("POST /settings/count", h.authed(h.manager(h.settingsCount)))
}

// settingsData is the settings page: the church (registry) and its
// texting settings (the church's database).
type settingsData struct {
	Timezones []string
	Count     messaging.Count // the welcome text's parts
	Done      string
}

func (h *Handler) showSettings(w http.ResponseWriter, r *http.Request, s *session, status int, done string) {
	v := s.view
	v.TitleID = "settings.title"
	st, err := h.deps.Members.Settings(r.Context(), s.h)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	t := s.h.Tenant()
	keep := func(k, val string) {
		if _, typed := v.Form.Values[k]; !typed {
			v.Form.Values[k] = val
		}
	}
	keep("name", t.Name)
	keep("timezone", t.Timezone)
	keep("quiet_hours_start", st.QuietHoursStart)
	keep("quiet_hours_end", st.QuietHoursEnd)
	keep("welcome_text", st.WelcomeText)
	keep("help_contact", st.HelpContact)
	d := settingsData{Timezones: timezones, Done: done, Count: messaging.CountText(welcomeSample(v.Form.Value("welcome_text"), t.Name))}
	if !slices.Contains(timezones, t.Timezone) {
		d.Timezones = append([]string{t.Timezone}, timezones...)
	}
	v.Data = d
	h.render(w, r, status, "settings", v)
}

// welcomeSample is the welcome text as a member gets it (the church's
// name filled in), for counting its parts.
func welcomeSample(text, church string) string {
	return strings.ReplaceAll(text, "{church_name}", church)
}

func (h *Handler) settingsPage(w http.ResponseWriter, r *http.Request, s *session) {
	done := ""
	switch r.URL.Query().Get("done") {
	case "church", "texting":
		done = "settings.done." + r.URL.Query().Get("done")
	}
	h.showSettings(w, r, s, http.StatusOK, done)
}

func (h *Handler) settingsChurch(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	v.Form.Values["name"], v.Form.Values["timezone"] = r.PostForm.Get("name"), r.PostForm.Get("timezone")
	_, err := h.deps.Auth.UpdateChurch(r.Context(), s.h, s.admin, auth.ChurchProfile{Name: r.PostForm.Get("name"),
		Timezone: r.PostForm.Get("timezone")}, client(r).IP)
	if err != nil {
		if h.formError(v, err, "name") {
			h.showSettings(w, r, s, http.StatusBadRequest, "")
			return
		}
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/settings?done=church", http.StatusSeeOther)
}

func (h *Handler) settingsTexting(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	in := members.SettingsUpdate{}
	for k, p := range map[string]**string{"quiet_hours_start": &in.QuietHoursStart, "quiet_hours_end": &in.QuietHoursEnd,
		"welcome_text": &in.WelcomeText, "help_contact": &in.HelpContact} {
		val := r.PostForm.Get(k)
		v.Form.Values[k] = val
		*p = &val
	}
	_, r = actorContext(r, s)
	if _, err := h.deps.Members.UpdateSettings(r.Context(), s.h, in); err != nil {
		if h.formError(v, err, "welcome_text") {
			h.showSettings(w, r, s, http.StatusBadRequest, "")
			return
		}
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/settings?done=texting", http.StatusSeeOther)
}

// settingsCount is the welcome text's live part counter (an htmx fragment).
func (h *Handler) settingsCount(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	v.Data = settingsData{Count: messaging.CountText(welcomeSample(r.PostForm.Get("welcome_text"), s.h.Tenant().Name))}
	h.renderFragment(w, http.StatusOK, "settings", "welcome_count", v)
}
