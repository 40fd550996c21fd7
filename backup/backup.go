package backup

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// Options say where the deployment lives (DataDir on SQLite; DatabaseURL
// and TenantServers on PostgreSQL) and how to report.
type Options struct {
	Tenancy  tenancy.Options
	Version  string    // steeple's version, recorded in the manifest
	Progress io.Writer // progress lines for people; nil: none
	Parallel int       // databases copied or restored at once (at least 1)
	Now      func() time.Time
}

func (o *Options) postgres() bool { return o.Tenancy.DatabaseURL != "" }

func (o *Options) backend() steeple.Backend {
	if o.postgres() {
		return steeple.BackendPostgres
	}
	return steeple.BackendSQLite
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now().UTC()
	}
	return time.Now().UTC()
}

// deletedDuring is the reason given for a church deleted while it was copied.
const deletedDuring = "deleted during the backup"

// progress writes a line at most once a second, and always the last one.
type progress struct {
	mu   sync.Mutex
	w    io.Writer
	last time.Time
}

func (p *progress) say(final bool, format string, a ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.w == nil || (!final && time.Since(p.last) < time.Second) {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, format+"\n", a...)
}

// tenantRow is what a backup needs of a registry's tenants row.
type tenantRow struct {
	id, server, database string
	status               steeple.TenantStatus
	schema               int64
}

const tenantRowsSQL = `SELECT id, status, COALESCE(server_ref, ''), database_name, schema_version FROM tenants ORDER BY id`

// Take copies the deployment into dir, which must be empty or absent. The
// registry is copied first, and the churches are those of the registry's
// copy: a church created during the backup is either in both or in
// neither, and each database is consistent in itself (see docs/operations.md,
// "Backups").
func Take(ctx context.Context, dir string, o Options) (*Manifest, error) {
	if err := prepareOut(dir); err != nil {
		return nil, err
	}
	m, err := take(ctx, dir, o)
	if err != nil {
		return nil, &IncompleteError{Dir: dir, Err: err}
	}
	return m, nil
}

// IncompleteError is a backup that failed after it began writing: its
// directory holds files but no manifest, and is not a backup.
type IncompleteError struct {
	Dir string
	Err error
}

func (e *IncompleteError) Error() string {
	return e.Err.Error() + " (" + e.Dir + " holds an unfinished backup: delete it)"
}

func (e *IncompleteError) Unwrap() error { return e.Err }

