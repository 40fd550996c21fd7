package httpapi_test

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/tenancy"
)

// wantBadLogin checks the one answer for every failed login.
func wantBadLogin(t *testing.T, r *testkit.Response) {
	t.Helper()
	if msg := wantError(t, r, http.StatusUnauthorized, "unauthorized"); msg != "invalid email or password" {
		t.Fatalf("message %q; want %q", msg, "invalid email or password")
	}
	wantNoTokens(t, r)
}

// wantChurches checks that r offers exactly the churches of accts, and no tokens.
func wantChurches(t *testing.T, r *testkit.Response, accts ...*account) {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	wantNoTokens(t, r)
	if len(r.Body) != 1 {
		t.Fatalf("a choice of churches should carry nothing else: %s", r.Raw)
	}
	var got, want []string
	for _, c := range r.Session(t).Churches {
		if c.ID == "" || c.Name == "" {
			t.Fatalf("a church without id or name: %s", r.Raw)
		}
		got = append(got, c.ID)
	}
	for _, a := range accts {
		want = append(want, a.tenantID)
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("churches %v; want %v", got, want)
	}
}

// One email, several churches: a password right at exactly one church logs
// in there; right at several, it offers a choice and no tokens; tenant_id
// limits the check to that church. One church's owner cannot reach another
// church's admins.
func TestLoginAcrossChurchesSharingAnEmail(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		const email = "pat@example.org"
		grace := signup(t, s, "Grace Chapel", email, pw1)
		hope := signup(t, s, "Hope Church", email, pw2)

		// Two churches, different passwords: each opens its own church.
		wantSession(t, s, login(t, s, email, pw1, ""), grace)
		wantSession(t, s, login(t, s, "  Pat@Example.ORG ", pw2, ""), hope)

		// Three churches, two of which share a password.
		zion := signup(t, s, "Zion Fellowship", email, pw1)
		wantChurches(t, login(t, s, email, pw1, ""), grace, zion)
		wantSession(t, s, login(t, s, email, pw2, ""), hope)
		wantSession(t, s, login(t, s, email, pw1, zion.tenantID), zion)
		wantSession(t, s, login(t, s, email, pw1, grace.tenantID), grace)
		wantSession(t, s, login(t, s, email, pw2, hope.tenantID), hope)
		// With tenant_id only that church is tried, even if another would accept.
		wantBadLogin(t, login(t, s, email, pw1, hope.tenantID))
		wantBadLogin(t, login(t, s, email, pw2, zion.tenantID))
		wantBadLogin(t, login(t, s, email, pw3, ""))
		wantBadLogin(t, login(t, s, email, pw1, steeple.NewID()))

		// Three churches, one password: a choice of all three.
		const email2 = "sam@example.org"
		x := signup(t, s, "Grace Chapel", email2, pw3)
		y := signup(t, s, "Bethel", email2, pw3)
		z := signup(t, s, "Calvary", email2, pw3)
		wantChurches(t, login(t, s, email2, pw3, ""), x, y, z)
		wantSession(t, s, login(t, s, email2, pw3, y.tenantID), y)

		// Church A's token on church B's admin: 404, as for an id that exists nowhere.
		before := s.Do(t, "GET", "/api/v1/admins", hope.access, nil)
		wantStatus(t, before, http.StatusOK)
		cross := s.Do(t, "DELETE", "/api/v1/admins/"+hope.adminID, grace.access, nil)
		random := s.Do(t, "DELETE", "/api/v1/admins/"+steeple.NewID(), grace.access, nil)
		wantError(t, cross, http.StatusNotFound, "not_found")
		wantError(t, random, http.StatusNotFound, "not_found")
		if cross.Raw != random.Raw {
			t.Fatalf("another church's admin answers %s; an unknown id answers %s", cross.Raw, random.Raw)
		}
		after := s.Do(t, "GET", "/api/v1/admins", hope.access, nil)
		if after.Raw != before.Raw {
			t.Fatalf("church B's admins changed: %s → %s", before.Raw, after.Raw)
		}
		wantSession(t, s, login(t, s, email, pw2, ""), hope)
	})
}

