package backup

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"

	"github.com/steeple-sms/steeple"
)

// VerifyReport says whether a backup is complete and restorable.
type VerifyReport struct {
	BackupID string          `json:"backup_id"`
	Backend  steeple.Backend `json:"backend"`
	Churches int             `json:"churches"`
	Bytes    int64           `json:"bytes"`
	Problems []string        `json:"problems"` // empty: restorable
}

// Verify checks every file of the backup in dir against the manifest, then
// that each is a readable database: SQLite's integrity_check, or
// pg_restore --list for a PostgreSQL dump. It reports every problem found
// rather than stopping at the first.
func Verify(ctx context.Context, dir string, progress func(done, total int)) (*VerifyReport, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	rep := &VerifyReport{BackupID: m.ID, Backend: m.Backend, Churches: len(m.Churches), Bytes: m.Bytes, Problems: []string{}}
	files := m.files()
	for i, f := range files {
		if err := checkFile(dir, f); err != nil {
			rep.Problems = append(rep.Problems, err.Error())
		} else if err := readable(ctx, m.Backend, filepath.Join(dir, f.Name)); err != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: %v", f.Name, err))
		}
		if progress != nil {
			progress(i+1, len(files))
		}
	}
	return rep, nil
}

func readable(ctx context.Context, b steeple.Backend, path string) error {
	if b == steeple.BackendPostgres {
		// --list reads the archive's table of contents; it connects to nothing.
		return runTool(ctx, pgDB{name: filepath.Base(path)}, "pg_restore", "--list", path)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&immutable=1")
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&res); err != nil {
		return err
	}
	if res != "ok" {
		return fmt.Errorf("integrity_check: %s", res)
	}
	return nil
}
