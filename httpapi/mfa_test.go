package httpapi_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/internal/testkit"
)

// totpCode is the authenticator app's code at the server's current time.
func totpCode(t *testing.T, s *testkit.Server, secret string) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, s.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wrongCode is a six-digit code that matches no step the server accepts now.
func wrongCode(t *testing.T, s *testkit.Server, secret string) string {
	t.Helper()
	near := map[string]bool{}
	for _, d := range []time.Duration{-60, -30, 0, 30, 60} {
		c, _ := totp.GenerateCode(secret, s.Clock.Now().Add(d*time.Second))
		near[c] = true
	}
	for i := 0; ; i++ {
		if c := fmt.Sprintf("%06d", (123456+i*7919)%1000000); !near[c] {
			return c
		}
	}
}

// setupMFA starts MFA for a's admin and returns the TOTP secret.
func setupMFA(t *testing.T, s *testkit.Server, a *account) string {
	t.Helper()
	var setup struct {
		OTPAuthURI string `json:"otpauth_uri"`
		QRPNG      string `json:"qr_png"`
	}
	s.Client(a.access).Call(t, "POST", "/api/v1/mfa/setup", nil, http.StatusOK, &setup)
	u, err := url.Parse(setup.OTPAuthURI)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		t.Fatalf("otpauth_uri %q (%v)", setup.OTPAuthURI, err)
	}
	secret := u.Query().Get("secret")
	if len(secret) < 16 {
		t.Fatalf("otpauth_uri %q holds no usable secret", u)
	}
	png, ok := strings.CutPrefix(setup.QRPNG, "data:image/png;base64,")
	raw, err := base64.StdEncoding.DecodeString(png)
	if !ok || err != nil || !bytes.HasPrefix(raw, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("qr_png is not a PNG data URL (%v)", err)
	}
	return secret
}

// enableMFA sets up and enables MFA for a's admin, returning the secret and
// the recovery codes. The clock is then moved past the step just used.
func enableMFA(t *testing.T, s *testkit.Server, a *account) (string, []string) {
	t.Helper()
	secret := setupMFA(t, s, a)
	codes := recoveryCodes(t, s.Do(t, "POST", "/api/v1/mfa/enable", a.access, map[string]any{"code": totpCode(t, s, secret)}))
	s.Clock.Add(30 * time.Second)
	return secret, codes
}

// recoveryCodes reads the answer to /mfa/enable: ten distinct codes.
func recoveryCodes(t *testing.T, r *testkit.Response) []string {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	var answer struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	r.Decode(t, &answer)
	codes := make([]string, 0, len(answer.RecoveryCodes))
	seen := map[string]bool{}
	for _, s := range answer.RecoveryCodes {
		if s != "" && !seen[s] {
			codes = append(codes, s)
			seen[s] = true
		}
	}
	if len(codes) != 10 {
		t.Fatalf("recovery_codes: want 10 distinct codes: %s", r.Raw)
	}
	return codes
}

// mfaLogin logs in and expects an MFA challenge, returning its token.
func mfaLogin(t *testing.T, s *testkit.Server, a *account) string {
	t.Helper()
	r := login(t, s, a.email, a.password, "")
	wantStatus(t, r, http.StatusOK)
	var ans testkit.SessionAnswer
	r.Decode(t, &ans)
	if !ans.MFARequired || ans.Tenant == nil || ans.Tenant.ID != a.tenantID || ans.MFAToken == "" {
		t.Fatalf("want an MFA challenge for %s: %s", a.tenantID, r.Raw)
	}
	_, hasAccess := r.Body["access_token"] // present at all, even empty
	_, hasRefresh := r.Body["refresh_token"]
	if hasAccess || hasRefresh {
		t.Fatalf("an MFA challenge carries tokens: %s", r.Raw)
	}
	return ans.MFAToken
}

