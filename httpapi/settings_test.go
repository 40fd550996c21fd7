package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/members"
)

// A church's phone region decides how national numbers are read: US by
// default, another region once set.
func TestPhoneRegionSetting(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		tok := s.Church(t, testkit.ChurchOptions{Name: "St Paul's", Email: "vicar@stpauls.example.org"}).Token
		api := s.Client(tok)
		if got := api.Settings(t); got.PhoneRegion != "US" {
			t.Fatalf("default settings: %+v", got)
		}
		// A UK mobile written nationally is not a valid US number.
		if r := s.Do(t, "POST", "/api/v1/members", tok, map[string]any{"first_name": "Ada", "phone": "07911 123456"}); r.Status != 400 {
			t.Fatalf("UK national number under US: %d %s", r.Status, r.Raw)
		}
		if r := s.Do(t, "PUT", "/api/v1/settings", tok, map[string]any{"phone_region": "XX"}); r.Status != 400 {
			t.Fatalf("bad region: %d %s", r.Status, r.Raw)
		}
		if got := api.SetSettings(t, map[string]any{"phone_region": "gb"}); got.PhoneRegion != "GB" {
			t.Fatalf("set GB: %+v", got)
		}
		var m steeple.Member
		api.Call(t, "POST", "/api/v1/members", map[string]any{"first_name": "Ada", "phone": "07911 123456"}, http.StatusCreated, &m)
		if m.Phone != "+447911123456" {
			t.Fatalf("UK national number under GB: %+v", m)
		}
	})
}

// The help contact is what HELP answers carry: set, read back, normalised,
// and refused whole when any field is invalid.
func TestHelpContactSetting(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		tok := s.Church(t, testkit.ChurchOptions{Name: "St Paul's", Email: "vicar@stpauls.example.org"}).Token
		other := s.Church(t, testkit.ChurchOptions{Name: "St Mark's", Email: "vicar@stmarks.example.org"}).Token
		settings := func(t *testing.T, token string) *members.Settings {
			t.Helper()
			return s.Client(token).Settings(t)
		}
		if got := settings(t, tok); got.HelpContact != "" || got.PhoneRegion != "US" {
			t.Fatalf("defaults: %+v", got)
		}

		const want = "Call the office 312-555-0100"
		if got := s.Client(tok).SetSettings(t, map[string]any{"help_contact": "  Call the office\n  312-555-0100  "}); got.HelpContact != want || got.PhoneRegion != "US" {
			t.Fatalf("set: %+v", got)
		}
		if got := settings(t, tok); got.HelpContact != want {
			t.Fatalf("read back: %+v", got)
		}
		if got := settings(t, other); got.HelpContact != "" {
			t.Fatalf("another church sees %+v", got)
		}

		// Absent fields stay; exactly 120 characters (not bytes) is allowed.
		wantStatus(t, s.Do(t, "PUT", "/api/v1/settings", tok, map[string]any{"phone_region": "CA"}), http.StatusOK)
		if got := settings(t, tok); got.HelpContact != want || got.PhoneRegion != "CA" {
			t.Fatalf("after a region change: %+v", got)
		}
		long := strings.Repeat("é", 120)
		if got := s.Client(tok).SetSettings(t, map[string]any{"help_contact": long}); got.HelpContact != long {
			t.Fatalf("120 characters: %+v", got)
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
			if got := settings(t, tok); got.HelpContact != long || got.PhoneRegion != "CA" {
				t.Fatalf("a refused update wrote something: %+v", got)
			}
		}

		// Clearing it goes back to the default answer.
		if got := s.Client(tok).SetSettings(t, map[string]any{"help_contact": "   "}); got.HelpContact != "" {
			t.Fatalf("clear: %+v", got)
		}
	})
}