// An unknown email, a wrong password and a suspended church give the same
// answer, after about the same work.
func TestFailedLoginsLookAlike(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Auth: func(c *auth.Config) {
			c.MaxFailures, c.PerAddressBurst = 1000, 1000
		}})
		pat := signup(t, s, "Grace Chapel", "pat@example.org", pw1)
		sam := signup(t, s, "Closed Church", "sam@example.org", pw2)
		if _, err := s.Tenancy.Registry.SetStatus(context.Background(), sam.tenantID, steeple.TenantSuspended, steeple.TenantActive); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name            string
			email, password string
		}{
			{"wrong password", pat.email, pw2}, // the reference for timing
			{"unknown email", "nobody@example.org", pw1},
			{"suspended church", sam.email, pw2},
		}
		const rounds = 6
		spent := make([]time.Duration, len(cases))
		var first string
		for range rounds {
			for i, c := range cases {
				start := time.Now()
				r := login(t, s, c.email, c.password, "")
				spent[i] += time.Since(start)
				wantBadLogin(t, r)
				if first == "" {
					first = r.Raw
				} else if r.Raw != first {
					t.Fatalf("%s answers %s; wrong password answers %s", c.name, r.Raw, first)
				}
				if ra := r.Header.Get("Retry-After"); ra != "" {
					t.Fatalf("%s: Retry-After %q on a plain failure", c.name, ra)
				}
			}
		}
		ref := spent[0] / rounds
		for i, c := range cases[1:] {
			mean := spent[i+1] / rounds
			t.Logf("%s: mean %v; wrong password: mean %v", c.name, mean, ref)
			if float64(mean) < 0.3*float64(ref) {
				t.Errorf("%s takes %v, wrong password %v: the difference gives it away", c.name, mean, ref)
			}
		}
	})
}

// A suspended church's still-valid tokens stop working at once; other
// churches are unaffected.
func TestSuspendedChurchTokensStopAtOnce(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		a := signup(t, s, "Grace Chapel", "pat@example.org", pw1)
		other := signup(t, s, "Hope Church", "sam@example.org", pw2)
		if _, err := s.Tenancy.Registry.SetStatus(context.Background(), a.tenantID, steeple.TenantSuspended, steeple.TenantActive); err != nil {
			t.Fatal(err)
		}
		wantError(t, s.Do(t, "GET", "/api/v1/me", a.access, nil), http.StatusForbidden, "suspended")
		wantError(t, s.Do(t, "GET", "/api/v1/admins", a.access, nil), http.StatusForbidden, "suspended")
		r := refresh(t, s, a.refresh)
		if r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden {
			t.Fatalf("refresh at a suspended church: %d %s; want 401 or 403", r.Status, r.Raw)
		}
		wantNoTokens(t, r)
		wantBadLogin(t, login(t, s, a.email, pw1, ""))
		wantStatus(t, s.Do(t, "GET", "/api/v1/me", other.access, nil), http.StatusOK)
	})
}

// retryAfter reads a 429's Retry-After and checks it lies in [1, max] seconds.
func retryAfter(t *testing.T, r *testkit.Response, max int) time.Duration {
	t.Helper()
	wantError(t, r, http.StatusTooManyRequests, "too_many")
	wantNoTokens(t, r)
	n, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || n < 1 || n > max {
		t.Fatalf("Retry-After %q; want whole seconds in [1, %d]", r.Header.Get("Retry-After"), max)
	}
	return time.Duration(n) * time.Second
}

