package httpapi_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
)

// unverified signs a church up without following its verification link.
func unverified(t *testing.T, s *testkit.Server, church, email string) (*account, *testkit.Response) {
	t.Helper()
	r := s.SignupUnverified(t, church, email, "correct horse battery")
	var ans testkit.SessionAnswer
	r.Decode(t, &ans)
	return &account{tenantID: ans.Tenant.ID, email: email, access: ans.AccessToken}, r
}

// gateView is GET /api/v1/church/gate.
type gateView struct {
	EmailVerified bool `json:"email_verified"`
	Open          bool `json:"open"`
}

func gate(t *testing.T, s *testkit.Server, token string) gateView {
	t.Helper()
	var g gateView
	s.Client(token).Call(t, "GET", "/api/v1/church/gate", nil, http.StatusOK, &g)
	return g
}

// invitations lists the pending invitations and returns the raw answer too.
func invitations(t *testing.T, s *testkit.Server, token string) ([]store.Invitation, string) {
	t.Helper()
	var body struct{ Invitations []store.Invitation }
	r := s.Client(token).Call(t, "GET", "/api/v1/admins/invitations", nil, http.StatusOK, &body)
	return body.Invitations, r.Raw
}

// firstAvailable finds a number the simulator offers.
func firstAvailable(t *testing.T, s *testkit.Server, a *account) string {
	t.Helper()
	ns := s.Client(a.access).Available(t, "area_code=312")
	if len(ns) < 2 {
		t.Fatalf("available numbers: %v", ns)
	}
	return ns[0]
}

// Until its owner follows the mailed link, a new church cannot buy a
// number, send or invite, and is told why; the link works once, for 24 h.
func TestEmailVerificationGate(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		a, signupAnswer := unverified(t, s, "Grace Chapel", "pastor@grace.example")
		m := s.Mail.WaitFor(t, "pastor@grace.example", "/verify-email?token=ev1."+a.tenantID)
		if !strings.Contains(m.Header("Subject"), "Verify your email") {
			t.Fatalf("subject %q", m.Header("Subject"))
		}
		if strings.Contains(signupAnswer.Raw, "ev1.") {
			t.Fatalf("the signup answer carries the verification link: %s", signupAnswer.Raw)
		}
		number := firstAvailable(t, s, a)
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"POST", "/api/v1/numbers", map[string]any{"number": number}},
			{"POST", "/api/v1/messages", map[string]any{"body": "hello", "audience": map[string]any{"all": true}}},
			{"POST", "/api/v1/admins/invitations", map[string]any{"email": "helper@grace.example"}},
		} {
			r := s.Do(t, c.method, c.path, a.access, c.body)
			if msg := wantError(t, r, http.StatusForbidden, "forbidden"); !strings.Contains(msg, "verify your email address first") ||
				!strings.Contains(msg, "pastor@grace.example") {
				t.Fatalf("%s %s: %q", c.method, c.path, msg)
			}
		}
		if g := gate(t, s, a.access); g.EmailVerified || g.Open {
			t.Fatalf("gate: %+v", g)
		}
		if s.Mail.Count("helper@grace.example") != 0 {
			t.Fatal("an unverified church's invitation was mailed")
		}

		// Bad, altered and other-prefix tokens: one answer.
		token := m.Token()
		for _, bad := range []string{"nope", token + "x", strings.Replace(token, "ev1.", "inv1.", 1)} {
			wantError(t, s.Do(t, "POST", "/api/v1/auth/verify-email", "", map[string]any{"token": bad}), http.StatusNotFound, "not_found")
		}
		wantError(t, s.Do(t, "POST", "/api/v1/auth/verify-email", "", map[string]any{}), http.StatusBadRequest, "invalid")

		var verified testkit.SessionAnswer
		s.Client("").Call(t, "POST", "/api/v1/auth/verify-email", map[string]any{"token": token}, http.StatusOK, &verified)
		if verified.Tenant == nil || verified.Tenant.ID != a.tenantID {
			t.Fatalf("verified %+v", verified)
		}
		wantError(t, s.Do(t, "POST", "/api/v1/auth/verify-email", "", map[string]any{"token": token}), http.StatusNotFound, "not_found")
		wantError(t, s.Do(t, "POST", "/api/v1/auth/verify-email/resend", a.access, nil), http.StatusConflict, "conflict")
		wantStatus(t, s.Do(t, "POST", "/api/v1/numbers", a.access, map[string]any{"number": number}), http.StatusAccepted)
		if g := gate(t, s, a.access); !g.Open {
			t.Fatalf("gate after verifying: %+v", g)
		}

		// A link expires after 24 hours; a resent one works.
		c, _ := unverified(t, s, "Hope Church", "office@hope.example")
		old := s.Mail.WaitFor(t, "office@hope.example", "ev1."+c.tenantID).Token()
		s.Clock.Add(24*time.Hour + time.Minute)
		wantError(t, s.Do(t, "POST", "/api/v1/auth/verify-email", "", map[string]any{"token": old}), http.StatusNotFound, "not_found")
		_, ans := s.Client("").Login(t, "office@hope.example", "correct horse battery", "")
		c.access = ans.AccessToken
		wantStatus(t, s.Do(t, "POST", "/api/v1/auth/verify-email/resend", c.access, nil), http.StatusAccepted)
		fresh := ""
		for _, m := range s.Mail.Mails() {
			if m.To[0] == "office@hope.example" && m.Token() != old {
				fresh = m.Token()
			}
		}
		if fresh == "" {
			t.Fatal("no new link mailed")
		}
		wantStatus(t, s.Do(t, "POST", "/api/v1/auth/verify-email", "", map[string]any{"token": fresh}), http.StatusOK)
	})
}

