package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/members"
)

// A template with an unknown or malformed variable is refused with where
// it is and the known variables; a variable is inserted at a position; a
// preview fills a real member's data.
func TestTemplateVariables(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		a := signup(t, s, "Grace Chapel", "owner@grace.example.org", pw1)
		other := signup(t, s, "Hope Church", "owner@hope.example.org", pw2)
		for body, want := range map[string]string{
			"Hi {{first_name}}!":         "character 4",
			"Hi {name}, see you":         "unknown variable {name} at character 4",
			"Hi {first_name, welcome":    "at character 4 is not closed",
			"Dear Zoë {last_name}":       "unknown variable {last_name} at character 10",
			"Smile :} {first_name}":      "closing brace without an opening one at character 8",
			"{church_name} {First_Name}": "unknown variable {First_Name} at character 15",
		} {
			for _, method := range []string{"POST", "PUT"} {
				path := "/api/v1/templates"
				if method == "PUT" {
					path += "/" + mustTemplate(t, s, a.access)
				}
				r := s.Do(t, method, path, a.access, map[string]any{"name": "Bad " + body, "body": body})
				wantError(t, r, http.StatusBadRequest, "invalid")
				msg := r.Fields(t)["body"]
				if !strings.Contains(msg, want) || !strings.Contains(msg, "{first_name}, {church_name}") {
					t.Errorf("%s %q: fields.body = %q; want %q and the known variables", method, body, msg, want)
				}
			}
		}

		r := s.Do(t, "GET", "/api/v1/templates/variables", a.access, nil)
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(r.Raw, `"placeholder":"{first_name}"`) || !strings.Contains(r.Raw, `"placeholder":"{church_name}"`) {
			t.Fatalf("variables: %s", r.Raw)
		}
		r = s.Do(t, "POST", "/api/v1/templates/insert-variable", a.access, map[string]any{"body": "Hi Zoë, see you", "variable": "first_name", "position": 3})
		wantStatus(t, r, http.StatusOK)
		var ins members.InsertedVariable
		if r.Decode(t, &ins); ins.Body != "Hi {first_name}Zoë, see you" || ins.Position != 15 {
			t.Fatalf("insert: %s", r.Raw)
		}
		r = s.Do(t, "POST", "/api/v1/templates/insert-variable", a.access, map[string]any{"body": "Hi", "variable": "{name}", "position": 1})
		wantError(t, r, http.StatusBadRequest, "invalid")
		wantField(t, r, "variable")

		m := postMember(t, s, a.access, "Zoë", "Brontë", "+13125550901", true)
		olga := postMember(t, s, other.access, "Olga", "Other", "+13125550902", true)
		tr := s.Do(t, "POST", "/api/v1/templates", a.access, map[string]any{"name": "Hello", "body": "Hi {first_name}, from {church_name}"})
		wantStatus(t, tr, http.StatusCreated)
		tid := tr.ID(t)
		r = s.Do(t, "POST", "/api/v1/templates/preview", a.access, map[string]any{"template_id": tid, "member_id": m.ID})
		wantStatus(t, r, http.StatusOK)
		var pv struct{ Text string }
		if r.Decode(t, &pv); pv.Text != "Hi Zoë, from Grace Chapel" {
			t.Fatalf("preview: %q", pv.Text)
		}
		r = s.Do(t, "POST", "/api/v1/templates/preview", a.access, map[string]any{"body": "Bye {first_name}", "member_id": m.ID})
		wantStatus(t, r, http.StatusOK)
		pv.Text = ""
		if r.Decode(t, &pv); pv.Text != "Bye Zoë" {
			t.Fatalf("preview of a draft: %s", r.Raw)
		}
		r = s.Do(t, "POST", "/api/v1/templates/preview", a.access, map[string]any{"body": "Bye {nme}", "member_id": m.ID})
		wantError(t, r, http.StatusBadRequest, "invalid")
		wantField(t, r, "body")
		wantError(t, s.Do(t, "POST", "/api/v1/templates/preview", a.access, map[string]any{"template_id": tid, "member_id": olga.ID}), http.StatusNotFound, "not_found")
		wantError(t, s.Do(t, "POST", "/api/v1/templates/preview", other.access, map[string]any{"template_id": tid, "member_id": olga.ID}), http.StatusNotFound, "not_found")
	})
}

// mustTemplate creates a valid template and returns its id.
func mustTemplate(t *testing.T, s *testkit.Server, token string) string {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/templates", token, map[string]any{"name": "T " + steeple.NewID(), "body": "Hi {first_name}"})
	wantStatus(t, r, http.StatusCreated)
	return r.ID(t)
}
