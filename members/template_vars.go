package members

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// Variable is a placeholder a template may use.
type Variable struct {
	Name        string `json:"name"`        // first_name
	Placeholder string `json:"placeholder"` // {first_name}
	Description string `json:"description"`
}

// Variables are the placeholders templates may use, filled by Render.
var Variables = []Variable{
	{"first_name", "{first_name}", "the member's first name"},
	{"church_name", "{church_name}", "the church's name"},
}

func knownVariables() string {
	names := make([]string, len(Variables))
	for i, v := range Variables {
		names[i] = v.Placeholder
	}
	return strings.Join(names, ", ")
}

func isVariable(name string) bool {
	for _, v := range Variables {
		if v.Name == name {
			return true
		}
	}
	return false
}

// CheckVariables finds the first unknown or malformed variable in a
// template body and says what and where (character position, from 1), with
// the known variables; "" when every variable is well formed and known.
// Braces are only for variables: "{{first_name}}", "{name}", "{first_name"
// and a lone "}" are refused.
func CheckVariables(body string) string {
	known := "; known variables: " + knownVariables()
	runes := []rune(body)
	for i := 0; i < len(runes); i++ {
		pos := i + 1
		switch runes[i] {
		case '}':
			return fmt.Sprintf("a closing brace without an opening one at character %d%s", pos, known)
		case '{':
			j := i + 1
			for j < len(runes) && runes[j] != '}' && runes[j] != '{' {
				j++
			}
			if j == len(runes) {
				return fmt.Sprintf("variable %q at character %d is not closed with }%s", clip(string(runes[i:])), pos, known)
			}
			if runes[j] == '{' {
				return fmt.Sprintf("malformed variable at character %d: use single braces, like {first_name}%s", pos, known)
			}
			name := string(runes[i+1 : j])
			if !isVariable(name) {
				return fmt.Sprintf("unknown variable {%s} at character %d%s", clip(name), pos, known)
			}
			i = j
		}
	}
	return ""
}

// clip shortens what an error quotes.
func clip(s string) string {
	if utf8.RuneCountInString(s) > 30 {
		return string([]rune(s)[:30]) + "…"
	}
	return s
}

// InsertVariableRequest inserts a variable into a template body being edited.
type InsertVariableRequest struct {
	Body     string `json:"body"`
	Variable string `json:"variable"` // first_name or {first_name}
	// Position is where to insert, in characters from the start (0: before
	// the first); past the end appends.
	Position int `json:"position"`
}

// InsertedVariable is the body with the variable and where the cursor goes.
type InsertedVariable struct {
	Body     string `json:"body"`
	Position int    `json:"position"` // just after the inserted variable
}

// InsertVariable puts a known variable into a body at a character
// position. Errors: EINVALID (unknown variable, negative position).
func InsertVariable(r InsertVariableRequest) (*InsertedVariable, error) {
	name := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(r.Variable), "{"), "}")
	if !isVariable(name) {
		return nil, steeple.FieldError("variable", "is not a known variable; known variables: "+knownVariables())
	}
	if r.Position < 0 {
		return nil, steeple.FieldError("position", "must be 0 or more")
	}
	runes := []rune(r.Body)
	p := min(r.Position, len(runes))
	v := "{" + name + "}"
	out := string(runes[:p]) + v + string(runes[p:])
	return &InsertedVariable{Body: out, Position: p + utf8.RuneCountInString(v)}, nil
}

// PreviewRequest renders a template (by id, or a body being edited) for
// one real member.
type PreviewRequest struct {
	TemplateID string `json:"template_id"`
	Body       string `json:"body"`
	MemberID   string `json:"member_id"`
}

// Preview is a template as one member would receive it.
type Preview struct {
	Text     string `json:"text"`
	MemberID string `json:"member_id"`
}

// PreviewTemplate fills a template with a member's data and the church's
// name. Errors: EINVALID (no body or a bad variable, with its position),
// ENOTFOUND (template or member).
func (s *Service) PreviewTemplate(ctx context.Context, h *tenancy.Handle, r PreviewRequest) (*Preview, error) {
	body := r.Body
	switch {
	case r.TemplateID != "" && body != "":
		return nil, steeple.FieldError("body", "give a template_id or a body, not both")
	case r.TemplateID != "":
		t, err := s.Template(ctx, h, r.TemplateID)
		if err != nil {
			return nil, err
		}
		body = t.Body
	case strings.TrimSpace(body) == "":
		return nil, steeple.FieldError("body", "is required (or a template_id)")
	}
	if msg := CheckVariables(body); msg != "" {
		return nil, steeple.FieldError("body", msg)
	}
	if r.MemberID == "" {
		return nil, steeple.FieldError("member_id", "is required")
	}
	m, err := s.Get(ctx, h, r.MemberID)
	if err != nil {
		return nil, err
	}
	return &Preview{Text: Render(body, m.FirstName, h.Tenant().Name), MemberID: m.ID}, nil
}
