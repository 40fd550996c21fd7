package httpapi_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// accessLine is one access log line.
type accessLine struct {
	Level, Msg, Method, Route, Church string
	Status                            int
	Ms                                *float64
}

// One line per request: the route pattern rather than the path, the
// status, the duration and the church reached; no token, phone, email or
// query string; probes at DEBUG.
func TestAccessLog(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		var logs lockedBuffer
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true,
			Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		a := signup(t, s, "Grace Chapel", "pat@grace.example.org", pw1)
		member := s.Do(t, "POST", "/api/v1/members", a.access, map[string]any{"first_name": "Ann", "phone": "+13125550123"})
		if member.Status != http.StatusCreated {
			t.Fatalf("create member: %d %s", member.Status, member.Raw)
		}
		id := member.ID(t)
		for _, c := range []struct {
			path   string
			status int
		}{
			{"/api/v1/members/" + id + "?q=%2B13125550123&email=pat@grace.example.org", http.StatusOK},
			{"/api/v1/members/00000000-0000-4000-8000-000000000000", http.StatusNotFound},
			{"/healthz", http.StatusOK},
		} {
			if r := s.Do(t, "GET", c.path, a.access, nil); r.Status != c.status {
				t.Fatalf("GET %s: %d", c.path, r.Status)
			}
		}
		if r := s.Do(t, "POST", "/webhooks/telnyx", "", `{}`); r.Status != http.StatusUnauthorized {
			t.Fatalf("webhook: %d", r.Status)
		}
		if r := s.Do(t, "GET", "/signin?next=/members", "", nil); r.Status != http.StatusOK {
			t.Fatalf("web sign-in page: %d", r.Status)
		}

		out := logs.String()
		for _, secret := range []string{a.access, "13125550123", "pat@grace.example.org", "?q=", id} {
			if strings.Contains(out, secret) {
				t.Errorf("the log holds %q:\n%s", secret, out)
			}
		}
		var lines []accessLine
		for _, raw := range strings.Split(strings.TrimSpace(out), "\n") {
			var l accessLine
			if json.Unmarshal([]byte(raw), &l) == nil && l.Msg == "request" {
				lines = append(lines, l)
			}
		}
		find := func(method, route string, status int) *accessLine {
			for i := range lines {
				if l := &lines[i]; l.Method == method && l.Route == route && l.Status == status {
					return l
				}
			}
			t.Fatalf("no access line for %s %s %d in:\n%s", method, route, status, out)
			return nil
		}
		got := find("GET", "GET /api/v1/members/{id}", http.StatusOK)
		if got.Level != "INFO" || got.Church != a.tenantID || got.Ms == nil {
			t.Errorf("member line %+v; want INFO, church %s, a duration", got, a.tenantID)
		}
		if l := find("GET", "GET /api/v1/members/{id}", http.StatusNotFound); l.Church != a.tenantID {
			t.Errorf("404 line %+v", l)
		}
		if l := find("GET", "GET /healthz", http.StatusOK); l.Level != "DEBUG" || l.Church != "" {
			t.Errorf("healthz line %+v; want DEBUG without church", l)
		}
		if l := find("POST", "POST /webhooks/telnyx", http.StatusUnauthorized); l.Level != "INFO" || l.Church != "" {
			t.Errorf("webhook line %+v", l)
		}
		find("GET", "GET /signin", http.StatusOK)
		if n := strings.Count(out, `"route":"GET /api/v1/members/{id}"`); n != 2 {
			t.Errorf("%d lines for the two member requests; want one each", n)
		}
	})
}
