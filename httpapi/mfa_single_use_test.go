package httpapi_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// An MFA token buys one session: used again, within its five minutes and
// with a fresh code or another recovery code, it answers like any invalid
// token. Of two racing uses only one wins.
func TestMFATokenSingleUse(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		a := signup(t, s, "Grace Chapel", "pat@example.org", pw1)
		secret, codes := enableMFA(t, s, a)
		tok := mfaLogin(t, s, a)
		wantSession(t, s, completeMFA(t, s, map[string]any{"mfa_token": tok, "code": totpCode(t, s, secret)}), a)

		s.Clock.Add(30 * time.Second) // a fresh code; the token has over four minutes left
		msg := wantError(t, completeMFA(t, s, map[string]any{"mfa_token": tok, "code": totpCode(t, s, secret)}),
			http.StatusUnauthorized, "unauthorized")
		if msg != "invalid or expired token" {
			t.Fatalf("a spent MFA token answers %q; want the invalid-token answer", msg)
		}
		wantError(t, completeMFA(t, s, map[string]any{"mfa_token": tok, "recovery_code": codes[0]}),
			http.StatusUnauthorized, "unauthorized")
		// The recovery code was not consumed by the refused attempt.
		wantSession(t, s, completeMFA(t, s, map[string]any{"mfa_token": mfaLogin(t, s, a), "recovery_code": codes[0]}), a)

		// Two uses at once, each with its own recovery code: one session.
		tok = mfaLogin(t, s, a)
		var wg sync.WaitGroup
		answers := make([]*testkit.Response, 2)
		for i := range answers {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				answers[i] = completeMFA(t, s, map[string]any{"mfa_token": tok, "recovery_code": codes[1+i]})
			}(i)
		}
		wg.Wait()
		ok := 0
		for _, r := range answers {
			switch r.Status {
			case http.StatusOK:
				ok++
			case http.StatusUnauthorized:
			default:
				t.Fatalf("racing MFA: %d %s", r.Status, r.Raw)
			}
		}
		if ok != 1 {
			t.Fatalf("%d of 2 racing uses of one MFA token got a session; want 1", ok)
		}
	})
}
