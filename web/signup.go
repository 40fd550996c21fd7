package web

import (
	"net/http"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
)

func (h *Handler) routeSignup() {
	h.mux.HandleFunc("GET /signup", h.signupPage)
	h.mux.HandleFunc("POST /signup", h.signup)
}

// timezones offered at sign-up, the ones US churches use.
var timezones = []string{"America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
	"America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Puerto_Rico"}

// signupData is what the sign-up page shows besides the form.
type signupData struct {
	Timezones []string
	Same      []auth.Church // churches of the same name this email already runs
}

var signupFields = []string{"church.name", "church.timezone", "admin.name", "admin.email"}

func (h *Handler) signupPage(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "signup.title")
	v.Form.Values["church.timezone"] = "America/New_York"
	v.Data = signupData{Timezones: timezones}
	h.render(w, r, http.StatusOK, "signup", v)
}

// signup creates a church and its owner, then signs the owner in. The same
// church name with the same email and that admin's password asks for
// confirmation first; otherwise it is an ordinary signup (the warning
// never tells who runs which church without the password).
func (h *Handler) signup(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "signup.title")
	if !h.parseForm(w, r, v) {
		return
	}
	for _, f := range signupFields {
		v.Form.Values[f] = strings.TrimSpace(r.PostForm.Get(f))
	}
	data := signupData{Timezones: timezones}
	v.Data = &data
	var req auth.SignupRequest
	req.Church.Name, req.Church.Timezone = v.Form.Values["church.name"], v.Form.Values["church.timezone"]
	req.Admin.Name, req.Admin.Email, req.Admin.Password = v.Form.Values["admin.name"], v.Form.Values["admin.email"], r.PostForm.Get("admin.password")
	if r.PostForm.Get("confirm_duplicate") != "yes" && req.Church.Name != "" {
		same, err := h.deps.Auth.SameChurches(r.Context(), req.Church.Name, req.Admin.Email, req.Admin.Password)
		if err != nil {
			h.fail(w, r, v, err)
			return
		}
		if len(same) > 0 {
			data.Same = same
			v.Notice = v.T("signup.duplicate", "Name", req.Church.Name)
			h.render(w, r, http.StatusConflict, "signup", v)
			return
		}
	}
	_, res, err := h.deps.Auth.WebSignup(r.Context(), req, client(r))
	if err != nil {
		if h.formError(v, err, "church.name") {
			h.render(w, r, statusOf(err), "signup", v)
			return
		}
		h.fail(w, r, v, err)
		return
	}
	setCookie(w, sessionCookie, res.WebSession, h.deps.Now().Add(auth.WebAbsoluteTimeout))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// parseForm reads a public form's body (bounded) before any database work.
func (h *Handler) parseForm(w http.ResponseWriter, r *http.Request, v *view) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, v, steeple.Errorf(steeple.ETOOLARGE, "the form is too large"))
		return false
	}
	return true
}

// statusOf is the status of a form shown again with its errors.
func statusOf(err error) int {
	if p, ok := pageOf[steeple.ErrorCode(err)]; ok {
		return p.status
	}
	return http.StatusBadRequest
}
