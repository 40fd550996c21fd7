package steeple_test

import (
	"strings"
	"testing"

	"github.com/steeple-sms/steeple"
)

func TestNormalizeEmail(t *testing.T) {
	cases := []struct{ in, want, msg string }{
		{"  Pat@Example.ORG ", "pat@example.org", ""},
		{"", "", "required"},
		{"pat", "", "valid"},
		{"pat@localhost", "", "valid"},
		{"pat@example.", "", "valid"},
		{"pat@.example.org", "", "valid"},
		{"Pat <pat@example.org>", "", "valid"},
		{"pat@example.org, sam@example.org", "", "valid"},
		{strings.Repeat("a", 250) + "@example.org", "", "valid"},
	}
	for _, c := range cases {
		got, err := steeple.NormalizeEmail("contact", c.in)
		msg := steeple.FieldMessage(err, "contact")
		if got != c.want || (c.msg == "") != (err == nil) || !strings.Contains(msg, c.msg) {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, %q", c.in, got, err, c.want, c.msg)
		}
		if err != nil && steeple.ErrorCode(err) != steeple.EINVALID {
			t.Errorf("NormalizeEmail(%q): code %q; want %q", c.in, steeple.ErrorCode(err), steeple.EINVALID)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	cases := []struct{ in, region, want, msg string }{
		{" (415) 555-2671 ", "US", "+14155552671", ""},
		{"+44 20 7946 0958", "US", "+442079460958", ""},
		{"", "US", "", "required"},
		{"12", "US", "", "valid phone"},
		{"not a phone", "US", "", "valid phone"},
	}
	for _, c := range cases {
		got, err := steeple.NormalizePhone("phone", c.in, c.region)
		msg := steeple.FieldMessage(err, "phone")
		if got != c.want || (c.msg == "") != (err == nil) || !strings.Contains(msg, c.msg) {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q, %q", c.in, got, err, c.want, c.msg)
		}
	}
	if steeple.FieldMessage(nil, "phone") != "" {
		t.Error("FieldMessage(nil) is not empty")
	}
}
