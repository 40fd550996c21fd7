package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// Signup and accepting an invitation refuse a breached password, and one
// that is the person's email (or its local part) or the church's name.
func TestPasswordRulesOnSignupAndAccept(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		signupWith := func(pw string) *testkit.Response {
			return s.Do(t, "POST", "/api/v1/signup", "", map[string]any{
				"church": map[string]string{"name": "Grace Chapel", "timezone": "America/Chicago"},
				"admin":  map[string]string{"name": "Pat Lee", "email": "pat.lee@example.org", "password": pw}})
		}
		for _, pw := range []string{"Password123!", "pat.lee@example.org", "PatLee2024!", "Grace Chapel", "gracechapel!!"} {
			r := signupWith(pw)
			wantError(t, r, http.StatusBadRequest, "invalid")
			if _, named := r.Fields(t)["admin.password"]; !named {
				t.Fatalf("signup with %q: no admin.password message: %s", pw, r.Raw)
			}
		}
		owner := signup(t, s, "Grace Chapel", "pat.lee@example.org", pw1)
		tok := invite(t, s, owner, "sam.ortiz@example.org")
		for _, pw := range []string{"sam.ortiz@example.org", "Sam.Ortiz!!", "samortiz1234", "Grace Chapel 1", "Password123!"} {
			r := accept(t, s, tok, "Sam Ortiz", pw)
			wantError(t, r, http.StatusBadRequest, "invalid")
			if _, named := r.Fields(t)["password"]; !named {
				t.Fatalf("accept with %q: no password message: %s", pw, r.Raw)
			}
		}
		// The refusals did not spend the invitation.
		join(t, s, owner, tok, "sam.ortiz@example.org", pw2)
	})
}
