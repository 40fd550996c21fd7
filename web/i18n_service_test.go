package web

import (
	"strings"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
)

// Every service message the sign-up, sign-in, invitation and password
// pages can show beside a field or above a form has a Spanish entry, so a
// Spanish page never shows English. The password and email messages are
// taken from the validators themselves, so a reworded message fails here.
func TestServiceMessagesHaveSpanish(t *testing.T) {
	tr, err := loadTranslator()
	if err != nil {
		t.Fatal(err)
	}
	msgs := map[string]bool{}
	for _, pw := range []string{"short", strings.Repeat("long", 70), "aaaaaaaaaaaa", "password123", "qwertyuiop",
		"1234567890", "Grace Chapel 2024!", "ruth@grace.example.org", "RUTH2024!!"} {
		if m := auth.ValidatePassword(pw, "ruth@grace.example.org", "Grace Chapel"); m != "" {
			msgs[m] = true
		}
	}
	for _, e := range []string{"", "not an email", "a@b", strings.Repeat("a", 250) + "@example.org"} {
		if _, err := steeple.NormalizeEmail("email", e); err != nil {
			msgs[steeple.FieldMessage(err, "email")] = true
		}
	}
	for _, want := range []string{"must be at least 10 characters", "must be at most 256 bytes", "is too repetitive; choose another",
		"must not be your email address or the church's name", "is required", "is not a valid email address"} {
		if !msgs[want] {
			t.Errorf("the validators no longer say %q: update this test's inputs", want)
		}
	}
	common := false
	for m := range msgs {
		common = common || strings.HasPrefix(m, "is too common")
	}
	if !common {
		t.Error("no input produced the common-password message")
	}
	// Messages of the sign-up, sign-in, MFA and password services shown on
	// pages (fields and notices).
	for _, m := range []string{
		"must be at most 100 characters", "is required, as an IANA name such as America/Chicago",
		"is not a known IANA time zone", "is not a church id", "invalid code",
		"this code was just used; wait for the next one", "too many failed attempts; try again later",
		"too many signups from this address; try again later", "too many signups right now; try again later",
		"is not your current password", "must differ from your current password",
		"signups are closed on this server: ask its operator to create your church",
	} {
		msgs[m] = true
	}
	for m := range msgs {
		if got := tr.serviceMessage("es", m); got == m {
			t.Errorf("no Spanish for the service message %q", m)
		}
	}
}
