package secret

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpen(t *testing.T) {
	k, err := New(Generate())
	if err != nil {
		t.Fatal(err)
	}
	a := k.Seal([]byte("+15551234567"), []byte("members.phone"))
	b := k.Seal([]byte("+15551234567"), []byte("members.phone"))
	if bytes.Equal(a, b) || bytes.Contains(a, []byte("5551234567")) {
		t.Fatal("sealing must be randomised and hide the plaintext")
	}
	got, err := k.Open(a, []byte("members.phone"))
	if err != nil || string(got) != "+15551234567" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := k.Open(a, []byte("admins.email")); err == nil {
		t.Fatal("a value moved to another place must not open")
	}
	a[len(a)-1] ^= 1
	if _, err := k.Open(a, []byte("members.phone")); err == nil {
		t.Fatal("tampered ciphertext must not open")
	}
	other, _ := New(Generate())
	if _, err := other.Open(b, []byte("members.phone")); err == nil {
		t.Fatal("another key must not open it")
	}
}

func TestOldKeysStayReadable(t *testing.T) {
	f := Generate()
	old, _ := New(f)
	sealed := old.Seal([]byte("secret"), nil)
	f.EncryptionKeys = append(f.EncryptionKeys, FileKey{ID: 2, Key: randomKey()})
	f.ActiveEncryptionKey = 2
	rotated, err := New(f)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.Open(sealed, nil); err != nil || string(got) != "secret" {
		t.Fatalf("old ciphertext after rotation: %q %v", got, err)
	}
	if fresh := rotated.Seal([]byte("x"), nil); fresh[1] != 2 {
		t.Fatalf("new ciphertext uses key %d, want 2", fresh[1])
	}
}

func TestBlindIndex(t *testing.T) {
	k, _ := New(Generate())
	if k.BlindIndex("email", "a@b.org") != k.BlindIndex("email", "a@b.org") {
		t.Fatal("blind index must be deterministic")
	}
	if k.BlindIndex("email", "a@b.org") == k.BlindIndex("phone", "a@b.org") {
		t.Fatal("purposes must not collide")
	}
	other, _ := New(Generate())
	if k.BlindIndex("email", "a@b.org") == other.BlindIndex("email", "a@b.org") {
		t.Fatal("the index must depend on the key")
	}
}

func TestLoadOrCreateWritesPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	k1, created, err := LoadOrCreate(path)
	if err != nil || !created {
		t.Fatalf("first: %v %v", created, err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	k2, created, err := LoadOrCreate(path)
	if err != nil || created {
		t.Fatalf("second: %v %v", created, err)
	}
	if k1.BlindIndex("x", "y") != k2.BlindIndex("x", "y") {
		t.Fatal("reloading must give the same keys")
	}
	bad := Generate()
	bad.BlindIndexKey = "c2hvcnQ="
	if _, err := New(bad); err == nil {
		t.Fatal("a short key must be refused")
	}
}
