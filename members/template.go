package members

import (
	"context"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// Placeholders a template may use.
var placeholders = []string{"{first_name}", "{church_name}"}

// Render fills a template's placeholders for one recipient.
func Render(body, firstName, churchName string) string {
	return strings.NewReplacer("{first_name}", firstName, "{church_name}", churchName).Replace(body)
}

// TemplateRequest creates or replaces a template.
type TemplateRequest struct {
	Name string `json:"name"`
	Body string `json:"body"`
}

func (r TemplateRequest) validate() (string, string, error) {
	fe := map[string]string{}
	name, body := strings.TrimSpace(r.Name), strings.TrimSpace(r.Body)
	if name == "" {
		fe["name"] = "is required"
	} else if len([]rune(name)) > 100 {
		fe["name"] = "must be at most 100 characters"
	}
	if body == "" {
		fe["body"] = "is required"
	} else if len([]rune(body)) > 1600 {
		fe["body"] = "must be at most 1600 characters"
	} else if msg := CheckVariables(body); msg != "" {
		fe["body"] = msg
	}
	if len(fe) > 0 {
		return "", "", &steeple.Error{Code: steeple.EINVALID, Message: "some fields are invalid", Fields: fe}
	}
	return name, body, nil
}

// unknownPlaceholder returns the first {word} that is not a known placeholder.
func unknownPlaceholder(body string) string {
	rest := body
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			return ""
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return ""
		}
		p := rest[i : i+j+1]
		known := false
		for _, k := range placeholders {
			known = known || p == k
		}
		if !known && !strings.ContainsAny(p[1:len(p)-1], " {") {
			return p
		}
		rest = rest[i+1:]
	}
}

// CreateTemplate adds a template.
func (s *Service) CreateTemplate(ctx context.Context, h *tenancy.Handle, r TemplateRequest) (*steeple.Template, error) {
	name, body, err := r.validate()
	if err != nil {
		return nil, err
	}
	return s.store.CreateTemplate(ctx, h, name, body)
}

// UpdateTemplate replaces a template.
func (s *Service) UpdateTemplate(ctx context.Context, h *tenancy.Handle, id string, r TemplateRequest) (*steeple.Template, error) {
	if !steeple.ValidID(id) {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "template not found")
	}
	name, body, err := r.validate()
	if err != nil {
		return nil, err
	}
	return s.store.UpdateTemplate(ctx, h, id, name, body)
}

// Template returns a template.
func (s *Service) Template(ctx context.Context, h *tenancy.Handle, id string) (*steeple.Template, error) {
	if !steeple.ValidID(id) {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "template not found")
	}
	return s.store.Template(ctx, h, id)
}

// Templates lists templates.
func (s *Service) Templates(ctx context.Context, h *tenancy.Handle) ([]*steeple.Template, error) {
	return s.store.Templates(ctx, h)
}

// DeleteTemplate removes a template.
func (s *Service) DeleteTemplate(ctx context.Context, h *tenancy.Handle, id string) error {
	if !steeple.ValidID(id) {
		return steeple.Errorf(steeple.ENOTFOUND, "template not found")
	}
	return s.store.DeleteTemplate(ctx, h, id)
}
