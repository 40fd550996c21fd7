package secret

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
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

// A process reading a keys file follows a rotation written by another: a
// value sealed with the new key opens at once (the file is read again),
// and from then on it seals with the new key too.
func TestKeysFollowTheirFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	f := Generate()
	if err := WriteFile(path, f); err != nil {
		t.Fatal(err)
	}
	running, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	old := running.Seal([]byte("+15551234567"), nil)
	rotated, id, err := RotateEncryption(f)
	if err != nil || id != 2 {
		t.Fatalf("rotate: %d %v", id, err)
	}
	if err := WriteFile(path, rotated); err != nil {
		t.Fatal(err)
	}
	other, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	fresh := other.Seal([]byte("+15557654321"), nil)
	if KeyID(fresh) != 2 {
		t.Fatalf("the other process seals with key %d, want 2", KeyID(fresh))
	}
	if got, err := running.Open(fresh, nil); err != nil || string(got) != "+15557654321" {
		t.Fatalf("running process opening a new-key value: %q %v", got, err)
	}
	if KeyID(running.Seal([]byte("x"), nil)) != 2 || running.ActiveKeyID() != 2 {
		t.Fatal("after reading the rotated file the running process must seal with key 2")
	}
	if got, err := running.Open(old, nil); err != nil || string(got) != "+15551234567" {
		t.Fatalf("old value after rotation: %q %v", got, err)
	}
	if _, err := RetireEncryption(rotated, 2); err == nil {
		t.Fatal("retiring the active key must be refused")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("rewritten keys file mode %v, want 0600", st.Mode().Perm())
	}
}

// A rotated signing key keeps the previous one for verifying until it is
// retired, which waits for the longest token life.
func TestSigningRotation(t *testing.T) {
	f := Generate()
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	r, err := RotateSigning(f, now)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := New(r)
	if v := k.VerifyingKeys(); len(v) != 2 || string(v[1]) == string(v[0]) {
		t.Fatalf("verifying keys after rotation: %d", len(v))
	}
	if _, err := RotateSigning(r, now); err == nil {
		t.Fatal("a second rotation before retiring the previous key must be refused")
	}
	if _, err := RetireSigning(r, now.Add(30*time.Minute), time.Hour); err == nil {
		t.Fatal("retiring before tokens expired must be refused")
	}
	done, err := RetireSigning(r, now.Add(time.Hour), time.Hour)
	if err != nil || done.PreviousTokenSigningKey != "" {
		t.Fatalf("retire: %v", err)
	}
}

// A blind-index rotation keeps the old key as the previous one: new values
// are indexed with the new key, lookups get both indexes until it is
// retired, and a second rotation before retiring is refused.
func TestBlindIndexRotation(t *testing.T) {
	f := Generate()
	before, _ := New(f)
	if got := before.BlindIndexes("phone", "+15551234567"); len(got) != 1 || got[0] != before.BlindIndex("phone", "+15551234567") {
		t.Fatalf("one key: %v", got)
	}
	r, err := RotateBlindIndex(f)
	if err != nil || r.PreviousBlindIndexKey != f.BlindIndexKey || r.BlindIndexKey == f.BlindIndexKey {
		t.Fatalf("rotate: %v", err)
	}
	k, err := New(r)
	if err != nil {
		t.Fatal(err)
	}
	old := before.BlindIndex("phone", "+15551234567")
	got := k.BlindIndexes("phone", "+15551234567")
	if len(got) != 2 || got[0] != k.BlindIndex("phone", "+15551234567") || got[1] != old || got[0] == old {
		t.Fatalf("during rotation: %v (old %s)", got, old)
	}
	if _, err := RotateBlindIndex(r); err == nil {
		t.Fatal("a second rotation before retiring must be refused")
	}
	done, err := RetireBlindIndex(r)
	if err != nil || done.PreviousBlindIndexKey != "" {
		t.Fatalf("retire: %v", err)
	}
	if _, err := RetireBlindIndex(done); err == nil {
		t.Fatal("retiring with no previous key must be refused")
	}
	bad := r
	bad.PreviousBlindIndexKey = "c2hvcnQ="
	if _, err := New(bad); err == nil {
		t.Fatal("a short previous key must be refused")
	}
}
