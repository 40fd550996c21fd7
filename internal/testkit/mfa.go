package testkit

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// EnableMFA turns MFA on for the client's admin through the API and returns
// the TOTP secret and the recovery codes; the clock then moves past the
// step just used, so the next code is a fresh one.
func (c *Client) EnableMFA(t testing.TB) (secret string, recoveryCodes []string) {
	t.Helper()
	var setup struct {
		OTPAuthURI string `json:"otpauth_uri"`
	}
	c.Call(t, "POST", "/api/v1/mfa/setup", nil, http.StatusOK, &setup)
	u, err := url.Parse(setup.OTPAuthURI)
	if err != nil {
		t.Fatalf("otpauth_uri %q: %v", setup.OTPAuthURI, err)
	}
	secret = u.Query().Get("secret")
	code, err := totp.GenerateCode(secret, c.s.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	var enabled struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	c.Call(t, "POST", "/api/v1/mfa/enable", map[string]any{"code": code}, http.StatusOK, &enabled)
	c.s.Clock.Add(30 * time.Second)
	return secret, enabled.RecoveryCodes
}
