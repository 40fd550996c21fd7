package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pquerna/otp/totp"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// enableMFA turns MFA on for the admin through the API and returns the TOTP
// secret and the recovery codes; the clock then moves past the step used.
// Sign-in with MFA: the MFA token waits in its own short-lived cookie (never
// in a URL), a code completes the sign-in once, a reused code says to wait
// for the next one, and a recovery code works.
func TestSigninWithMFA(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		owner := newBrowser(t, s, "en")
		owner.signUp("Grace Chapel", "ruth@grace.example.org")
		secret, recovery := s.Client(apiToken(t, s, "ruth@grace.example.org", owner.tenantOf())).EnableMFA(t)

		b := newBrowser(t, s, "en")
		p := b.post("/signin", url.Values{"email": {"ruth@grace.example.org"}, "password": {password}, "next": {"/"}})
		if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/signin/code") {
			t.Fatalf("want the code step: %d %s", p.Status, p.Location)
		}
		mfa := b.cookies["__Host-steeple_mfa"]
		if mfa == nil || !mfa.HttpOnly || !mfa.Secure || mfa.Path != "/" || strings.Contains(p.Location, mfa.Value) {
			t.Fatalf("MFA cookie: %v, location %s", mfa, p.Location)
		}
		if _, ok := b.cookies["__Host-steeple_session"]; ok {
			t.Fatal("signed in before the code")
		}
		b.get(p.Location).want(t, 200, "Enter your code", "recovery codes")
		b.post("/signin/code", url.Values{"code": {"000000"}}).want(t, 401, "That code is not right")
		code, _ := totp.GenerateCode(secret, s.Clock.Now())
		p = b.post("/signin/code", url.Values{"code": {code}, "next": {"/"}})
		b.follow(p).want(t, 200, "Grace Chapel", "Sign out")
		if _, ok := b.cookies["__Host-steeple_mfa"]; ok {
			t.Fatal("the MFA cookie outlived the sign-in")
		}

		// The same code again, in another browser: told to wait.
		again := newBrowser(t, s, "es")
		again.post("/signin", url.Values{"email": {"ruth@grace.example.org"}, "password": {password}})
		again.post("/signin/code", url.Values{"code": {code}}).want(t, 401, "Este código se acaba de usar; espere al siguiente.")
		p = again.post("/signin/code", url.Values{"code": {recovery[0]}})
		again.follow(p).want(t, 200, "Grace Chapel")

		// Without the MFA cookie (expired), the code step sends back to sign in.
		newBrowser(t, s, "en").post("/signin/code", url.Values{"code": {code}}).want(t, 401, "took too long")
	})
}