func completeMFA(t *testing.T, s *testkit.Server, body map[string]any) *testkit.Response {
	t.Helper()
	return s.Do(t, "POST", "/api/v1/auth/mfa", "", body)
}

// MFA end to end: setup, enable, challenge, TOTP once per step, recovery
// codes once each, disable with a current code.
func TestMFA(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Auth: func(c *auth.Config) {
			c.MaxFailures, c.PerAddressBurst = 100, 100 // this test fails on purpose many times
		}})
		a := signup(t, s, "Grace Chapel", "pat@example.org", pw1)
		secret := setupMFA(t, s, a)
		// Until enabled, login is unchanged; enabling needs the right code.
		wantSession(t, s, login(t, s, a.email, pw1, ""), a)
		wantError(t, s.Do(t, "POST", "/api/v1/mfa/enable", a.access, map[string]any{"code": wrongCode(t, s, secret)}),
			http.StatusBadRequest, "invalid")
		codes := recoveryCodes(t, s.Do(t, "POST", "/api/v1/mfa/enable", a.access, map[string]any{"code": totpCode(t, s, secret)}))
		if me := s.Client(a.access).Me(t); !me.Admin.MFAEnabled {
			t.Fatalf("/me after enabling: %+v", me)
		}
		wantError(t, s.Do(t, "POST", "/api/v1/mfa/setup", a.access, nil), http.StatusConflict, "conflict")

		// The code that enabled MFA is spent: replaying it at the same clock fails.
		tok := mfaLogin(t, s, a)
		wantError(t, completeMFA(t, s, map[string]any{"mfa_token": tok, "code": totpCode(t, s, secret)}),
			http.StatusUnauthorized, "unauthorized")
		s.Clock.Add(30 * time.Second)
		code := totpCode(t, s, secret)
		wantError(t, completeMFA(t, s, map[string]any{"mfa_token": tok, "code": wrongCode(t, s, secret)}),
			http.StatusUnauthorized, "unauthorized")
		wantError(t, completeMFA(t, s, map[string]any{"mfa_token": tok}), http.StatusBadRequest, "invalid")
		wantError(t, completeMFA(t, s, map[string]any{"mfa_token": tok, "code": code, "recovery_code": codes[0]}),
			http.StatusBadRequest, "invalid")
		r := completeMFA(t, s, map[string]any{"mfa_token": tok, "code": code})
		wantSession(t, s, r, a)
		wantError(t, completeMFA(t, s, map[string]any{"mfa_token": mfaLogin(t, s, a), "code": code}),
			http.StatusUnauthorized, "unauthorized")

		// Each recovery code works exactly once (typed in any case, with or without the dash).
		for i, rc := range codes {
			typed := rc
			if i == 0 {
				typed = strings.ToUpper(strings.ReplaceAll(rc, "-", ""))
			}
			wantSession(t, s, completeMFA(t, s, map[string]any{"mfa_token": mfaLogin(t, s, a), "recovery_code": typed}), a)
			wantError(t, completeMFA(t, s, map[string]any{"mfa_token": mfaLogin(t, s, a), "recovery_code": rc}),
				http.StatusUnauthorized, "unauthorized")
		}

		// An MFA token is short-lived.
		tok = mfaLogin(t, s, a)
		s.Clock.Add(6 * time.Minute)
		wantError(t, completeMFA(t, s, map[string]any{"mfa_token": tok, "code": totpCode(t, s, secret)}),
			http.StatusUnauthorized, "unauthorized")

		// Disabling needs a current, unused code.
		_, access := mfaSession(t, s, a, secret)
		used := totpCode(t, s, secret)
		wantError(t, s.Do(t, "POST", "/api/v1/mfa/disable", access, map[string]any{"code": used}), http.StatusBadRequest, "invalid")
		wantError(t, s.Do(t, "POST", "/api/v1/mfa/disable", access, map[string]any{"code": wrongCode(t, s, secret)}),
			http.StatusBadRequest, "invalid")
		s.Clock.Add(30 * time.Second)
		wantStatus(t, s.Do(t, "POST", "/api/v1/mfa/disable", access, map[string]any{"code": totpCode(t, s, secret)}),
			http.StatusNoContent)
		wantSession(t, s, login(t, s, a.email, pw1, ""), a)
		wantError(t, s.Do(t, "POST", "/api/v1/mfa/disable", access, map[string]any{"code": totpCode(t, s, secret)}),
			http.StatusConflict, "conflict")
		// Disabling dropped the secret: enabling again needs a new setup.
		wantError(t, s.Do(t, "POST", "/api/v1/mfa/enable", access, map[string]any{"code": totpCode(t, s, secret)}),
			http.StatusBadRequest, "invalid")
	})
}

