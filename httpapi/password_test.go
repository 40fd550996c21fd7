package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// A forgotten password: the same answer for a known and an unknown email;
// the mailed link resets the password once, revokes the refresh tokens,
// and the new password signs in while the old one does not.
func TestForgotAndResetPassword(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		const email, old, fresh = "ruth@grace.example.org", "correct horse battery staple", "a brand new long passphrase"
		s.Signup(t, "Grace Chapel", email, old)
		login := s.Do(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": old})
		refresh := login.Session(t).RefreshToken
		if refresh == "" {
			t.Fatalf("login: %d %s", login.Status, login.Raw)
		}
		known := s.Do(t, "POST", "/api/v1/auth/password/forgot", "", map[string]any{"email": email})
		unknown := s.Do(t, "POST", "/api/v1/auth/password/forgot", "", map[string]any{"email": "nobody@example.org"})
		if known.Status != http.StatusAccepted || unknown.Status != known.Status || unknown.Raw != known.Raw {
			t.Fatalf("forgot answers differ: %d %s / %d %s", known.Status, known.Raw, unknown.Status, unknown.Raw)
		}
		if r := s.Do(t, "POST", "/api/v1/auth/password/forgot", "", map[string]any{"email": "not an email"}); r.Status != http.StatusBadRequest && r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("bad email: %d %s", r.Status, r.Raw)
		}
		m := s.Mail.WaitFor(t, email, "/password/reset?token=", "Grace Chapel")
		token := m.Token()
		if s.Mail.Count("nobody@example.org") != 0 {
			t.Fatal("mail sent to an unknown email")
		}
		// A weak password is refused and leaves the link usable.
		weak := s.Do(t, "POST", "/api/v1/auth/password/reset", "", map[string]any{"token": token, "password": "Grace Chapel 2024"})
		if weak.Status == http.StatusOK || !strings.Contains(weak.Raw, "password") {
			t.Fatalf("weak password: %d %s", weak.Status, weak.Raw)
		}
		r := s.Do(t, "POST", "/api/v1/auth/password/reset", "", map[string]any{"token": token, "password": fresh})
		if r.Status != http.StatusOK {
			t.Fatalf("reset: %d %s", r.Status, r.Raw)
		}
		if r := s.Do(t, "POST", "/api/v1/auth/password/reset", "", map[string]any{"token": token, "password": fresh + "x"}); r.Status != http.StatusNotFound {
			t.Fatalf("second use: %d %s", r.Status, r.Raw)
		}
		if r := s.Do(t, "POST", "/api/v1/auth/password/reset", "", map[string]any{"token": token[:len(token)-2] + "xx", "password": fresh}); r.Status != http.StatusNotFound {
			t.Fatalf("altered: %d %s", r.Status, r.Raw)
		}
		if r := s.Do(t, "POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": refresh}); r.Status != http.StatusUnauthorized {
			t.Fatalf("refresh after reset: %d %s", r.Status, r.Raw)
		}
		if r := s.Do(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": old}); r.Status != http.StatusUnauthorized {
			t.Fatalf("old password: %d %s", r.Status, r.Raw)
		}
		if r := s.Do(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": fresh}); r.Status != http.StatusOK {
			t.Fatalf("new password: %d %s", r.Status, r.Raw)
		}
		// An hour later a link no longer works.
		s.Do(t, "POST", "/api/v1/auth/password/forgot", "", map[string]any{"email": email})
		var later string
		deadlineMails(t, s, email, 2, func(tok string) { later = tok })
		s.Clock.Add(61 * time.Minute)
		if r := s.Do(t, "POST", "/api/v1/auth/password/reset", "", map[string]any{"token": later, "password": fresh + "!"}); r.Status != http.StatusNotFound {
			t.Fatalf("expired: %d %s", r.Status, r.Raw)
		}
	})
}

// deadlineMails polls (with a deadline) until n reset mails reached rcpt
// and passes the newest link's token.
func deadlineMails(t *testing.T, s *testkit.Server, rcpt string, n int, got func(string)) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var toks []string
		for _, m := range s.Mail.Mails() {
			if strings.Contains(m.Body(), "/password/reset?token=") && strings.Contains(strings.Join(m.To, ","), rcpt) {
				toks = append(toks, m.Token())
			}
		}
		if len(toks) >= n {
			got(toks[len(toks)-1])
			return
		}
	}
	t.Fatalf("fewer than %d reset mails", n)
}

// Changing the password checks the current one, applies the sign-up rules,
// revokes the other refresh tokens and answers with new ones.
func TestChangePassword(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		const email, old, fresh = "ruth@grace.example.org", "correct horse battery staple", "a brand new long passphrase"
		s.Signup(t, "Grace Chapel", email, old)
		a := s.Do(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": old})
		b := s.Do(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": old})
		tok := a.Session(t).AccessToken
		otherRefresh := b.Session(t).RefreshToken
		if r := s.Do(t, "POST", "/api/v1/me/password", tok, map[string]any{"current": "wrong password here", "new": fresh}); r.Status != http.StatusBadRequest && r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Raw, "current") {
			t.Fatalf("wrong current: %d %s", r.Status, r.Raw)
		}
		if r := s.Do(t, "POST", "/api/v1/me/password", tok, map[string]any{"current": old, "new": "ruth@grace.example.org"}); !strings.Contains(r.Raw, `"new"`) {
			t.Fatalf("email as password: %d %s", r.Status, r.Raw)
		}
		r := s.Do(t, "POST", "/api/v1/me/password", tok, map[string]any{"current": old, "new": fresh})
		if r.Status != http.StatusOK || r.Session(t).RefreshToken == "" {
			t.Fatalf("change: %d %s", r.Status, r.Raw)
		}
		if r := s.Do(t, "POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": otherRefresh}); r.Status != http.StatusUnauthorized {
			t.Fatalf("other refresh token after change: %d %s", r.Status, r.Raw)
		}
		if r := s.Do(t, "POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": r.Session(t).RefreshToken}); r.Status != http.StatusOK {
			t.Fatalf("new refresh token: %d %s", r.Status, r.Raw)
		}
		if r := s.Do(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": fresh}); r.Status != http.StatusOK {
			t.Fatalf("new password: %d %s", r.Status, r.Raw)
		}
	})
}
