package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
)

// Every answer says not to sniff its type; every API answer (they carry
// tokens and members' personal data), errors included, says not to store it.
func TestSafetyHeaders(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		a := signup(t, s, "Grace Chapel", "pat@grace.example.org", pw1)
		cases := []struct {
			method, path, token string
			body                any
			status              int
			noStore             bool
		}{
			{"POST", "/api/v1/signup", "", map[string]any{"church": map[string]string{"name": "Hope", "timezone": "America/Chicago"},
				"admin": map[string]string{"name": "Kim", "email": "kim@hope.example.org", "password": pw2}}, http.StatusCreated, true},
			{"POST", "/api/v1/auth/login", "", map[string]any{"email": a.email, "password": a.password}, http.StatusOK, true},
			{"POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": a.refresh}, http.StatusOK, true},
			{"GET", "/api/v1/me", a.access, nil, http.StatusOK, true},
			{"GET", "/api/v1/members", a.access, nil, http.StatusOK, true},
			{"GET", "/api/v1/me", "", nil, http.StatusUnauthorized, true},
			{"GET", "/api/v1/nowhere", "", nil, http.StatusNotFound, true},
			{"POST", "/api/v1/groups", a.access, `{"name":`, http.StatusBadRequest, true},
			{"GET", "/healthz", "", nil, http.StatusOK, false},
			{"GET", "/metrics", "", nil, http.StatusOK, false},
			{"POST", "/webhooks/telnyx", "", `{}`, http.StatusUnauthorized, false},
		}
		for _, c := range cases {
			r := s.Do(t, c.method, c.path, c.token, c.body)
			if r.Status != c.status {
				t.Fatalf("%s %s: %d %s; want %d", c.method, c.path, r.Status, r.Raw, c.status)
			}
			if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("%s %s: X-Content-Type-Options %q; want nosniff", c.method, c.path, got)
			}
			if got := r.Header.Get("Cache-Control"); c.noStore && got != "no-store" {
				t.Errorf("%s %s: Cache-Control %q; want no-store", c.method, c.path, got)
			}
		}
	})
}

// A refresh token that cannot work gets one answer whatever the reason:
// malformed, unknown, already spent, naming a church that does not exist,
// or belonging to a suspended church. (Before, a missing or suspended
// church answered differently from a bad token.) Logout answers alike.
func TestRefreshRefusalIsOneAnswer(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		a := signup(t, s, "Grace Chapel", "pat@grace.example.org", pw1)
		sus := signup(t, s, "Quiet Chapel", "sam@quiet.example.org", pw2)
		spent := a.refresh
		if r := refresh(t, s, spent); r.Status != http.StatusOK {
			t.Fatalf("first refresh: %d %s", r.Status, r.Raw)
		}
		if _, err := s.Tenancy.Registry.SetStatus(context.Background(), sus.tenantID, steeple.TenantSuspended, steeple.TenantActive); err != nil {
			t.Fatal(err)
		}
		secret := strings.Repeat("A", 52)
		tokens := map[string]string{
			"malformed":        "nope",
			"unknown secret":   "rt1." + a.tenantID + "." + secret,
			"no such church":   "rt1." + steeple.NewID() + "." + secret,
			"suspended church": sus.refresh,
			"spent":            spent,
		}
		var want *testkit.Response
		for _, path := range []string{"/api/v1/auth/refresh", "/api/v1/auth/logout"} {
			for name, tok := range tokens {
				if name == "spent" && path == "/api/v1/auth/logout" {
					continue // logging out with a spent token revokes its family: that is allowed
				}
				r := s.Do(t, "POST", path, "", map[string]any{"refresh_token": tok})
				if want == nil {
					want = r
				}
				if r.Status != http.StatusUnauthorized || r.Raw != want.Raw {
					t.Errorf("%s with a %s token: %d %s; want the same answer as every other refused token: %d %s",
						path, name, r.Status, r.Raw, want.Status, want.Raw)
				}
			}
		}
	})
}