// MaxFailures failures lock the email, even against the right password,
// until the lockout has passed; other emails are not locked.
func TestLoginLockout(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Auth: func(c *auth.Config) {
			c.MaxFailures, c.FailureWindow, c.Lockout, c.PerAddressBurst = 3, 15*time.Minute, 15*time.Minute, 100
		}})
		a := signup(t, s, "Grace Chapel", "pat@example.org", pw1)
		other := signup(t, s, "Hope Church", "sam@example.org", pw2)
		// A successful login forgets earlier failures.
		for range 2 {
			wantBadLogin(t, login(t, s, a.email, pw2, ""))
		}
		wantSession(t, s, login(t, s, a.email, pw1, ""), a)
		for range 2 {
			wantBadLogin(t, login(t, s, a.email, pw2, ""))
		}
		wantSession(t, s, login(t, s, a.email, pw1, ""), a)
		// Three failures in a row lock the email, even against the right password.
		for range 3 {
			wantBadLogin(t, login(t, s, a.email, pw2, ""))
		}
		wait := retryAfter(t, login(t, s, a.email, pw1, ""), 3600)
		if wait < 14*time.Minute || wait > 15*time.Minute {
			// Not fatal: the step below shows the consequence.
			t.Errorf("Retry-After %v; want the 15-minute lockout (at most 900 s) measured on the server's clock", wait)
		}
		wantSession(t, s, login(t, s, other.email, pw2, ""), other)

		s.Clock.Add(wait - 2*time.Minute)
		retryAfter(t, login(t, s, a.email, pw1, ""), 3600)
		s.Clock.Add(2 * time.Minute)
		r := login(t, s, a.email, pw1, "")
		if r.Status != http.StatusOK {
			t.Fatalf("the lockout should have passed on the server's clock (moved %v, the Retry-After), but login answers %d %s",
				wait, r.Status, r.Raw)
		}
		wantSession(t, s, r, a)
	})
}

// Each client address may fail PerAddressBurst times, refilled over time;
// successful logins do not spend the budget.
func TestLoginPerAddressLimit(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Auth: func(c *auth.Config) {
			c.MaxFailures, c.PerAddressBurst, c.PerAddressRate = 100, 3, 1.0/60
		}})
		a := signup(t, s, "Grace Chapel", "pat@example.org", pw1)
		for _, e := range []string{"one@example.org", "two@example.org", "three@example.org"} {
			wantBadLogin(t, login(t, s, e, pw1, ""))
		}
		wait := retryAfter(t, login(t, s, a.email, pw1, ""), 60)
		s.Clock.Add(wait)
		for range 3 {
			wantSession(t, s, login(t, s, a.email, pw1, ""), a)
		}
		wantBadLogin(t, login(t, s, "four@example.org", pw1, ""))
		retryAfter(t, login(t, s, a.email, pw1, ""), 60)
	})
}

// While a second church for the same email is still being provisioned (or
// is stuck there after a crash), logging in to the first church works and
// a wrong password still gets the one 401: the half-made church must
// neither block the login nor show through.
func TestLoginWhileAnotherChurchIsProvisioning(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		a := signup(t, s, "Grace Chapel", "pat@example.org", pw1)
		reached, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		s.Tenancy.Provisioner.BeforeStep = func(ctx context.Context, step tenancy.Step, _ *steeple.Tenant) error {
			if step == tenancy.StepActivate {
				once.Do(func() { close(reached) })
				<-release
			}
			return nil
		}
		done := make(chan int, 1)
		go func() {
			body := `{"church":{"name":"Hope Church","timezone":"UTC"},"admin":{"name":"Pat","email":"pat@example.org","password":"` + pw2 + `"}}`
			resp, err := http.Post(s.URL+"/api/v1/signup", "application/json", strings.NewReader(body))
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
		var released sync.Once
		unblock := func() { released.Do(func() { close(release) }) }
		defer unblock()
		select {
		case <-reached:
		case <-time.After(30 * time.Second):
			t.Fatal("the second signup never reached activation")
		}

		r := login(t, s, a.email, pw1, "")
		if r.Status != http.StatusOK {
			t.Fatalf("login to the active church while another church for the same email is provisioning: %d %s", r.Status, r.Raw)
		}
		wantSession(t, s, r, a)
		wantBadLogin(t, login(t, s, a.email, pw3, ""))

		unblock()
		if status := <-done; status != http.StatusCreated {
			t.Fatalf("the second signup answered %d", status)
		}
	})
}
