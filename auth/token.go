package auth

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/steeple-sms/steeple"
)

// Token types, carried in the `typ` claim: a token is good only for its own use.
const (
	TypeAccess = "access" // API calls, 15 minutes
	TypeMFA    = "mfa"    // only POST /auth/mfa, 5 minutes
	// TypePasswordReset is a password reset link's token, 1 hour, single-use.
	TypePasswordReset = "pwreset"
	// TypeChurchChoice is the web sign-in's church chooser cookie, 5 minutes.
	TypeChurchChoice = "choice"
)

// Lifetimes.
const (
	AccessTTL     = 15 * time.Minute
	MFATTL        = 5 * time.Minute
	RefreshTTL    = 30 * 24 * time.Hour
	InvitationTTL = 7 * 24 * time.Hour
)

const issuer = "steeple"

// Claims are what an access or MFA token says.
type Claims struct {
	TenantID string       `json:"tid"`
	Role     steeple.Role `json:"role,omitempty"`
	Type     string       `json:"typ"`
	// Mark binds a password reset to the password it replaces (so a
	// changed password voids older links); Admins lists the admins a
	// church choice may open.
	Mark   string   `json:"pwm,omitempty"`
	Admins []string `json:"adm,omitempty"`
	jwt.RegisteredClaims
}

// AdminID is the subject: the admin the token was issued to.
func (c *Claims) AdminID() string { return c.Subject }

// LongestSignedTokenLife is the longest any signed token lives (a password
// reset link): after a rotation of the signing key, the previous key can be
// dropped once this long has passed.
const LongestSignedTokenLife = PasswordResetTTL

// tokens signs and checks JWTs with HMAC-SHA256.
type tokens struct {
	keys signingKeys
	now  func() time.Time
}

// signingKeys are the token keys: one signs; it and, after a rotation, the
// one before it verify (*secret.Keys).
type signingKeys interface {
	SigningKey() []byte
	VerifyingKeys() [][]byte
}

// fixedKey is a single signing key that never rotates (tests).
type fixedKey []byte

func (k fixedKey) SigningKey() []byte      { return k }
func (k fixedKey) VerifyingKeys() [][]byte { return [][]byte{k} }

// verificationKeys is the keyfunc's answer: every key a valid token may be
// signed with.
func (t tokens) verificationKeys(*jwt.Token) (any, error) {
	set := jwt.VerificationKeySet{}
	for _, k := range t.keys.VerifyingKeys() {
		set.Keys = append(set.Keys, k)
	}
	return set, nil
}

func (t tokens) issue(typ, adminID, tenantID string, role steeple.Role, ttl time.Duration) (string, error) {
	now := t.now()
	c := Claims{TenantID: tenantID, Role: role, Type: typ, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: issuer, Subject: adminID, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		ID: steeple.NewID(),
	}}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.keys.SigningKey())
}

// parse verifies a token's signature, algorithm, issuer and expiry, and that
// it is of the wanted type. Any failure is EUNAUTHORIZED.
func (t tokens) parse(raw, wantType string) (*Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(raw, &c, t.verificationKeys,
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer), jwt.WithExpirationRequired(), jwt.WithTimeFunc(t.now))
	if err != nil || c.Type != wantType || !steeple.ValidID(c.TenantID) || c.Subject == "" {
		return nil, &steeple.Error{Code: steeple.EUNAUTHORIZED, Message: "invalid or expired token", Err: err}
	}
	return &c, nil
}

// opaque makes a random secret that names its church: "prefix.tenant.secret".
// The church part lets the server find the database to look the secret up
// in; it grants nothing by itself.
func opaque(prefix, tenantID string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + "." + tenantID + "." + strings.TrimRight(base32.StdEncoding.EncodeToString(b), "=")
}

// opaqueTenant returns the church an opaque token names, or "" if malformed.
func opaqueTenant(prefix, token string) string {
	p, rest, ok := strings.Cut(token, ".")
	if !ok || p != prefix {
		return ""
	}
	tenant, secret, ok := strings.Cut(rest, ".")
	if !ok || !steeple.ValidID(tenant) || len(secret) < 40 {
		return ""
	}
	return tenant
}

// recoveryCode makes one human-typable recovery code: ten base32 characters
// in two groups (50 bits).
func recoveryCode() string {
	b := make([]byte, 7)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	s := strings.ToLower(base32.StdEncoding.EncodeToString(b))[:10]
	return s[:5] + "-" + s[5:]
}

func normalizeRecoveryCode(s string) string {
	s = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	if len(s) == 10 {
		s = s[:5] + "-" + s[5:]
	}
	return s
}
