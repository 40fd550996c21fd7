// Package secret holds Steeple's keys and what they do: AES-256-GCM
// encryption of personal data at rest, keyed blind indexes (HMAC-SHA256) for
// looking encrypted values up, and the key that signs access tokens.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// Keys are the process's secrets. Ciphertext names the key that sealed it,
// so an older key can stay readable after a new one becomes active. Keys
// read from a file follow that file: a rotation written by `steeple keys`
// reaches a running process (see reload.go).
type Keys struct {
	set    atomic.Pointer[keySet]
	reload *reloader // nil unless read from a file
}

// keySet is one reading of the keys; Keys swaps it whole on a reload.
type keySet struct {
	active byte
	aeads  map[byte]cipher.AEAD
	index  []byte
	// previousIndex still finds rows indexed before the last blind-index
	// rotation, until `keys retire --blind-index` drops it.
	previousIndex []byte
	signing       []byte
	// previousSigning still verifies tokens signed before the last
	// token-signing rotation, until `keys retire --signing` drops it.
	previousSigning []byte
}

// File is the JSON form of Keys (a keys file, mode 0600).
type File struct {
	EncryptionKeys      []FileKey `json:"encryption_keys"`
	ActiveEncryptionKey byte      `json:"active_encryption_key"`
	BlindIndexKey       string    `json:"blind_index_key"`
	// PreviousBlindIndexKey still finds values indexed before a rotation
	// of the blind-index key, until the recompute pass is done and it is
	// retired.
	PreviousBlindIndexKey string `json:"previous_blind_index_key,omitempty"`
	TokenSigningKey       string `json:"token_signing_key"`
	// PreviousTokenSigningKey verifies tokens signed before a rotation of
	// the signing key; SigningRotatedAt says when that was.
	PreviousTokenSigningKey string     `json:"previous_token_signing_key,omitempty"`
	SigningRotatedAt        *time.Time `json:"signing_rotated_at,omitempty"`
}

// FileKey is one encryption key in a keys file.
type FileKey struct {
	ID  byte   `json:"id"`
	Key string `json:"key"` // base64 of 32 bytes
}

// Generate returns a new keys file with fresh random keys.
func Generate() File {
	return File{
		EncryptionKeys:      []FileKey{{ID: 1, Key: randomKey()}},
		ActiveEncryptionKey: 1,
		BlindIndexKey:       randomKey(),
		TokenSigningKey:     randomKey(),
	}
}

func randomKey() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// New builds Keys from a keys file, checking every key.
func New(f File) (*Keys, error) {
	set, err := newKeySet(f)
	if err != nil {
		return nil, err
	}
	k := &Keys{}
	k.set.Store(set)
	return k, nil
}

func newKeySet(f File) (*keySet, error) {
	k := &keySet{active: f.ActiveEncryptionKey, aeads: map[byte]cipher.AEAD{}}
	for _, fk := range f.EncryptionKeys {
		if _, dup := k.aeads[fk.ID]; dup {
			return nil, fmt.Errorf("encryption key %d is listed twice", fk.ID)
		}
		raw, err := decodeKey(fk.Key)
		if err != nil {
			return nil, fmt.Errorf("encryption key %d: %w", fk.ID, err)
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, err
		}
		if k.aeads[fk.ID], err = cipher.NewGCM(block); err != nil {
			return nil, err
		}
	}
	if _, ok := k.aeads[k.active]; !ok {
		return nil, fmt.Errorf("active_encryption_key %d is not among encryption_keys", k.active)
	}
	var err error
	if k.index, err = decodeKey(f.BlindIndexKey); err != nil {
		return nil, fmt.Errorf("blind_index_key: %w", err)
	}
	if f.PreviousBlindIndexKey != "" {
		if k.previousIndex, err = decodeKey(f.PreviousBlindIndexKey); err != nil {
			return nil, fmt.Errorf("previous_blind_index_key: %w", err)
		}
	}
	if k.signing, err = decodeKey(f.TokenSigningKey); err != nil {
		return nil, fmt.Errorf("token_signing_key: %w", err)
	}
	if f.PreviousTokenSigningKey != "" {
		if k.previousSigning, err = decodeKey(f.PreviousTokenSigningKey); err != nil {
			return nil, fmt.Errorf("previous_token_signing_key: %w", err)
		}
	}
	return k, nil
}

func decodeKey(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("not base64")
	}
	if len(b) != 32 {
		return nil, fmt.Errorf("must be 32 bytes, got %d", len(b))
	}
	return b, nil
}

