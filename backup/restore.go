package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// progressTable lives in the restored registry while a restore runs: one
// row names the backup, one row per finished piece. A rerun after a crash
// reads it and does only what is left; the last step drops it.
const progressTable = "steeple_restore"

// RestoreReport says what a restore did.
type RestoreReport struct {
	BackupID   string   `json:"backup_id"`
	Resumed    bool     `json:"resumed"` // an earlier, interrupted restore of the same backup was continued
	Churches   int      `json:"churches"`
	Restored   int      `json:"restored"`   // by this run; the rest were restored by an earlier one
	Redispatch []string `json:"redispatch"` // tenant/message of unfinished sends handed back to the recovery sweep
	Skipped    []string `json:"skipped_marked_deleting"`
	// ReleasedJobs were running when the registry was copied; they are
	// available again.
	ReleasedJobs int64 `json:"released_jobs"`
}

// Restore restores the backup in dir onto empty storage: an empty data
// directory (SQLite) or servers without the registry's or any church's
// database (PostgreSQL; an existing empty registry database is accepted).
// It checks every checksum first. Rerun after a crash, it continues.
func Restore(ctx context.Context, dir string, o Options) (*RestoreReport, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	if m.Backend != o.backend() {
		hint := "unset STEEPLE_DATABASE_URL and set STEEPLE_DATA_DIR"
		if m.Backend == steeple.BackendPostgres {
			hint = "set STEEPLE_DATABASE_URL and STEEPLE_TENANT_SERVERS"
		}
		return nil, steeple.Errorf(steeple.EINVALID, "this backup was taken on %s and cannot be restored onto %s: %s", m.Backend, o.backend(), hint)
	}
	latest, err := tenancy.RegistrySchema().Latest(m.Backend)
	if err != nil {
		return nil, err
	}
	if m.Registry.SchemaVersion > latest {
		return nil, steeple.Errorf(steeple.EINVALID, "this backup's registry is at schema %d, newer than this steeple knows (%d): restore with steeple %s or newer",
			m.Registry.SchemaVersion, latest, m.Version)
	}
	for _, f := range m.files() {
		if err := checkFile(dir, f); err != nil {
			return nil, steeple.Errorf(steeple.EINVALID, "backup %s: %v; nothing was restored", dir, err)
		}
	}
	var r restorer
	if o.postgres() {
		r, err = newPGRestorer(o)
	} else {
		r = &sqliteRestorer{dataDir: o.Tenancy.DataDir}
	}
	if err != nil {
		return nil, err
	}
	rep := &RestoreReport{BackupID: m.ID, Churches: len(m.Churches), Redispatch: []string{}, Skipped: []string{}}
	reg, resumed, err := r.registry(ctx, dir, m)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	defer reg.Close()
	rep.Resumed = resumed
	if rep.Restored, err = restoreChurches(ctx, r, reg, dir, m, o); err != nil {
		return nil, err
	}
	if err := repair(ctx, reg, m, o, rep); err != nil {
		return nil, err
	}
	if _, err := reg.ExecContext(ctx, `DROP TABLE `+progressTable); err != nil {
		return nil, err
	}
	return rep, nil
}

// restoreChurches restores the churches an earlier run did not finish,
// o.Parallel at a time, and returns how many it restored.
func restoreChurches(ctx context.Context, r restorer, reg *sql.DB, dir string, m *Manifest, o Options) (int, error) {
	done, err := doneItems(ctx, reg)
	if err != nil {
		return 0, err
	}
	var todo []Church
	for _, c := range m.Churches {
		if !done[c.ID] {
			todo = append(todo, c)
		}
	}
	p := &progress{w: o.Progress}
	var finished counter
	err = eachParallel(ctx, len(todo), o.Parallel, func(ctx context.Context, i int) error {
		c := todo[i]
		if err := r.church(ctx, dir, c); err != nil {
			return fmt.Errorf("church %s: %w (rerun the same restore to continue)", c.ID, err)
		}
		if _, err := reg.ExecContext(ctx, `INSERT INTO `+progressTable+` (item, backup_id) VALUES ($1, $2)`, c.ID, m.ID); err != nil {
			return err
		}
		n, _ := finished.add(0)
		p.say(n == len(todo), "restore: %d/%d churches", len(m.Churches)-len(todo)+n, len(m.Churches))
		return nil
	})
	return finished.n, err
}

// repair closes what copying the registry before the churches leaves open
// (see repair.go); every step is idempotent, for a rerun.
func repair(ctx context.Context, reg *sql.DB, m *Manifest, o Options, rep *RestoreReport) error {
	for _, s := range m.Skipped {
		if s.Reason == deletedDuring {
			// Its row says active, but its database is gone: let the
			// deletion finish rather than serve a church without data.
			if _, err := reg.ExecContext(ctx, `UPDATE tenants SET status = $1 WHERE id = $2`, steeple.TenantDeleting, s.ID); err != nil {
				return err
			}
			rep.Skipped = append(rep.Skipped, s.ID)
		}
	}
	var err error
	if rep.ReleasedJobs, err = releaseRunningJobs(ctx, reg); err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	if rep.Redispatch, err = redispatch(ctx, o, m); err != nil {
		return fmt.Errorf("handing unfinished sends back to the queue: %w (rerun the same restore to continue)", err)
	}
	return nil
}

