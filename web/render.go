package web

import (
	"bytes"
	"html/template"
	"net/http"
	"time"

	"github.com/steeple-sms/steeple"
)

// pages are the parsed templates: each page is the layout plus its own file.
type pages struct {
	byName map[string]*template.Template
}

// pageNames are the templates in templates/, one per screen.
var pageNames = []string{"signup", "signin", "choose", "mfa", "home", "broadcast", "error", "setup",
	"password_forgot", "password_reset", "account_password", "accept", "verify",
	"members", "member", "groups", "templates", "template", "confirm", "import", "import_preview", "import_summary",
	"compose", "compose_review", "schedules", "messages", "reports", "keywords", "keyword", "settings", "export", "close", "admins", "account", "audit", "numbers", "number_order", "registration", "inbox", "conversation"}

func loadPages(st *assets) (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(template.FuncMap{"asset": st.url}).
			ParseFS(templateFS, "templates/layout.html", "templates/keyword_form.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		p.byName[name] = t
	}
	return p, nil
}

// form is a submitted form: what was typed, and the errors beside fields.
type form struct {
	Values map[string]string
	Errors map[string]string // field → message from the service (translated when shown)
}

// Value returns what was typed in a field.
func (f form) Value(name string) string { return f.Values[name] }

// view is what every template gets.
type view struct {
	Lang     string
	TitleID  string
	Path     string // where the language picker comes back to
	Church   string
	Admin    *steeple.Admin
	Form     form
	Notice   string // a translated message shown above the form
	Data     any
	tr       *translator
	location *time.Location
	region   string // the church's phone region, for Phone (set by pages that show numbers)
}

// T translates a message id (args: name, value pairs).
func (v *view) T(id string, args ...any) string { return v.tr.text(v.Lang, id, args...) }

// AuditAction names an audit log action in the reader's language; an
// action without a translation shows its code.
func (v *view) AuditAction(code string) string {
	id := "audit.action." + code
	if s := v.T(id); s != id {
		return s
	}
	return code
}

// FieldError is the translated error beside a field ("" when none).
func (v *view) FieldError(name string) string {
	return v.tr.serviceMessage(v.Lang, v.Form.Errors[name])
}

// Invalid is "true" when the field has an error (for aria-invalid).
func (v *view) Invalid(name string) string {
	if v.Form.Errors[name] != "" {
		return "true"
	}
	return ""
}

// Time shows a moment in the church's timezone, labelled.
func (v *view) Time(t time.Time) string { return formatTime(v.Lang, t, v.loc()) }

// Date shows a day in the church's timezone.
func (v *view) Date(t time.Time) string { return formatDate(v.Lang, t, v.loc()) }

// Num groups a number's thousands for the reader's language.
func (v *view) Num(n int) string { return formatNumber(v.Lang, n) }

// Languages are the choices of the language picker.
func (v *view) Languages() []string { return Languages }

func (v *view) loc() *time.Location {
	if v.location == nil {
		return time.UTC
	}
	return v.location
}

// newView starts a view in the request's language (before sign-in).
func (h *Handler) newView(r *http.Request, titleID string) *view {
	path := "/"
	if r.Method == http.MethodGet {
		path = safeNext(r.URL.Path)
	} else if r.URL.Path == "/signup" || r.URL.Path == "/signin" {
		path = r.URL.Path
	}
	return &view{Lang: h.tr.browserLanguage(r), TitleID: titleID, tr: h.tr, Path: path,
		Form: form{Values: map[string]string{}, Errors: map[string]string{}}}
}

// render writes a page. Pages of a signed-in admin are never cached.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	var buf bytes.Buffer
	if err := h.pages.byName[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		h.deps.Logger.Error("web: rendering page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Language", v.Lang)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
