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
)

// Keys are the process's secrets. Ciphertext names the key that sealed it,
// so an older key can stay readable after a new one becomes active.
type Keys struct {
	active  byte
	aeads   map[byte]cipher.AEAD
	index   []byte
	signing []byte
}

// File is the JSON form of Keys (a keys file, mode 0600).
type File struct {
	EncryptionKeys      []FileKey `json:"encryption_keys"`
	ActiveEncryptionKey byte      `json:"active_encryption_key"`
	BlindIndexKey       string    `json:"blind_index_key"`
	TokenSigningKey     string    `json:"token_signing_key"`
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
	k := &Keys{active: f.ActiveEncryptionKey, aeads: map[byte]cipher.AEAD{}}
	for _, fk := range f.EncryptionKeys {
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
	if k.signing, err = decodeKey(f.TokenSigningKey); err != nil {
		return nil, fmt.Errorf("token_signing_key: %w", err)
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

// Load reads a keys file.
func Load(path string) (*Keys, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("keys file %s: %w", path, err)
	}
	k, err := New(f)
	if err != nil {
		return nil, fmt.Errorf("keys file %s: %w", path, err)
	}
	return k, nil
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
	aead := k.aeads[k.active]
	out := make([]byte, 2+aead.NonceSize(), 2+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0], out[1] = sealVersion, k.active
	if _, err := rand.Read(out[2:]); err != nil {
		panic(err)
	}
	return aead.Seal(out, out[2:], plaintext, aad)
}

// Open decrypts what Seal made.
func (k *Keys) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 2 || sealed[0] != sealVersion {
		return nil, errors.New("secret: not a sealed value")
	}
	aead, ok := k.aeads[sealed[1]]
	if !ok {
		return nil, fmt.Errorf("secret: sealed with unknown key %d", sealed[1])
	}
	n := aead.NonceSize()
	if len(sealed) < 2+n {
		return nil, errors.New("secret: sealed value too short")
	}
	return aead.Open(nil, sealed[2:2+n], sealed[2+n:], aad)
}

// BlindIndex returns a keyed hash of value for lookups: equal values give
// equal indexes, and without the key the index reveals nothing. purpose
// separates kinds (an email's index never equals a phone's).
func (k *Keys) BlindIndex(purpose, value string) string {
	m := hmac.New(sha256.New, k.index)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// SigningKey is the key that signs access tokens (HMAC-SHA256).
func (k *Keys) SigningKey() []byte { return k.signing }
