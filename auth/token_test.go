package auth

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/secret"
)

func TestTokensCheckTypeKeyAndExpiry(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	tk := tokens{keys: fixedKey("0123456789abcdef0123456789abcdef"), now: clock}
	tenant, admin := steeple.NewID(), steeple.NewID()
	raw, err := tk.issue(TypeAccess, admin, tenant, steeple.RoleOwner, AccessTTL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tk.parse(raw, TypeAccess)
	if err != nil || c.AdminID() != admin || c.TenantID != tenant || c.Role != steeple.RoleOwner {
		t.Fatalf("parse = %+v, %v", c, err)
	}
	if _, err := tk.parse(raw, TypeMFA); steeple.ErrorCode(err) != steeple.EUNAUTHORIZED {
		t.Fatalf("an access token parsed as an MFA token: %v", err)
	}
	other := tokens{keys: fixedKey("another key, also thirty-two b!!"), now: clock}
	if _, err := other.parse(raw, TypeAccess); steeple.ErrorCode(err) != steeple.EUNAUTHORIZED {
		t.Fatalf("a token parsed under another key: %v", err)
	}
	bad, _ := tk.issue(TypeAccess, admin, "not-a-church", steeple.RoleOwner, AccessTTL)
	if _, err := tk.parse(bad, TypeAccess); err == nil {
		t.Fatal("a token naming no valid church parsed")
	}
	now = now.Add(AccessTTL + time.Second)
	if _, err := tk.parse(raw, TypeAccess); steeple.ErrorCode(err) != steeple.EUNAUTHORIZED {
		t.Fatalf("an expired token parsed: %v", err)
	}
}

func TestOpaqueTokensNameTheirChurch(t *testing.T) {
	id := steeple.NewID()
	tok := opaque("rt1", id)
	if got := opaqueTenant("rt1", tok); got != id {
		t.Fatalf("opaqueTenant = %q; want %q", got, id)
	}
	if tok == opaque("rt1", id) {
		t.Fatal("two opaque tokens are equal")
	}
	secret := tok[strings.LastIndex(tok, ".")+1:]
	for _, bad := range []string{"", "rt1", "rt1." + id, "inv1." + id + "." + secret, "rt1.nonsense." + secret,
		"rt1." + id + ".short", strings.Replace(tok, "rt1.", "rt2.", 1)} {
		if got := opaqueTenant("rt1", bad); got != "" {
			t.Errorf("opaqueTenant(%q) = %q; want \"\"", bad, got)
		}
	}
}

func TestRecoveryCodes(t *testing.T) {
	form := regexp.MustCompile(`^[a-z2-7]{5}-[a-z2-7]{5}$`)
	seen := map[string]bool{}
	for range 100 {
		c := recoveryCode()
		if !form.MatchString(c) || seen[c] {
			t.Fatalf("recovery code %q is malformed or repeated", c)
		}
		seen[c] = true
		for _, typed := range []string{c, strings.ToUpper(c), strings.ReplaceAll(c, "-", ""), " " + c[:5] + " " + c[6:] + " "} {
			if got := normalizeRecoveryCode(typed); got != c {
				t.Fatalf("normalizeRecoveryCode(%q) = %q; want %q", typed, got, c)
			}
		}
	}
}

func TestMatchTOTPWindow(t *testing.T) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Steeple", AccountName: "pat@example.org", Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_015, 0)
	code := func(d time.Duration) string {
		c, _ := totp.GenerateCode(key.Secret(), now.Add(d))
		return c
	}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		step, ok := matchTOTP(key.Secret(), code(d), now)
		if !ok || step != now.Add(d).Unix()/30 {
			t.Errorf("code of %v: step %d, %v; want step %d", d, step, ok, now.Add(d).Unix()/30)
		}
	}
	for _, d := range []time.Duration{-90 * time.Second, 90 * time.Second} {
		if c := code(d); c != code(0) && c != code(-30*time.Second) && c != code(30*time.Second) {
			if _, ok := matchTOTP(key.Secret(), c, now); ok {
				t.Errorf("code of %v accepted", d)
			}
		}
	}
	for _, c := range []string{"", "12345", "1234567", code(0) + " "} {
		if _, ok := matchTOTP(key.Secret(), c, now); ok {
			t.Errorf("code %q accepted", c)
		}
	}
	if _, ok := matchTOTP("", code(0), now); ok {
		t.Error("a code accepted with no secret")
	}
}

// After the signing key is rotated, a token signed before still verifies
// (new ones are signed with the new key); once the previous key is
// retired, the old token no longer does.
func TestTokensSurviveSigningRotation(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	f := secret.Generate()
	before, _ := secret.New(f)
	tenant, admin := steeple.NewID(), steeple.NewID()
	old, err := tokens{keys: before, now: clock}.issue(TypeAccess, admin, tenant, steeple.RoleOwner, AccessTTL)
	if err != nil {
		t.Fatal(err)
	}
	rotatedFile, err := secret.RotateSigning(f, now)
	if err != nil {
		t.Fatal(err)
	}
	rotated, _ := secret.New(rotatedFile)
	tk := tokens{keys: rotated, now: clock}
	if _, err := tk.parse(old, TypeAccess); err != nil {
		t.Fatalf("a token signed before the rotation: %v", err)
	}
	fresh, _ := tk.issue(TypeAccess, admin, tenant, steeple.RoleOwner, AccessTTL)
	if _, err := (tokens{keys: before, now: clock}).parse(fresh, TypeAccess); err == nil {
		t.Fatal("a new token must be signed with the new key")
	}
	retiredFile, err := secret.RetireSigning(rotatedFile, now.Add(LongestSignedTokenLife), LongestSignedTokenLife)
	if err != nil {
		t.Fatal(err)
	}
	retired, _ := secret.New(retiredFile)
	if _, err := (tokens{keys: retired, now: clock}).parse(old, TypeAccess); err == nil {
		t.Fatal("after retiring the previous key its tokens must not verify")
	}
}
