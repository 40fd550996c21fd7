package secret

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// RotateEncryption adds a new encryption key and makes it the active one.
// Values sealed before stay readable with the keys kept in the file.
func RotateEncryption(f File) (File, byte, error) {
	var next byte = 1
	for _, k := range f.EncryptionKeys {
		if k.ID == 255 {
			return f, 0, errors.New("encryption key ids are used up (255); retire old keys and renumber by hand")
		}
		next = max(next, k.ID+1)
	}
	f.EncryptionKeys = append(slices.Clone(f.EncryptionKeys), FileKey{ID: next, Key: randomKey()})
	f.ActiveEncryptionKey = next
	return f, next, nil
}

// RetireEncryption removes encryption key id from the file. The caller
// first checks that nothing is sealed with it (steeple keys status).
func RetireEncryption(f File, id byte) (File, error) {
	if id == f.ActiveEncryptionKey {
		return f, fmt.Errorf("key %d is the active key; rotate first", id)
	}
	i := slices.IndexFunc(f.EncryptionKeys, func(k FileKey) bool { return k.ID == id })
	if i < 0 {
		return f, fmt.Errorf("there is no encryption key %d", id)
	}
	f.EncryptionKeys = slices.Delete(slices.Clone(f.EncryptionKeys), i, i+1)
	return f, nil
}

// RotateSigning makes a new token-signing key; the old one still verifies
// tokens until RetireSigning. A previous key not yet retired is refused:
// dropping it would sign people out without warning.
func RotateSigning(f File, now time.Time) (File, error) {
	if f.PreviousTokenSigningKey != "" {
		return f, errors.New("the previous token-signing key is still kept; run `steeple keys retire --signing` once tokens signed with it have expired")
	}
	f.PreviousTokenSigningKey, f.TokenSigningKey = f.TokenSigningKey, randomKey()
	at := now.UTC()
	f.SigningRotatedAt = &at
	return f, nil
}

// RetireSigning drops the previous token-signing key once tokens signed
// with it have expired (they live at most maxAge).
func RetireSigning(f File, now time.Time, maxAge time.Duration) (File, error) {
	if f.PreviousTokenSigningKey == "" {
		return f, errors.New("there is no previous token-signing key")
	}
	if f.SigningRotatedAt != nil && now.Before(f.SigningRotatedAt.Add(maxAge)) {
		return f, fmt.Errorf("tokens signed with the previous key may be used until %s", f.SigningRotatedAt.Add(maxAge).Format(time.RFC3339))
	}
	f.PreviousTokenSigningKey, f.SigningRotatedAt = "", nil
	return f, nil
}

// RotateBlindIndex makes a new blind-index key and keeps the current one
// as the previous key, which lookups still accept until the recompute pass
// is done. A previous key not yet retired is refused: rows still indexed
// with it would no longer be found.
func RotateBlindIndex(f File) (File, error) {
	if f.PreviousBlindIndexKey != "" {
		return f, errors.New("the previous blind-index key is still kept; finish with `steeple keys rotate --blind-index --resume` and `steeple keys retire --blind-index` first")
	}
	f.PreviousBlindIndexKey, f.BlindIndexKey = f.BlindIndexKey, randomKey()
	return f, nil
}

// RetireBlindIndex drops the previous blind-index key. The caller first
// checks that no stored index still uses it (steeple keys status).
func RetireBlindIndex(f File) (File, error) {
	if f.PreviousBlindIndexKey == "" {
		return f, errors.New("there is no previous blind-index key")
	}
	f.PreviousBlindIndexKey = ""
	return f, nil
}

// WriteFile replaces the keys file at path with f (mode 0600), writing a
// temporary file beside it and renaming it, so a reader never sees half of
// it. f is checked first.
func WriteFile(path string, f File) error {
	if _, err := New(f); err != nil {
		return err
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keys-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
