// Package auth is who may act for which church: signup, login across
// churches, access and refresh tokens, MFA, admins and invitations, and the
// throttling and auditing around them.
package auth

import (
	"strings"
	"unicode"

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

// verifyPassword is checkPassword, counted: every argon2id verification of
// a login goes through it, so tests can show the work a login does.
func (s *Service) verifyPassword(pw, hash string) bool {
	s.passwordChecks.Add(1)
	return checkPassword(pw, hash)
}

// PasswordChecks is how many argon2id verifications logins have run since
// the service started (a measure of login work, for tests and metrics).
func (s *Service) PasswordChecks() int64 { return s.passwordChecks.Load() }

// dummyHash is verified when there is nothing real to check, so an unknown
// email costs as much time as a wrong password.
var dummyHash, _ = HashPassword("steeple-timing-equaliser")

// ValidatePassword explains what is wrong with a new password, or returns "".
// avoid lists what the password must not be: the person's email (its
// local part is refused too) and the church's name.
func ValidatePassword(pw string, avoid ...string) string {
	switch {
	case len([]rune(pw)) < 10:
		return "must be at least 10 characters"
	case len(pw) > 256:
		return "must be at most 256 bytes"
	case len(uniqueRunes(pw)) < 4:
		return "is too repetitive; choose another"
	case isCommonPassword(pw):
		return "is too common (it appears in lists of breached passwords); choose another"
	case resemblesAny(pw, avoid):
		return "must not be your email address or the church's name"
	}
	return ""
}

// resemblesAny tells whether pw is one of avoid (or an email's local part),
// ignoring case, spaces and punctuation and any digits or symbols added at
// the end ("GraceChurch2024!" is "Grace Church").
func resemblesAny(pw string, avoid []string) bool {
	p := lettersAndDigits(pw)
	base := lettersAndDigits(trimDecoration(pw))
	for _, a := range avoid {
		cands := []string{a}
		if local, _, ok := strings.Cut(a, "@"); ok {
			cands = append(cands, local)
		}
		for _, c := range cands {
			if c = lettersAndDigits(c); len(c) >= 3 && (p == c || base == c) {
				return true
			}
		}
	}
	return false
}

func lettersAndDigits(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// trimDecoration removes the digits and symbols people add around a weak
// word to pass rules ("!!Password123!" becomes "Password").
func trimDecoration(s string) string {
	deco := func(r rune) bool { return !unicode.IsLetter(r) }
	return strings.TrimRightFunc(strings.TrimLeftFunc(s, deco), deco)
}

func uniqueRunes(s string) map[rune]bool {
	m := map[rune]bool{}
	for _, r := range s {
		m[r] = true
	}
	return m
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
