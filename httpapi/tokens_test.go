package httpapi_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"hash"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// jwtSplit returns a JWT's encoded header, its claims (numbers kept exact)
// and its signature.
func jwtSplit(t *testing.T, tok string) (string, map[string]any, string) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a JWT", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil {
		t.Fatal(err)
	}
	return parts[0], claims, parts[2]
}

func b64JSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}

// signJWT signs header.payload with HMAC over h and key.
func signJWT(h func() hash.Hash, key []byte, header, payload string) string {
	m := hmac.New(h, key)
	m.Write([]byte(header + "." + payload))
	return header + "." + payload + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// A token is good only for its own use, only as signed, and only until it
// expires.
func TestTokenConfusion(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		a := signup(t, s, "Grace Chapel", "pat@example.org", pw1)
		other := signup(t, s, "Hope Church", "sam@example.org", pw2)
		me := func(tok string) *testkit.Response { return s.Do(t, "GET", "/api/v1/me", tok, nil) }
		unauthorized := func(what string, r *testkit.Response) {
			t.Helper()
			if r.Status != http.StatusUnauthorized {
				t.Fatalf("%s: %d %s; want 401", what, r.Status, r.Raw)
			}
			wantError(t, r, http.StatusUnauthorized, "unauthorized")
			wantNoTokens(t, r)
		}
		wantStatus(t, me(a.access), http.StatusOK)

		header, claims, sig := jwtSplit(t, a.access)
		payload := b64JSON(t, claims)
		// Control: the same claims signed with the real key are accepted, so
		// each refusal below is about the one thing changed.
		wantStatus(t, me(signJWT(sha256.New, s.Keys.SigningKey(), header, payload)), http.StatusOK)

		wrongKey := make([]byte, 32)
		_, _ = rand.Read(wrongKey)
		unauthorized("signed with another key", me(signJWT(sha256.New, wrongKey, header, payload)))
		none := b64JSON(t, map[string]string{"alg": "none", "typ": "JWT"})
		unauthorized("alg none", me(none+"."+payload+"."))
		unauthorized("alg none, old signature", me(none+"."+payload+"."+sig))
		hs512 := b64JSON(t, map[string]string{"alg": "HS512", "typ": "JWT"})
		unauthorized("HS512 with the real key", me(signJWT(sha512.New, s.Keys.SigningKey(), hs512, payload)))

		claims["tid"], claims["sub"] = other.tenantID, other.adminID
		unauthorized("church and admin claims edited", me(header+"."+b64JSON(t, claims)+"."+sig))
		_, claims, _ = jwtSplit(t, a.access)
		claims["tid"] = other.tenantID
		unauthorized("church claim edited", me(header+"."+b64JSON(t, claims)+"."+sig))
		_, claims, _ = jwtSplit(t, a.access)
		claims["role"] = "admin"
		unauthorized("role claim edited", me(header+"."+b64JSON(t, claims)+"."+sig))

		// Each token type only where it belongs.
		unauthorized("refresh token as bearer", me(a.refresh))
		unauthorized("access token as refresh token", refresh(t, s, a.access))
		unauthorized("no token", me(""))
		moved := strings.Replace(a.refresh, a.tenantID, other.tenantID, 1)
		unauthorized("refresh token pointed at another church", refresh(t, s, moved))
		wantStatus(t, refresh(t, s, a.refresh), http.StatusOK) // control: the real one was not spent
		enableMFA(t, s, a)
		r := login(t, s, a.email, pw1, "")
		mfaToken := r.Session(t).MFAToken
		unauthorized("MFA token as bearer", me(mfaToken))
		unauthorized("MFA token as refresh token", refresh(t, s, mfaToken))
		unauthorized("access token as MFA token",
			completeMFA(t, s, map[string]any{"mfa_token": a.access, "code": "123456"}))
		unauthorized("refresh token as MFA token",
			completeMFA(t, s, map[string]any{"mfa_token": other.refresh, "code": "123456"}))
		_, mc, _ := jwtSplit(t, mfaToken)
		mc["typ"] = "access"
		unauthorized("MFA token retyped as access", me(header+"."+b64JSON(t, mc)+"."+sig))

		// Access tokens last 15 minutes on the server's clock.
		s.Clock.Add(14 * time.Minute)
		wantStatus(t, me(other.access), http.StatusOK)
		s.Clock.Add(2 * time.Minute)
		unauthorized("expired access token", me(other.access))
		unauthorized("expired access token re-signed with the real key",
			me(signJWT(sha256.New, s.Keys.SigningKey(), header, payload)))
	})
}