// Invitations are mailed and never logged at any level; pending ones are
// listed and can be revoked, and another church's id is not found.
func TestInvitationsMailedListedRevoked(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		var logs lockedBuffer
		s := testkit.NewServer(t, b, testkit.ServerOptions{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		owner := signup(t, s, "Grace Chapel", "pastor@grace.example", "correct horse battery")
		other := signup(t, s, "Hope Church", "office@hope.example", "correct horse battery")
		tokA := invite(t, s, owner, "lee@grace.example")
		_ = invite(t, s, owner, "max@grace.example")
		m := s.Mail.WaitFor(t, "lee@grace.example", "/invitations/accept?token=")
		if !strings.Contains(m.Body(), "Grace Chapel") {
			t.Fatalf("invitation mail:\n%s", m.Body())
		}

		invs, raw := invitations(t, s, owner.access)
		if len(invs) != 2 || strings.Contains(raw, "inv1.") {
			t.Fatalf("pending invitations: %s", raw)
		}
		var leeID string
		for _, inv := range invs {
			if inv.Email == "lee@grace.example" {
				leeID = inv.ID
			}
		}
		// Another church: not listed, and its owner cannot revoke.
		if invs, raw := invitations(t, s, other.access); len(invs) != 0 {
			t.Fatalf("other church's list: %s", raw)
		}
		wantError(t, s.Do(t, "DELETE", "/api/v1/admins/invitations/"+leeID, other.access, nil), http.StatusNotFound, "not_found")
		wantError(t, s.Do(t, "DELETE", "/api/v1/admins/invitations/not-an-id", owner.access, nil), http.StatusNotFound, "not_found")

		wantStatus(t, s.Do(t, "DELETE", "/api/v1/admins/invitations/"+leeID, owner.access, nil), http.StatusNoContent)
		wantError(t, s.Do(t, "DELETE", "/api/v1/admins/invitations/"+leeID, owner.access, nil), http.StatusNotFound, "not_found")
		wantError(t, accept(t, s, tokA, "Lee", "another good passphrase"), http.StatusNotFound, "not_found")
		if invs, raw := invitations(t, s, owner.access); len(invs) != 1 {
			t.Fatalf("after revoking: %s", raw)
		}
		for _, secret := range []string{"inv1.", "ev1.", "token="} {
			if strings.Contains(logs.String(), secret) {
				t.Fatalf("the log carries a link (%s):\n%s", secret, logs.String())
			}
		}
	})
}

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Signups are capped per client address and in all; the refusal says when
// to retry.
func TestSignupThrottle(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name             string
		perAddress, glob int
	}{{"per address", 2, 0}, {"global", 0, 2}} {
		t.Run(c.name, func(t *testing.T) {
			s := testkit.NewServer(t, testkit.SQLite(t), testkit.ServerOptions{Auth: func(cfg *auth.Config) {
				cfg.SignupsPerAddress, cfg.SignupsGlobal = c.perAddress, c.glob
			}})
			s.SignupUnverified(t, "One", "one@example.org", "correct horse battery")
			s.SignupUnverified(t, "Two", "two@example.org", "correct horse battery")
			r := s.Do(t, "POST", "/api/v1/signup", "", map[string]any{
				"church": map[string]string{"name": "Three", "timezone": "America/Chicago"},
				"admin":  map[string]string{"name": "Three", "email": "three@example.org", "password": "correct horse battery"}})
			wantError(t, r, http.StatusTooManyRequests, "too_many")
			if r.Header.Get("Retry-After") == "" {
				t.Fatal("no Retry-After")
			}
			s.Clock.Add(31 * time.Minute) // 2 an hour: one more after half an hour
			s.SignupUnverified(t, "Three", "three@example.org", "correct horse battery")
		})
	}
}