// Load reads a keys file. The Keys follow later changes to the file.
func Load(path string) (*Keys, error) {
	f, mod, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := New(f)
	if err != nil {
		return nil, fmt.Errorf("keys file %s: %w", path, err)
	}
	k.reload = &reloader{path: path, digest: mod}
	return k, nil
}

// ReadFile reads and parses a keys file (without checking its keys), with
// a digest of its bytes. A reload compares digests, not modification
// times: Linux stamps files with a coarse clock, so two writes a few
// milliseconds apart can carry the same time.
func ReadFile(path string) (File, [sha256.Size]byte, error) {
	var f File
	b, err := os.ReadFile(path)
	if err != nil {
		return f, [sha256.Size]byte{}, err
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, [sha256.Size]byte{}, fmt.Errorf("keys file %s: %w", path, err)
	}
	return f, sha256.Sum256(b), nil
}

// LoadOrCreate reads the keys file at path, first writing a freshly
// generated one (mode 0600) if there is none. The embedded default uses it.
func LoadOrCreate(path string) (k *Keys, created bool, err error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, false, err
		}
		b, _ := json.MarshalIndent(Generate(), "", "  ")
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, false, err
		}
		_, werr := f.Write(append(b, '\n'))
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, false, werr
		}
		created = true
	}
	k, err = Load(path)
	return k, created, err
}

const sealVersion = 1

// Seal encrypts plaintext with the active key: version, key id, nonce, then
// the GCM ciphertext. aad binds the ciphertext to its place (e.g. the column
// and row), so a value copied elsewhere does not decrypt.
func (k *Keys) Seal(plaintext, aad []byte) []byte {
	k.reload.maybe(k)
	set := k.set.Load()
	aead := set.aeads[set.active]
	out := make([]byte, 2+aead.NonceSize(), 2+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0], out[1] = sealVersion, set.active
	if _, err := rand.Read(out[2:]); err != nil {
		panic(err)
	}
	return aead.Seal(out, out[2:], plaintext, aad)
}

// Open decrypts what Seal made. A value sealed with a key this process has
// not seen yet (another process rotated) makes it read its keys file again.
func (k *Keys) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 2 || sealed[0] != sealVersion {
		return nil, errors.New("secret: not a sealed value")
	}
	aead, ok := k.set.Load().aeads[sealed[1]]
	if !ok && k.reload.now(k) {
		aead, ok = k.set.Load().aeads[sealed[1]]
	}
	if !ok {
		return nil, fmt.Errorf("secret: sealed with unknown key %d", sealed[1])
	}
	n := aead.NonceSize()
	if len(sealed) < 2+n {
		return nil, errors.New("secret: sealed value too short")
	}
	return aead.Open(nil, sealed[2:2+n], sealed[2+n:], aad)
}

// KeyID is the id of the key that sealed a value (0 if it is not one).
func KeyID(sealed []byte) byte {
	if len(sealed) < 2 || sealed[0] != sealVersion {
		return 0
	}
	return sealed[1]
}

// ActiveKeyID is the id of the key Seal uses now.
func (k *Keys) ActiveKeyID() byte {
	k.reload.maybe(k)
	return k.set.Load().active
}

// BlindIndex returns a keyed hash of value for lookups: equal values give
// equal indexes, and without the key the index reveals nothing. purpose
// separates kinds (an email's index never equals a phone's). It is always
// the current key's: what new rows store.
func (k *Keys) BlindIndex(purpose, value string) string {
	k.reload.maybe(k)
	return blindIndex(k.set.Load().index, purpose, value)
}

// BlindIndexes are the indexes a stored value may carry: the current key's
// first and, while a rotated-out key is kept, the previous key's. A lookup
// accepts any of them, so rows not yet recomputed are still found.
func (k *Keys) BlindIndexes(purpose, value string) []string {
	k.reload.maybe(k)
	set := k.set.Load()
	if set.previousIndex == nil {
		return []string{blindIndex(set.index, purpose, value)}
	}
	return []string{blindIndex(set.index, purpose, value), blindIndex(set.previousIndex, purpose, value)}
}

func blindIndex(key []byte, purpose, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// SigningKey is the key that signs access tokens (HMAC-SHA256).
func (k *Keys) SigningKey() []byte {
	k.reload.maybe(k)
	return k.set.Load().signing
}

// VerifyingKeys are the keys a token may be signed with: the signing key
// and, after a rotation, the one before it.
func (k *Keys) VerifyingKeys() [][]byte {
	k.reload.maybe(k)
	set := k.set.Load()
	if set.previousSigning == nil {
		return [][]byte{set.signing}
	}
	return [][]byte{set.signing, set.previousSigning}
}
