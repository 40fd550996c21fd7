package auth

import (
	"strings"
	"testing"
)

func TestValidatePassword(t *testing.T) {
	cases := []struct {
		pw, want string // want: a word the message holds, "" for accepted
	}{
		{"correct horse battery", ""},
		{"quietmeadow", ""},
		{"abcdefghi", "at least 10"},
		{"", "at least 10"},
		{"ééééééééé", "at least 10"}, // nine characters, eighteen bytes
		{"password123", "common"},
		{"PassWord123", "common"},
		{"aaaaaaaaaaaa", "repetitive"},
		{"abcabcabcabc", "repetitive"},
		{strings.Repeat("abcd", 65), "256"},
	}
	for _, c := range cases {
		got := ValidatePassword(c.pw)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("ValidatePassword(%q) = %q; want %q", c.pw, got, c.want)
		}
	}
}

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
		got, msg := NormalizeEmail(c.in)
		if got != c.want || (c.msg == "") != (msg == "") || !strings.Contains(msg, c.msg) {
			t.Errorf("NormalizeEmail(%q) = %q, %q; want %q, %q", c.in, got, msg, c.want, c.msg)
		}
	}
}

func TestHashPassword(t *testing.T) {
	h1, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := HashPassword("correct horse battery")
	if h1 == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if !strings.HasPrefix(h1, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not use argon2id with the documented parameters", h1)
	}
	if !checkPassword("correct horse battery", h1) || checkPassword("correct horse batterY", h1) {
		t.Fatal("checkPassword does not tell the right password from a wrong one")
	}
	if checkPassword("anything", "") || checkPassword("anything", "not a hash") {
		t.Fatal("checkPassword accepts a missing or malformed hash")
	}
}

// The dummy hash must be a real hash, or an unknown email would cost no
// hashing and answer faster than a wrong password.
func TestDummyHashCostsARealCheck(t *testing.T) {
	if !strings.HasPrefix(dummyHash, "$argon2id$") || !checkPassword("steeple-timing-equaliser", dummyHash) {
		t.Fatalf("dummyHash %q is not a usable argon2id hash", dummyHash)
	}
}
