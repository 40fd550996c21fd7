package web

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/members"
)

func (h *Handler) routeTemplates() {
	h.mux.HandleFunc("GET /templates", h.authed(h.templateList))
	h.mux.HandleFunc("GET /templates/new", h.authed(h.templateNew))
	h.mux.HandleFunc("POST /templates/new", h.authed(h.templateSave))
	h.mux.HandleFunc("GET /templates/{id}", h.authed(h.templateShow))
	h.mux.HandleFunc("POST /templates/{id}", h.authed(h.templateSave))
	h.mux.HandleFunc("POST /templates/{id}/delete", h.authed(h.templateDelete))
}

// templatesData is the template list.
type templatesData struct {
	Templates []*steeple.Template
	Done      string
}

// templateData is the template editor. ID "" is a new template.
type templateData struct {
	ID        string
	Action    string
	Variables []members.Variable
	Members   []*steeple.Member // whose data a preview can use
	Preview   string
	PreviewOf string // the member's name
	Fragment  bool   // only the preview is rendered (htmx): its errors show there
}

func (h *Handler) templateList(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	v.TitleID = "templates.title"
	ts, err := h.deps.Members.Templates(r.Context(), s.h)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d := templatesData{Templates: ts}
	switch r.URL.Query().Get("done") {
	case "saved", "deleted":
		d.Done = "templates.done." + r.URL.Query().Get("done")
	}
	v.Data = d
	h.render(w, r, http.StatusOK, "templates", v)
}

// showTemplate renders the editor (or, for htmx, only the preview).
func (h *Handler) showTemplate(w http.ResponseWriter, r *http.Request, s *session, status int, d templateData) {
	v := s.view
	v.TitleID = "template.title"
	if d.ID == "" {
		v.TitleID = "template.new.title"
		d.Action = "/templates/new"
	} else {
		d.Action = "/templates/" + d.ID
	}
	d.Variables = members.Variables
	if isHTMX(r) && r.Method == http.MethodPost {
		d.Fragment = true
		v.Data = d
		h.renderFragment(w, status, "template", "preview", v)
		return
	}
	p, err := h.deps.Members.Page(r.Context(), s.h, members.ListRequest{Limit: membersPageSize})
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d.Members = p.Members
	v.Data = d
	h.render(w, r, status, "template", v)
}

func (h *Handler) templateNew(w http.ResponseWriter, r *http.Request, s *session) {
	h.showTemplate(w, r, s, http.StatusOK, templateData{})
}

func (h *Handler) templateShow(w http.ResponseWriter, r *http.Request, s *session) {
	t, err := h.deps.Members.Template(r.Context(), s.h, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, s.view, err)
		return
	}
	s.view.Form.Values["name"], s.view.Form.Values["body"] = t.Name, t.Body
	h.showTemplate(w, r, s, http.StatusOK, templateData{ID: t.ID})
}

// templateSave saves the form, or (op=insert) appends the chosen variable
// without saving — app.js inserts at the cursor instead when script runs —
// or (op=preview) shows the text as the chosen member would receive it.
func (h *Handler) templateSave(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	d := templateData{ID: r.PathValue("id")}
	if d.ID != "" {
		if _, err := h.deps.Members.Template(r.Context(), s.h, d.ID); err != nil {
			h.fail(w, r, v, err)
			return
		}
	}
	f := r.PostForm
	for _, k := range []string{"name", "body", "variable", "member_id"} {
		v.Form.Values[k] = f.Get(k)
	}
	body := f.Get("body")
	switch f.Get("op") {
	case "insert":
		out, err := members.InsertVariable(members.InsertVariableRequest{Body: body, Variable: f.Get("variable"), Position: len([]rune(body))})
		if err != nil {
			v.Form.Errors["variable"] = "choose a variable from the list"
			h.showTemplate(w, r, s, http.StatusBadRequest, d)
			return
		}
		v.Form.Values["body"] = out.Body
		h.showTemplate(w, r, s, http.StatusOK, d)
		return
	case "preview":
		p, err := h.deps.Members.PreviewTemplate(r.Context(), s.h, members.PreviewRequest{Body: body, MemberID: f.Get("member_id")})
		if err != nil {
			if fe := fieldErrors(err); fe != nil {
				for k, m := range fe {
					v.Form.Errors[k] = v.varMessage(m)
				}
				h.showTemplate(w, r, s, http.StatusBadRequest, d)
				return
			}
			h.fail(w, r, v, err) // another church's member: 404
			return
		}
		d.Preview = p.Text
		if m, err := h.deps.Members.Get(r.Context(), s.h, p.MemberID); err == nil {
			d.PreviewOf = strings.TrimSpace(m.FirstName + " " + m.LastName)
		}
		h.showTemplate(w, r, s, http.StatusOK, d)
		return
	}
	req := members.TemplateRequest{Name: f.Get("name"), Body: body}
	var err error
	if d.ID == "" {
		_, err = h.deps.Members.CreateTemplate(r.Context(), s.h, req)
	} else {
		_, err = h.deps.Members.UpdateTemplate(r.Context(), s.h, d.ID, req)
	}
	if err != nil {
		if steeple.ErrorCode(err) == steeple.ECONFLICT {
			err = steeple.FieldError("name", "a template with this name already exists")
		}
		if fe := fieldErrors(err); fe != nil {
			for k, m := range fe {
				v.Form.Errors[k] = v.varMessage(m)
			}
			h.showTemplate(w, r, s, http.StatusBadRequest, d)
			return
		}
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/templates?done=saved", http.StatusSeeOther)
}

func (h *Handler) templateDelete(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	t, err := h.deps.Members.Template(r.Context(), s.h, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		h.confirm(w, r, v, v.T("template.delete.question", "Name", t.Name), v.T("template.delete.button", "Name", t.Name), "/templates/"+t.ID)
		return
	}
	if err := h.deps.Members.DeleteTemplate(r.Context(), s.h, t.ID); err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/templates?done=deleted", http.StatusSeeOther)
}

// The variable checks' messages carry a position and the known variables;
// varMessage says them in the reader's language.
var (
	reUnknownVar = regexp.MustCompile(`^unknown variable (\{.*\}) at character (\d+); known variables: (.*)$`)
	reUnclosed   = regexp.MustCompile(`^variable (".*") at character (\d+) is not closed with \}; known variables: (.*)$`)
	reDoubled    = regexp.MustCompile(`^malformed variable at character (\d+): use single braces, like \{first_name\}; known variables: (.*)$`)
	reLoneClose  = regexp.MustCompile(`^a closing brace without an opening one at character (\d+); known variables: (.*)$`)
)

func (v *view) varMessage(msg string) string {
	if m := reUnknownVar.FindStringSubmatch(msg); m != nil {
		return v.T("template.var.unknown", "Var", m[1], "Pos", m[2], "Known", m[3])
	}
	if m := reUnclosed.FindStringSubmatch(msg); m != nil {
		return v.T("template.var.unclosed", "Var", m[1], "Pos", m[2], "Known", m[3])
	}
	if m := reDoubled.FindStringSubmatch(msg); m != nil {
		return v.T("template.var.doubled", "Pos", m[1], "Known", m[2])
	}
	if m := reLoneClose.FindStringSubmatch(msg); m != nil {
		return v.T("template.var.close", "Pos", m[1], "Known", m[2])
	}
	return msg
}
