package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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
		tok := s.Signup(t, "Grace Chapel", "owner@grace.example.org", pw1).Session(t).AccessToken
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

// opsServe serves the queue UI with the operator credential user:pass and
// the test server's clock.
func opsServe(t *testing.T, s *testkit.Server, user, pass string) string {
	t.Helper()
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
	hs := httptest.NewServer(httpapi.New(httpapi.Deps{Tenancy: s.Tenancy, Metrics: s.Metrics, Logger: log, Now: s.Clock.Now,
		Ops: ui, OpsUser: user, OpsPassword: pass}))
	t.Cleanup(hs.Close)
	return hs.URL
}

// opsDo sends a request with basic auth and extra headers to the queue UI.
func opsDo(t *testing.T, method, url, user, pass string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(`{"ids":["1"]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, pass)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

// A page on another site cannot make an operator's browser change the
// queue, even with the operator's credential: cross-origin writes get 403
// before reaching River's UI; same-origin and non-browser ones go through.
func TestOpsCrossOriginRefused(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		const user, pass = "operator", "long operator secret"
		on := opsServe(t, s, user, pass)
		retry := on + "/ops/queue/api/jobs/retry"
		for _, h := range [][]string{
			{"Origin", "https://evil.example"},
			{"Sec-Fetch-Site", "cross-site"},
			{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"},
		} {
			status, _, body := opsDo(t, "POST", retry, user, pass, h...)
			if status != http.StatusForbidden || !strings.Contains(body, `"forbidden"`) {
				t.Fatalf("cross-origin POST %v with the credential: %d %s; want 403", h, status, body)
			}
		}
		// Reading is allowed from anywhere (it changes nothing) with the credential.
		if status, _, body := opsDo(t, "GET", on+"/ops/queue/api/queues", user, pass, "Origin", "https://evil.example"); status != http.StatusOK {
			t.Fatalf("cross-origin GET: %d %s", status, body)
		}
		// Same origin, and a client that is not a browser, reach River.
		for _, h := range [][]string{{"Sec-Fetch-Site", "same-origin"}, {"Origin", on}, nil} {
			if status, _, body := opsDo(t, "POST", retry, user, pass, h...); status == http.StatusForbidden || status == http.StatusUnauthorized {
				t.Fatalf("same-origin POST %v: %d %s", h, status, body)
			}
		}
	})
}

// Wrong operator credentials in a row from one address are throttled:
// after five, the address must wait (429 with Retry-After, the right
// password included) for a time that doubles with each further failure;
// a success ends the streak; other addresses are not affected.
func TestOpsPasswordThrottle(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		const user, pass = "operator", "long operator secret"
		on := opsServe(t, s, user, pass)
		queues := on + "/ops/queue/api/queues"
		for i := range 5 {
			if status, _, _ := opsDo(t, "GET", queues, user, fmt.Sprintf("guess %d", i)); status != http.StatusUnauthorized {
				t.Fatalf("wrong password %d: %d; want 401", i+1, status)
			}
		}
		status, h, body := opsDo(t, "GET", queues, user, pass)
		if status != http.StatusTooManyRequests || h.Get("Retry-After") != "1" || !strings.Contains(body, `"too_many"`) {
			t.Fatalf("right password after five wrong: %d Retry-After %q %s; want 429 after 1 s", status, h.Get("Retry-After"), body)
		}
		s.Clock.Add(time.Second)
		if status, _, _ := opsDo(t, "GET", queues, user, "guess 6"); status != http.StatusUnauthorized {
			t.Fatalf("sixth wrong password once the wait is over: %d; want 401", status)
		}
		// The wait doubles.
		if status, h, _ := opsDo(t, "GET", queues, user, pass); status != http.StatusTooManyRequests || h.Get("Retry-After") != "2" {
			t.Fatalf("after six wrong: %d Retry-After %q; want 429 after 2 s", status, h.Get("Retry-After"))
		}
		s.Clock.Add(1500 * time.Millisecond)
		if status, _, _ := opsDo(t, "GET", queues, user, pass); status != http.StatusTooManyRequests {
			t.Fatalf("before the wait is over: %d; want 429", status)
		}
		// Another address is not affected.
		other := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}}
		req, _ := http.NewRequest("GET", queues, nil)
		req.SetBasicAuth(user, pass)
		resp, err := other.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("another address during the lockout: %d; want 200", resp.StatusCode)
		}
		s.Clock.Add(time.Second)
		if status, _, body := opsDo(t, "GET", queues, user, pass); status != http.StatusOK {
			t.Fatalf("right password after the wait: %d %s", status, body)
		}
		// The success ended the streak: five more free failures.
		for i := range 5 {
			if status, _, _ := opsDo(t, "GET", queues, user, fmt.Sprintf("again %d", i)); status != http.StatusUnauthorized {
				t.Fatalf("wrong password %d after a success: %d; want 401", i+1, status)
			}
		}
	})
}