// restorer puts databases back on one backend.
type restorer interface {
	// registry restores the registry (or finds it restored by an earlier
	// run of the same backup) and returns it open, with the progress table.
	registry(ctx context.Context, dir string, m *Manifest) (db *sql.DB, resumed bool, err error)
	// church restores one church's database, replacing a partial one left
	// by an earlier run.
	church(ctx context.Context, dir string, c Church) error
}

func doneItems(ctx context.Context, reg *sql.DB) (map[string]bool, error) {
	rows, err := reg.QueryContext(ctx, `SELECT item FROM `+progressTable)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	done := map[string]bool{}
	for rows.Next() {
		var item string
		if err := rows.Scan(&item); err != nil {
			return nil, err
		}
		done[item] = true
	}
	return done, rows.Err()
}

// RestoreInProgress names the backup a restore into this registry began
// with and has not finished ("" when none): nothing should serve it yet.
// It looks in the catalog first, so that a registry without the table
// leaves no error in the server's log.
func RestoreInProgress(ctx context.Context, registry *sql.DB, b steeple.Backend) string {
	q := `SELECT count(*) FROM sqlite_master WHERE name = '` + progressTable + `'`
	if b == steeple.BackendPostgres {
		q = `SELECT count(*) FROM pg_tables WHERE tablename = '` + progressTable + `'`
	}
	var n int
	if err := registry.QueryRowContext(ctx, q).Scan(&n); err != nil || n == 0 {
		return ""
	}
	return restoringBackup(ctx, registry)
}

// restoringBackup reads which backup a registry is being restored from;
// "" when it has no progress table.
func restoringBackup(ctx context.Context, db *sql.DB) string {
	var id string
	if err := db.QueryRowContext(ctx, `SELECT backup_id FROM `+progressTable+` WHERE item = 'backup'`).Scan(&id); err != nil {
		return ""
	}
	return id
}

func startProgress(ctx context.Context, db *sql.DB, backupID string) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE `+progressTable+` (item TEXT PRIMARY KEY, backup_id TEXT NOT NULL)`); err != nil {
		return err
	}
	_, err := db.ExecContext(ctx, `INSERT INTO `+progressTable+` (item, backup_id) VALUES ('backup', $1)`, backupID)
	return err
}

func otherRestore(id string) error {
	return steeple.Errorf(steeple.ECONFLICT, "a restore of another backup (%s) is in progress here: finish it with that backup, or start again on empty storage", id)
}

// sqliteRestorer copies files into a data directory.
type sqliteRestorer struct{ dataDir string }

func (s *sqliteRestorer) registry(ctx context.Context, dir string, m *Manifest) (*sql.DB, bool, error) {
	path := tenancy.RegistryPath(s.dataDir)
	if _, err := os.Stat(path); err == nil {
		db, err := sql.Open("sqlite", tenancy.SQLiteDSN(path, "rw"))
		if err != nil {
			return nil, false, err
		}
		switch id := restoringBackup(ctx, db); id {
		case m.ID:
			return db, true, nil
		case "":
			db.Close()
			return nil, false, steeple.Errorf(steeple.ECONFLICT, "%s already holds a registry: restore only onto an empty data directory", s.dataDir)
		default:
			db.Close()
			return nil, false, otherRestore(id)
		}
	}
	churches, _ := filepath.Glob(filepath.Join(s.dataDir, "tenants", "*.db"))
	if len(churches) > 0 {
		return nil, false, steeple.Errorf(steeple.ECONFLICT, "%s already holds church databases (%s): restore only onto an empty data directory", s.dataDir, filepath.Base(churches[0]))
	}
	if err := os.MkdirAll(filepath.Join(s.dataDir, "tenants"), 0o700); err != nil {
		return nil, false, err
	}
	// The progress table goes into the copy before it takes the registry's
	// name, so a registry.db that exists is always a finished copy.
	tmp := path + ".restoring"
	if err := copyFile(filepath.Join(dir, m.Registry.Name), tmp); err != nil {
		return nil, false, err
	}
	db, err := sql.Open("sqlite", tenancy.SQLiteDSN(tmp, "rw"))
	if err != nil {
		return nil, false, err
	}
	if err := startProgress(ctx, db, m.ID); err != nil {
		db.Close()
		return nil, false, err
	}
	db.Close()
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(tmp + suffix); err == nil {
			return nil, false, fmt.Errorf("%s%s was left open", tmp, suffix)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, false, err
	}
	db, err = sql.Open("sqlite", tenancy.SQLiteDSN(path, "rw"))
	return db, false, err
}

func (s *sqliteRestorer) church(_ context.Context, dir string, c Church) error {
	dst := filepath.Join(s.dataDir, "tenants", filepath.Base(c.Database))
	for _, suffix := range []string{"-wal", "-shm"} { // of a copy an earlier run renamed
		if err := os.Remove(dst + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return copyFile(filepath.Join(dir, c.Name), dst)
}

// copyFile copies src to dst (mode 0600) through a temporary name.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeAtomic(dst, in)
}
