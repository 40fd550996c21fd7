package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
)

// A church's phone region decides how national numbers are read: US by
// default, another region once set.
func TestPhoneRegionSetting(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		tok := s.Signup(t, "St Paul's", "vicar@stpauls.example.org", "correct horse battery").Body["access_token"].(string)
		if r := s.Do(t, "GET", "/api/v1/settings", tok, nil); r.Status != 200 || r.Body["phone_region"] != "US" {
			t.Fatalf("default settings: %d %s", r.Status, r.Raw)
		}
		// A UK mobile written nationally is not a valid US number.
		if r := s.Do(t, "POST", "/api/v1/members", tok, map[string]any{"first_name": "Ada", "phone": "07911 123456"}); r.Status != 400 {
			t.Fatalf("UK national number under US: %d %s", r.Status, r.Raw)
		}
		if r := s.Do(t, "PUT", "/api/v1/settings", tok, map[string]any{"phone_region": "XX"}); r.Status != 400 {
			t.Fatalf("bad region: %d %s", r.Status, r.Raw)
		}
		if r := s.Do(t, "PUT", "/api/v1/settings", tok, map[string]any{"phone_region": "gb"}); r.Status != 200 || r.Body["phone_region"] != "GB" {
			t.Fatalf("set GB: %d %s", r.Status, r.Raw)
		}
		r := s.Do(t, "POST", "/api/v1/members", tok, map[string]any{"first_name": "Ada", "phone": "07911 123456"})
		if r.Status != 201 || r.Body["phone"] != "+447911123456" {
			t.Fatalf("UK national number under GB: %d %s", r.Status, r.Raw)
		}
	})
}

// The help contact is what HELP answers carry: set, read back, normalised,
// and refused whole when any field is invalid.
func TestHelpContactSetting(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		tok := s.Signup(t, "St Paul's", "vicar@stpauls.example.org", "correct horse battery").Body["access_token"].(string)
		other := s.Signup(t, "St Mark's", "vicar@stmarks.example.org", "correct horse battery").Body["access_token"].(string)
		settings := func(t *testing.T, token string) map[string]any {
			t.Helper()
			r := s.Do(t, "GET", "/api/v1/settings", token, nil)
			wantStatus(t, r, http.StatusOK)
			return r.Body
		}
		if got := settings(t, tok); got["help_contact"] != "" || got["phone_region"] != "US" {
			t.Fatalf("defaults: %v", got)
		}

		r := s.Do(t, "PUT", "/api/v1/settings", tok, map[string]any{"help_contact": "  Call the office\n  312-555-0100  "})
		wantStatus(t, r, http.StatusOK)
		const want = "Call the office 312-555-0100"
		if r.Body["help_contact"] != want || r.Body["phone_region"] != "US" {
			t.Fatalf("set: %s", r.Raw)
		}
		if got := settings(t, tok); got["help_contact"] != want {
			t.Fatalf("read back: %v", got)
		}
		if got := settings(t, other); got["help_contact"] != "" {
			t.Fatalf("another church sees %v", got)
		}

		// Absent fields stay; exactly 120 characters (not bytes) is allowed.
		wantStatus(t, s.Do(t, "PUT", "/api/v1/settings", tok, map[string]any{"phone_region": "CA"}), http.StatusOK)
		if got := settings(t, tok); got["help_contact"] != want || got["phone_region"] != "CA" {
			t.Fatalf("after a region change: %v", got)
		}
		long := strings.Repeat("é", 120)
		if r := s.Do(t, "PUT", "/api/v1/settings", tok, map[string]any{"help_contact": long}); r.Status != http.StatusOK || r.Body["help_contact"] != long {
			t.Fatalf("120 characters: %d %s", r.Status, r.Raw)
		}

		for _, c := range []struct {
			body   map[string]any
			fields []string
		}{
			{map[string]any{"help_contact": strings.Repeat("x", 121)}, []string{"help_contact"}},
			{map[string]any{"help_contact": strings.Repeat("x", 121), "phone_region": "GB"}, []string{"help_contact"}},
			{map[string]any{"help_contact": "fine", "phone_region": "XX"}, []string{"phone_region"}},
		} {
			r := s.Do(t, "PUT", "/api/v1/settings", tok, c.body)
			wantError(t, r, http.StatusBadRequest, steeple.EINVALID)
			for _, f := range c.fields {
				wantField(t, r, f)
			}
			if got := settings(t, tok); got["help_contact"] != long || got["phone_region"] != "CA" {
				t.Fatalf("a refused update wrote something: %v", got)
			}
		}

		// Clearing it goes back to the default answer.
		r = s.Do(t, "PUT", "/api/v1/settings", tok, map[string]any{"help_contact": "   "})
		if r.Status != http.StatusOK || r.Body["help_contact"] != "" {
			t.Fatalf("clear: %d %s", r.Status, r.Raw)
		}
	})
}
