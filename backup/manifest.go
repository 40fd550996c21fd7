// Package backup copies a whole deployment — the registry (with the job
// queue) and every church database — while it serves, checks a copy, and
// restores one onto empty storage. The keys file is never part of a backup:
// it is needed to read what the copy holds and must be kept apart.
package backup

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/steeple-sms/steeple"
)

// ManifestName is the file, written last, that makes a directory a backup.
const ManifestName = "manifest.json"

// manifestFormat is bumped when the layout changes in a way an older
// restore could not read.
const manifestFormat = 1

// KeysWarning is said by every backup and restore: the copy is unreadable
// without the keys file, and the keys file is not in it.
const KeysWarning = "THE KEYS FILE IS NOT IN THIS BACKUP. Encrypted data (member phones and emails, admin emails, " +
	"TOTP secrets) cannot be read without it: back up STEEPLE_KEYS_FILE (on SQLite, DATA_DIR/keys.json) separately, and keep it as safe as the backup."

// Manifest describes a backup: what was copied, when, and how to check it.
type Manifest struct {
	Format     int             `json:"format"`
	ID         string          `json:"id"` // names this backup; a restore in progress remembers it
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt time.Time       `json:"finished_at"`
	Backend    steeple.Backend `json:"backend"`
	Version    string          `json:"steeple_version"`
	Registry   File            `json:"registry"`
	Churches   []Church        `json:"churches"`
	// Skipped are churches in the registry's copy whose database is not in
	// the backup, and why (still provisioning, deleted during the backup).
	Skipped []Skipped `json:"skipped"`
	Bytes   int64     `json:"bytes"`
}

// File is one copied database.
type File struct {
	Name          string `json:"file"` // relative to the backup directory
	SchemaVersion int64  `json:"schema_version"`
	Size          int64  `json:"size"`
	SHA256        string `json:"sha256"`
}

// Church is one church's copied database and where it lived.
type Church struct {
	ID       string               `json:"id"`
	Status   steeple.TenantStatus `json:"status"`
	Server   string               `json:"server,omitempty"` // PostgreSQL: host:port
	Database string               `json:"database"`
	File
}

// Skipped is a church of the registry's copy without a database copy.
type Skipped struct {
	ID     string               `json:"id"`
	Status steeple.TenantStatus `json:"status"`
	Reason string               `json:"reason"`
}

func (m *Manifest) write(dir string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, ManifestName), append(b, '\n'))
}

// ReadManifest reads DIR/manifest.json; a directory without one is not a
// (finished) backup.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, steeple.Errorf(steeple.EINVALID, "%s is not a finished backup: it has no %s", dir, ManifestName)
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, steeple.Errorf(steeple.EINVALID, "%s: %v", ManifestName, err)
	}
	if m.Format != manifestFormat {
		return nil, steeple.Errorf(steeple.EINVALID, "%s has format %d; this steeple reads format %d", ManifestName, m.Format, manifestFormat)
	}
	return &m, nil
}

// files lists every database file of the backup, the registry first.
func (m *Manifest) files() []File {
	out := []File{m.Registry}
	for _, c := range m.Churches {
		out = append(out, c.File)
	}
	return out
}

// sealFile makes a copied file private, flushes it to disk, and returns its
// size and checksum.
func sealFile(path string) (int64, string, error) {
	if err := os.Chmod(path, 0o600); err != nil {
		return 0, "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return 0, "", err
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// checkFile compares a file with what the manifest says of it.
func checkFile(dir string, f File) error {
	if !filepath.IsLocal(f.Name) {
		return fmt.Errorf("%s: not a file inside the backup", f.Name)
	}
	path := filepath.Join(dir, f.Name)
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, fh)
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	if n != f.Size || hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
		return fmt.Errorf("%s: size or checksum differs from the manifest (damaged or altered)", f.Name)
	}
	return nil
}

// writeFileAtomic writes data to path (mode 0600) so that path holds either
// nothing or all of it.
func writeFileAtomic(path string, data []byte) error {
	return writeAtomic(path, bytes.NewReader(data))
}

// writeAtomic writes what r reads to path (mode 0600) through a temporary
// name, flushed to disk before it takes path's name.
func writeAtomic(path string, r io.Reader) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