func take(ctx context.Context, dir string, o Options) (*Manifest, error) {
	m := &Manifest{Format: manifestFormat, ID: newID(o.now()), StartedAt: o.now(), Backend: o.backend(), Version: o.Version,
		Churches: []Church{}, Skipped: []Skipped{}}
	var tenants []tenantRow
	var err error
	if o.postgres() {
		tenants, err = dumpRegistry(ctx, dir, &m.Registry, o)
	} else {
		tenants, err = vacuumRegistry(ctx, dir, &m.Registry, o)
	}
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	m.Bytes = m.Registry.Size
	p := &progress{w: o.Progress}
	p.say(true, "backup: registry copied (%s); %d churches to copy", mib(m.Registry.Size), len(tenants))
	servers, err := serverURLs(o.Tenancy.TenantServers)
	if err != nil {
		return nil, err
	}
	copied := make([]*Church, len(tenants))
	skipped := make([]*Skipped, len(tenants))
	var done counter
	err = eachParallel(ctx, len(tenants), o.Parallel, func(ctx context.Context, i int) error {
		t := tenants[i]
		switch t.status {
		case steeple.TenantProvisioning:
			skipped[i] = &Skipped{t.id, t.status, "still provisioning: `steeple tenants cleanup` removes it after a restore, or `tenants create` completes it"}
			return nil
		case steeple.TenantDeleted:
			skipped[i] = &Skipped{t.id, t.status, "deleted: it has no database"}
			return nil
		}
		c := &Church{ID: t.id, Status: t.status, Server: t.server, Database: t.database, File: File{SchemaVersion: t.schema}}
		if err := copyChurch(ctx, dir, c, servers, o); err != nil {
			if gone, _ := deletedSince(ctx, t.id, o); gone {
				skipped[i] = &Skipped{t.id, t.status, deletedDuring}
				return nil
			}
			return fmt.Errorf("church %s: %w", t.id, err)
		}
		copied[i] = c
		n, bytes := done.add(c.Size)
		p.say(false, "backup: %d/%d churches, %s", n, len(tenants), mib(m.Registry.Size+bytes))
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range tenants {
		if c := copied[i]; c != nil {
			m.Churches = append(m.Churches, *c)
			m.Bytes += c.Size
		}
		if s := skipped[i]; s != nil {
			m.Skipped = append(m.Skipped, *s)
		}
	}
	p.say(true, "backup: %d churches copied, %d skipped, %s", len(m.Churches), len(m.Skipped), mib(m.Bytes))
	m.FinishedAt = o.now()
	if err := m.write(dir); err != nil {
		return nil, err
	}
	return m, nil
}

// prepareOut makes dir, or checks that an existing dir is empty: a backup
// never mixes its files with another's.
func prepareOut(dir string) error {
	if dir == "" {
		return steeple.Errorf(steeple.EINVALID, "--out names the directory to write the backup to")
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("backup directory: %w", err)
		}
	case err != nil:
		return steeple.Errorf(steeple.EINVALID, "backup directory %s: %v", dir, err)
	case len(entries) > 0:
		return steeple.Errorf(steeple.EINVALID, "backup directory %s is not empty: give a new or empty directory", dir)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	return os.Mkdir(filepath.Join(dir, "tenants"), 0o700)
}

func newID(now time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return now.Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// vacuumRegistry copies registry.db with VACUUM INTO, which reads one
// snapshot (a read transaction under WAL, not blocking writers), and lists
// the churches from the copy.
func vacuumRegistry(ctx context.Context, dir string, f *File, o Options) ([]tenantRow, error) {
	f.Name = "registry.db"
	if err := vacuumInto(ctx, tenancy.RegistryPath(o.Tenancy.DataDir), filepath.Join(dir, f.Name), f); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, f.Name)+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return readTenants(ctx, db, f)
}

type querier interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

func readTenants(ctx context.Context, db querier, f *File) ([]tenantRow, error) {
	err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&f.SchemaVersion)
	if err != nil {
		return nil, fmt.Errorf("registry schema version: %w", err)
	}
	rows, err := db.QueryContext(ctx, tenantRowsSQL)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []tenantRow
	for rows.Next() {
		var t tenantRow
		if err := rows.Scan(&t.id, &t.status, &t.server, &t.database, &t.schema); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// vacuumInto writes a consistent copy of the SQLite database at src to dst.
// mode=rw: a database deleted meanwhile is an error, not a new empty file.
func vacuumInto(ctx context.Context, src, dst string, f *File) error {
	db, err := sql.Open("sqlite", tenancy.SQLiteDSN(src, "rw"))
	if err != nil {
		return err
	}
	defer db.Close()
	tmp := dst + ".tmp"
	_ = os.Remove(tmp)
	if _, err := db.ExecContext(ctx, `VACUUM INTO $1`, tmp); err != nil {
		return err
	}
	if f.Size, f.SHA256, err = sealFile(tmp); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// dumpRegistry dumps the registry with pg_dump inside a snapshot exported
// from a transaction that also lists the churches, so the list is exactly
// the dump's.
func dumpRegistry(ctx context.Context, dir string, f *File, o Options) ([]tenantRow, error) {
	d, err := pgDatabase(o.Tenancy.DatabaseURL, "")
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, d.connURL())
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var snapshot string
	if err := tx.QueryRow(ctx, `SELECT pg_export_snapshot()`).Scan(&snapshot); err != nil {
		return nil, err
	}
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&f.SchemaVersion); err != nil {
		return nil, fmt.Errorf("registry schema version: %w", err)
	}
	rows, _ := tx.Query(ctx, tenantRowsSQL)
	tenants, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenantRow, error) {
		var t tenantRow
		return t, r.Scan(&t.id, &t.status, &t.server, &t.database, &t.schema)
	})
	if err != nil {
		return nil, err
	}
	f.Name = "registry.dump"
	if err := pgDump(ctx, d, filepath.Join(dir, f.Name), f, "--snapshot="+snapshot); err != nil {
		return nil, err
	}
	return tenants, nil
}

func pgDump(ctx context.Context, d pgDB, dst string, f *File, extra ...string) error {
	tmp := dst + ".tmp"
	args := append([]string{"--format=custom", "--file=" + tmp}, extra...)
	if err := runTool(ctx, d, "pg_dump", args...); err != nil {
		return err
	}
	var err error
	if f.Size, f.SHA256, err = sealFile(tmp); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

func copyChurch(ctx context.Context, dir string, c *Church, servers map[string]string, o Options) error {
	if !o.postgres() {
		c.Name = "tenants/" + c.ID + ".db"
		src := filepath.Join(o.Tenancy.DataDir, "tenants", filepath.Base(c.Database))
		if _, err := os.Stat(src); err != nil {
			return err // VACUUM INTO on a missing file would make an empty one
		}
		return vacuumInto(ctx, src, filepath.Join(dir, c.Name), &c.File)
	}
	c.Name = "tenants/" + c.ID + ".dump"
	d, err := churchDB(servers, c.Server, c.Database)
	if err != nil {
		return err
	}
	return pgDump(ctx, d, filepath.Join(dir, c.Name), &c.File)
}

// deletedSince tells whether the live registry now says the church is
// being deleted or gone: then a database that could not be copied is not
// an error.
func deletedSince(ctx context.Context, id string, o Options) (bool, error) {
	db, err := openRegistry(o)
	if err != nil {
		return false, err
	}
	defer db.Close()
	var status steeple.TenantStatus
	err = db.QueryRowContext(ctx, `SELECT status FROM tenants WHERE id = $1`, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	return status == steeple.TenantDeleting || status == steeple.TenantDeleted, err
}

// openRegistry opens the configured registry with database/sql.
func openRegistry(o Options) (*sql.DB, error) {
	if !o.postgres() {
		return sql.Open("sqlite", tenancy.SQLiteDSN(tenancy.RegistryPath(o.Tenancy.DataDir), "rw"))
	}
	d, err := pgDatabase(o.Tenancy.DatabaseURL, "")
	if err != nil {
		return nil, err
	}
	return sql.Open("pgx", d.connURL())
}

// mib writes a size for a progress line.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