// Signing up with an email that already has a church answers exactly as
// for a new email (same status and shape).
func TestSignupDoesNotRevealExistingEmail(t *testing.T) {
	t.Parallel()
	s := testkit.NewServer(t, testkit.SQLite(t))
	first := s.SignupUnverified(t, "Grace Chapel", "pastor@grace.example", "correct horse battery")
	again := s.SignupUnverified(t, "Grace Chapel North", "pastor@grace.example", "correct horse battery")
	if keys(first.Body) != keys(again.Body) {
		t.Fatalf("answers differ: %s vs %s", first.Raw, again.Raw)
	}
}

func keys(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return strings.Join(ks, ",")
}

// STEEPLE_SIGNUP=closed refuses signups; approval lets a church sign up
// and verify, but it buys a number only once an operator approves it.
func TestSignupModes(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		closed := testkit.NewServer(t, b, testkit.ServerOptions{Auth: func(c *auth.Config) { c.SignupMode = auth.SignupClosed }})
		r := closed.Do(t, "POST", "/api/v1/signup", "", map[string]any{
			"church": map[string]string{"name": "X", "timezone": "America/Chicago"},
			"admin":  map[string]string{"name": "X", "email": "x@example.org", "password": "correct horse battery"}})
		if msg := wantError(t, r, http.StatusForbidden, "forbidden"); !strings.Contains(msg, "closed") {
			t.Fatalf("closed: %q", msg)
		}

		s := testkit.NewServer(t, b, testkit.ServerOptions{Auth: func(c *auth.Config) { c.SignupMode = auth.SignupApproval }})
		a := signup(t, s, "Grace Chapel", "pastor@grace.example", "correct horse battery")
		number := firstAvailable(t, s, a)
		msg := wantError(t, s.Do(t, "POST", "/api/v1/numbers", a.access, map[string]any{"number": number}), http.StatusForbidden, "forbidden")
		if !strings.Contains(msg, "approval") {
			t.Fatalf("awaiting approval: %q", msg)
		}
		if err := s.Auth.ApproveChurch(context.Background(), a.tenantID); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, s.Do(t, "POST", "/api/v1/numbers", a.access, map[string]any{"number": number}), http.StatusAccepted)
	})
}

// A church not yet registered for 10DLC holds one number at most.
func TestOneNumberBeforeRegistration(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Auth: func(c *auth.Config) { c.UnregisteredMaxNumbers = 1 }})
		a := signup(t, s, "Grace Chapel", "pastor@grace.example", "correct horse battery")
		ns := s.Client(a.access).Available(t, "area_code=312")
		if len(ns) < 2 {
			t.Fatalf("available: %v", ns)
		}
		// Orders at the same moment: exactly one gets through.
		var wg sync.WaitGroup
		var mu sync.Mutex
		accepted := 0
		for i := 0; i < 2 && i < len(ns); i++ {
			wg.Add(1)
			go func(n string) {
				defer wg.Done()
				r := s.Do(t, "POST", "/api/v1/numbers", a.access, map[string]any{"number": n})
				mu.Lock()
				defer mu.Unlock()
				if r.Status == http.StatusAccepted {
					accepted++
				} else if r.Status != http.StatusForbidden {
					t.Errorf("order: %d %s", r.Status, r.Raw)
				}
			}(ns[i])
		}
		wg.Wait()
		if accepted != 1 {
			t.Fatalf("%d orders accepted at once; want 1", accepted)
		}
		msg := wantError(t, s.Do(t, "POST", "/api/v1/numbers", a.access, map[string]any{"number": ns[len(ns)-1]}), http.StatusForbidden, "forbidden")
		if !strings.Contains(msg, "10DLC") {
			t.Fatalf("second number: %q", msg)
		}
	})
}
