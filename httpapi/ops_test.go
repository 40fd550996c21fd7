package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple/httpapi"
	"github.com/steeple-sms/steeple/internal/testkit"
)

// opsGet fetches path with basic auth (none when user and pass are both
// empty) and returns the status, a header and the body.
func opsGet(t *testing.T, base, path, user, pass string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

// River's web UI is served under /ops/queue to the operator credential
// only, and not at all without a password.
func TestOpsQueueUI(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		ui, err := s.Queue.UI(httpapi.OpsPrefix, log)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		if err := ui.Start(ctx); err != nil {
			t.Fatal(err)
		}
		const user, pass = "operator", "long operator secret"
		serve := func(d httpapi.Deps) string {
			d.Tenancy, d.Metrics, d.Logger = s.Tenancy, s.Metrics, log
			hs := httptest.NewServer(httpapi.New(d))
			t.Cleanup(hs.Close)
			return hs.URL
		}
		on := serve(httpapi.Deps{Ops: ui, OpsUser: user, OpsPassword: pass})
		tok := s.Signup(t, "Grace Chapel", "owner@grace.example.org", pw1).Body["access_token"].(string)
		resetStreak := func() {
			t.Helper()
			if status, _, body := opsGet(t, on, "/ops/queue/api/queues", user, pass); status != http.StatusOK {
				t.Fatalf("queues API with the credential: %d %s", status, body)
			}
		}

		for _, path := range []string{"/ops/queue", "/ops/queue/", "/ops/queue/api/queues", "/ops/queue/api/jobs?state=completed", "/ops/queue/jobs"} {
			for _, cred := range [][2]string{{"", ""}, {user, "wrong"}, {"someone", pass}, {user, ""}, {"", pass}, {user, pass + " "}, {strings.ToUpper(user), pass}} {
				status, h, body := opsGet(t, on, path, cred[0], cred[1])
				if status != http.StatusUnauthorized {
					t.Fatalf("%s with %q:%q: %d; want 401", path, cred[0], cred[1], status)
				}
				if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic ") {
					t.Fatalf("%s: 401 without a Basic challenge: %v", path, h)
				}
				if strings.Contains(body, "river") || strings.Contains(body, "<html") {
					t.Fatalf("%s: 401 answer shows the UI: %s", path, body)
				}
				resetStreak() // wrong credentials in a row are throttled (TestOpsPasswordThrottle)
			}
			// A church admin's token is not the operator credential.
			if status, _, _ := opsGet(t, on, path, "", "", "Authorization", "Bearer "+tok); status != http.StatusUnauthorized {
				t.Fatalf("%s with an admin token: %d; want 401", path, status)
			}
			resetStreak()
		}
		status, h, body := opsGet(t, on, "/ops/queue/", user, pass)
		if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(strings.ToLower(body), "<html") {
			t.Fatalf("UI page: %d %s %.200s", status, h.Get("Content-Type"), body)
		}
		status, h, _ = opsGet(t, on, "/ops/queue", user, pass)
		if status != http.StatusOK && !(status/100 == 3 && h.Get("Location") == "/ops/queue/") {
			t.Fatalf("/ops/queue with the credential: %d %v", status, h)
		}
		status, h, body = opsGet(t, on, "/ops/queue/api/queues", user, pass)
		if status != http.StatusOK || !strings.Contains(h.Get("Content-Type"), "json") || !strings.Contains(body, `"default"`) {
			t.Fatalf("queues API: %d %s %s", status, h.Get("Content-Type"), body)
		}
		if status, _, body = opsGet(t, on, "/ops/queue/api/jobs?state=completed", user, pass); status != http.StatusOK {
			t.Fatalf("jobs API: %d %s", status, body)
		}
		// Everything else is as before, without the credential.
		if status, _, _ = opsGet(t, on, "/healthz", "", ""); status != http.StatusOK {
			t.Fatalf("/healthz: %d", status)
		}

		// No password: not served, whatever the request carries.
		for _, d := range []httpapi.Deps{{Ops: ui, OpsUser: user}, {Ops: ui}, {OpsUser: user, OpsPassword: pass}} {
			off := serve(d)
			for _, path := range []string{"/ops/queue", "/ops/queue/", "/ops/queue/api/queues"} {
				for _, cred := range [][2]string{{"", ""}, {user, ""}, {user, pass}} {
					if status, _, body := opsGet(t, off, path, cred[0], cred[1]); status != http.StatusNotFound {
						t.Fatalf("UI off (%+v): %s with %q:%q: %d %s; want 404", d.OpsUser, path, cred[0], cred[1], status, body)
					}
				}
			}
		}
	})
}