// Guessing second-factor codes is throttled like guessing passwords.
func TestMFAGuessingIsThrottled(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b) // default limits: 5 failures lock
		a := signup(t, s, "Grace Chapel", "pat@example.org", pw1)
		secret, codes := enableMFA(t, s, a)
		tok := mfaLogin(t, s, a)
		for range 5 {
			wantError(t, completeMFA(t, s, map[string]any{"mfa_token": tok, "code": wrongCode(t, s, secret)}),
				http.StatusUnauthorized, "unauthorized")
		}
		retryAfter(t, completeMFA(t, s, map[string]any{"mfa_token": tok, "code": totpCode(t, s, secret)}), 15*60+60)
		retryAfter(t, completeMFA(t, s, map[string]any{"mfa_token": tok, "recovery_code": codes[0]}), 15*60+60)
	})
}

// mfaSession logs in through the second factor with the current code,
// returning the mfa token used and the access token.
func mfaSession(t *testing.T, s *testkit.Server, a *account, secret string) (string, string) {
	t.Helper()
	tok := mfaLogin(t, s, a)
	access, _ := wantSession(t, s, completeMFA(t, s, map[string]any{"mfa_token": tok, "code": totpCode(t, s, secret)}), a)
	return tok, access
}

// The church's database never holds the TOTP secret in plain text.
func TestTOTPSecretIsNotStoredInPlainText(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		a := signup(t, s, "Grace Chapel", "pat@example.org", pw1)
		pending := setupMFA(t, s, a)
		check := func(secret, when string) {
			t.Helper()
			for _, form := range []string{secret, strings.ToLower(secret)} {
				if b.Postgres() {
					row := adminRow(t, s, a)
					if !strings.Contains(row, "$argon2id$") {
						t.Fatalf("the row read is not the admin's (no password hash in it): %q", row)
					}
					if strings.Contains(row, form) {
						t.Fatalf("%s: the admins row holds the TOTP secret in plain text", when)
					}
				} else if bytes.Contains(sqliteFile(t, b, a.tenantID), []byte(form)) {
					t.Fatalf("%s: the SQLite file holds the TOTP secret in plain text", when)
				}
			}
		}
		check(pending, "after setup")
		secret, _ := enableMFA(t, s, a)
		check(secret, "after enabling")
		if !b.Postgres() && !bytes.Contains(sqliteFile(t, b, a.tenantID), []byte("mfa.enabled")) {
			t.Fatal("the SQLite file read is not the church's database (no audit entry found in it)")
		}
	})
}

// adminRow returns every column of a's admins row as text, read through the
// church's own database.
func adminRow(t *testing.T, s *testkit.Server, a *account) string {
	t.Helper()
	ctx := context.Background()
	h, err := s.Tenancy.Manager.Acquire(ctx, a.tenantID)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	rows, err := h.QueryContext(ctx, `SELECT * FROM admins WHERE id = $1`, a.adminID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out strings.Builder
	for rows.Next() {
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			out.Write(v)
			out.WriteByte('|')
		}
	}
	if err := rows.Err(); err != nil || out.Len() == 0 {
		t.Fatalf("admins row %s not read (%v)", a.adminID, err)
	}
	return out.String()
}
