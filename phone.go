package steeple

import (
	"net/mail"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// NormalizePhone parses a phone number (national numbers in region, an
// ISO 3166 code such as "US") and returns it in E.164. A missing or invalid
// number is a FieldError naming field.
func NormalizePhone(field, raw, region string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", FieldError(field, "is required")
	}
	n, err := phonenumbers.Parse(raw, region)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", FieldError(field, "is not a valid phone number")
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// NormalizeEmail trims and lower-cases an email and checks its form. A
// missing or malformed address is a FieldError naming field.
func NormalizeEmail(field, raw string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(raw))
	if e == "" {
		return "", FieldError(field, "is required")
	}
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Address != e || len(e) > 254 {
		return "", FieldError(field, "is not a valid email address")
	}
	_, domain, _ := strings.Cut(e, "@")
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", FieldError(field, "is not a valid email address")
	}
	return e, nil
}
