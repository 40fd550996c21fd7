package httpapi_test

import (
	"testing"

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
