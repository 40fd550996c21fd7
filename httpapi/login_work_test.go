package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// A login does the same password work (argon2id verifications) whether the
// email is unknown or an admin at one or three churches, and whether the
// password is right or wrong: its time tells none of them apart.
func TestLoginWorkIndependentOfChurches(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		one := signup(t, s, "Hope Church", "sam@example.org", pw1)
		three := signup(t, s, "Grace Chapel", "pat@example.org", pw1)
		signup(t, s, "First Baptist", "pat@example.org", pw1)
		signup(t, s, "St Mark's", "pat@example.org", pw1)

		work := func(name string, do func() *testkit.Response, status int) int64 {
			t.Helper()
			before := s.Auth.PasswordChecks()
			wantStatus(t, do(), status)
			return s.Auth.PasswordChecks() - before
		}
		cases := []struct {
			name   string
			email  string
			pw     string
			tenant string
			status int
		}{
			{"unknown email", "nobody@example.org", pw2, "", http.StatusUnauthorized},
			{"one church, wrong password", one.email, pw2, "", http.StatusUnauthorized},
			{"three churches, wrong password", three.email, pw2, "", http.StatusUnauthorized},
			{"one church, right password", one.email, pw1, "", http.StatusOK},
			{"three churches, right password", three.email, pw1, "", http.StatusOK},
			{"three churches, one chosen", three.email, pw1, three.tenantID, http.StatusOK},
			{"unknown church chosen", one.email, pw1, three.tenantID, http.StatusUnauthorized},
		}
		var want int64
		for i, c := range cases {
			got := work(c.name, func() *testkit.Response { return login(t, s, c.email, c.pw, c.tenant) }, c.status)
			if i == 0 {
				want = got
				if want < 3 {
					t.Fatalf("%s: %d password checks; want at least 3", c.name, got)
				}
			} else if got != want {
				t.Fatalf("%s: %d password checks; an unknown email costs %d", c.name, got, want)
			}
		}
	})
}
