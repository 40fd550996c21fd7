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
		{"Password123!", "common"},
		{"!!Sunshine2024", "common"},
		{"Football2023", "common"},
		{"pat.lee@example.org", "email"},
		{"Pat.Lee2024!", "email"},
		{"Grace Chapel", "church"},
		{"gracechapel99", "church"},
		{"pat lee and grace chapel", ""},
	}
	for _, c := range cases {
		got := ValidatePassword(c.pw, "pat.lee@example.org", "Grace Chapel")
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("ValidatePassword(%q) = %q; want %q", c.pw, got, c.want)
		}
	}
}

// The embedded list is a real one: over 100,000 entries, sorted so a
// binary search finds them, and holding well-known breached passwords.
func TestCommonPasswordList(t *testing.T) {
	l := commonPasswords()
	if l.Len() < 100000 {
		t.Fatalf("the list has %d entries; want at least 100,000", l.Len())
	}
	for i := 1; i < l.Len(); i++ {
		if l.line(i-1) >= l.line(i) {
			t.Fatalf("entries %d and %d are out of order or repeated: %q, %q", i-1, i, l.line(i-1), l.line(i))
		}
	}
	for _, pw := range []string{"123456", "password", "iloveyou", "qwertyuiop", "michael"} {
		if !l.contains(pw) {
			t.Errorf("%q is not in the list", pw)
		}
	}
	if l.contains("violet otter quilting") || l.contains("") {
		t.Error("the list holds an uncommon passphrase or an empty entry")
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
