package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// Every unreadable body answers 400 invalid with a message naming the
// problem (and, where one field is at fault, that field).
func TestMalformedBodies(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		a := signup(t, s, "Grace Chapel", "pat@example.org", pw1)
		huge := `{"email":"` + strings.Repeat("a", 1<<20+1) + `@example.org","password":"x"}`
		cases := []struct {
			name, path, body string
			wantMsg          string // the message must contain this
			wantField        string // fields must name this ("" for none)
		}{
			{"empty", "/api/v1/auth/login", "", "empty", ""},
			{"whitespace only", "/api/v1/auth/login", "  \n", "empty", ""},
			{"truncated", "/api/v1/auth/login", `{"email":"pat@example.org",`, "malformed", ""},
			{"syntax error", "/api/v1/auth/login", `{"email" "pat@example.org"}`, "malformed", ""},
			{"trailing comma", "/api/v1/auth/login", `{"email":"pat@example.org",}`, "malformed", ""},
			{"two objects", "/api/v1/auth/login", `{}{}`, "single JSON object", ""},
			{"trailing garbage", "/api/v1/auth/login", `{"email":"pat@example.org"} x`, "single JSON object", ""},
			{"unknown field", "/api/v1/auth/login", `{"email":"pat@example.org","password":"x","remember":true}`, "remember", "remember"},
			{"unknown nested field", "/api/v1/signup", `{"church":{"name":"G","timezone":"UTC","denomination":"x"}}`, "denomination", "denomination"},
			{"number for string", "/api/v1/auth/login", `{"email":42,"password":"x"}`, "email", "email"},
			{"array for string", "/api/v1/auth/refresh", `{"refresh_token":["x"]}`, "refresh_token", "refresh_token"},
			{"nested wrong type", "/api/v1/signup", `{"admin":{"password":1234567890}}`, "admin.password", "admin.password"},
			{"string for object", "/api/v1/signup", `{"church":"Grace Chapel"}`, "church", "church"},
			{"array for body", "/api/v1/auth/login", `[{"email":"pat@example.org"}]`, "object", ""},
			{"oversized", "/api/v1/auth/login", huge, "larger than", ""},
			{"oversized signup", "/api/v1/signup", `{"church":{"name":"` + strings.Repeat("x", 2<<20) + `"}}`, "larger than", ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := s.Do(t, "POST", c.path, "", c.body)
				msg := wantError(t, r, http.StatusBadRequest, "invalid")
				if !strings.Contains(msg, c.wantMsg) {
					t.Errorf("message %q; want it to mention %q", msg, c.wantMsg)
				}
				for _, goism := range []string{"struct {", "json:", "auth.", "httpapi.", "[]interface", "map["} {
					if strings.Contains(msg, goism) {
						t.Errorf("message %q exposes Go internals (%q); want plain words such as \"must be an object\"", msg, goism)
					}
				}
				fields := r.Fields(t)
				if _, named := fields[c.wantField]; c.wantField != "" && !named {
					t.Errorf("fields %v; want %q named", fields, c.wantField)
				}
				if _, empty := fields[""]; empty {
					t.Errorf("fields name an empty field: %v", fields)
				}
				wantNoTokens(t, r)
			})
		}
		// Authenticated endpoints decode the same way.
		r := s.Do(t, "POST", "/api/v1/admins/invitations", a.access, `{"email":"sam@example.org","rank":"owner"}`)
		if msg := wantError(t, r, http.StatusBadRequest, "invalid"); !strings.Contains(msg, "rank") {
			t.Fatalf("message %q; want it to name the unknown field rank", msg)
		}
	})
}

// Signup validates every field and reports each bad one under "fields".
func TestSignupValidation(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		type m = map[string]any
		body := func(name, tz, admin, email, password string) m {
			return m{"church": m{"name": name, "timezone": tz}, "admin": m{"name": admin, "email": email, "password": password}}
		}
		cases := []struct {
			name   string
			body   m
			fields map[string]string // field → a word its message must contain
		}{
			{"everything wrong", body("", "Mars/Olympus", "", "not-an-email", "short1234"), map[string]string{
				"church.name": "required", "church.timezone": "time zone", "admin.name": "required",
				"admin.email": "valid", "admin.password": "10"}},
			{"nine characters", body("Grace", "America/Chicago", "Pat", "pat@example.org", "abcdefghi"),
				map[string]string{"admin.password": "at least 10"}},
			{"common password", body("Grace", "America/Chicago", "Pat", "pat@example.org", "password123"),
				map[string]string{"admin.password": "common"}},
			{"common password in capitals", body("Grace", "America/Chicago", "Pat", "pat@example.org", "PASSWORD123"),
				map[string]string{"admin.password": "common"}},
			{"repetitive password", body("Grace", "America/Chicago", "Pat", "pat@example.org", "abababababab"),
				map[string]string{"admin.password": "repetitive"}},
			{"no timezone", body("Grace", "", "Pat", "pat@example.org", pw1), map[string]string{"church.timezone": "required"}},
			{"Local timezone", body("Grace", "Local", "Pat", "pat@example.org", pw1), map[string]string{"church.timezone": "IANA"}},
			{"email without domain dot", body("Grace", "UTC", "Pat", "pat@localhost", pw1), map[string]string{"admin.email": "valid"}},
			{"email with display name", body("Grace", "UTC", "Pat", "Pat <pat@example.org>", pw1), map[string]string{"admin.email": "valid"}},
			{"long church name", body(strings.Repeat("g", 101), "UTC", "Pat", "pat@example.org", pw1), map[string]string{"church.name": "100"}},
			{"empty body object", m{}, map[string]string{"church.name": "required", "church.timezone": "required",
				"admin.name": "required", "admin.email": "required", "admin.password": "10"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := s.Do(t, "POST", "/api/v1/signup", "", c.body)
				wantError(t, r, http.StatusBadRequest, "invalid")
				wantNoTokens(t, r)
				fields := r.Fields(t)
				if len(fields) != len(c.fields) {
					t.Errorf("fields %v; want exactly %v", fields, c.fields)
				}
				for f, word := range c.fields {
					msg := fields[f]
					if !strings.Contains(msg, word) {
						t.Errorf("fields[%q] = %q; want it to mention %q (all: %v)", f, msg, word, fields)
					}
				}
			})
		}
		// Nothing was created by the refused signups; a good one still works
		// and normalises the email.
		a := signup(t, s, "Grace Chapel", "  Pat@Example.ORG ", pw1)
		me := s.Client(a.access).Me(t)
		if got := me.Admin.Email; got != "pat@example.org" {
			t.Fatalf("email stored as %q; want it trimmed and lower-cased", got)
		}
		if got := me.Church.Plan; got != "standard" {
			t.Fatalf("plan %q; want standard", got)
		}
	})
}
