// Package auth is who may act for which church: signup, login across
// churches, access and refresh tokens, MFA, admins and invitations, and the
// throttling and auditing around them.
package auth

import (
	_ "embed"
	"net/mail"
	"strings"

	"github.com/alexedwards/argon2id"

	"github.com/steeple-sms/steeple"
)

// passwordParams follow OWASP's argon2id minimum (19 MiB, 2 passes):
// about 20–40 ms here, so a login checking several churches stays quick.
var passwordParams = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// HashPassword returns the argon2id hash of a password.
func HashPassword(pw string) (string, error) { return argon2id.CreateHash(pw, passwordParams) }

// checkPassword compares a password with its hash in constant time.
func checkPassword(pw, hash string) bool {
	ok, err := argon2id.ComparePasswordAndHash(pw, hash)
	return err == nil && ok
}

// dummyHash is verified when there is nothing real to check, so an unknown
// email costs as much time as a wrong password.
var dummyHash, _ = HashPassword("steeple-timing-equaliser")

//go:embed common-passwords.txt
var commonPasswordList string

var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(commonPasswordList, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			m[strings.ToLower(l)] = true
		}
	}
	return m
}()

// ValidatePassword explains what is wrong with a new password, or returns "".
func ValidatePassword(pw string) string {
	switch {
	case len([]rune(pw)) < 10:
		return "must be at least 10 characters"
	case len(pw) > 256:
		return "must be at most 256 bytes"
	case commonPasswords[strings.ToLower(pw)]:
		return "is too common; choose another"
	case len(uniqueRunes(pw)) < 4:
		return "is too repetitive; choose another"
	}
	return ""
}

func uniqueRunes(s string) map[rune]bool {
	m := map[rune]bool{}
	for _, r := range s {
		m[r] = true
	}
	return m
}

// NormalizeEmail trims and lower-cases an email and checks its form.
func NormalizeEmail(s string) (string, string) {
	e := strings.ToLower(strings.TrimSpace(s))
	if e == "" {
		return "", "is required"
	}
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Address != e || len(e) > 254 {
		return "", "is not a valid email address"
	}
	_, domain, _ := strings.Cut(e, "@")
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", "is not a valid email address"
	}
	return e, ""
}

// fieldErrors collects per-field messages into one EINVALID error.
type fieldErrors map[string]string

func (f fieldErrors) add(field, msg string) {
	if msg != "" {
		f[field] = msg
	}
}

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return &steeple.Error{Code: steeple.EINVALID, Message: "some fields are invalid", Fields: f}
}
