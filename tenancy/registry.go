package tenancy

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/steeple-sms/steeple"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var registryMigrations embed.FS

// RegistrySchema is the registry's own migrations.
func RegistrySchema() Schema {
	s, _ := fs.Sub(registryMigrations, "migrations/sqlite")
	p, _ := fs.Sub(registryMigrations, "migrations/postgres")
	return Schema{SQLite: s, Postgres: p}
}

// Registry is the one database that knows every church: where its database
// lives, its status and schema version, and the indexes that route outside
// keys (numbers, emails, provider ids) to exactly one tenant. The job queue's
// tables live here too.
type Registry struct {
	db      *sql.DB
	pool    *pgxpool.Pool // PostgreSQL only: the same connections, for the job queue
	backend steeple.Backend
	now     func() time.Time
}

// RegistryPath is where the embedded registry lives inside a data directory.
func RegistryPath(dataDir string) string { return filepath.Join(dataDir, "registry.db") }

// openRegistry connects to the registry. On SQLite it creates the data
// directory and file if needed; on PostgreSQL it opens one pool of maxConns
// connections shared by registry queries and the job queue.
func openRegistry(ctx context.Context, o *Options) (*Registry, error) {
	r := &Registry{now: o.Now}
	if o.DatabaseURL == "" {
		if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("STEEPLE_DATA_DIR %s: %w", o.DataDir, err)
		}
		db, err := sql.Open("sqlite", SQLiteDSN(RegistryPath(o.DataDir), "rwc"))
		if err != nil {
			return nil, err
		}
		limitPool(db, o.RegistryMaxConns)
		r.db, r.backend = db, steeple.BackendSQLite
	} else {
		cfg, err := pgxpool.ParseConfig(o.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("STEEPLE_DATABASE_URL: %w", err)
		}
		cfg.MaxConns = int32(o.RegistryMaxConns)
		cfg.ConnConfig.RuntimeParams["application_name"] = o.AppName
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("registry %s: %w", redactURL(o.DatabaseURL), err)
		}
		r.pool, r.db, r.backend = pool, stdlib.OpenDBFromPool(pool), steeple.BackendPostgres
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := r.db.PingContext(pctx); err != nil {
		r.Close()
		return nil, fmt.Errorf("registry %s unreachable: %w", r.describe(o), err)
	}
	if r.backend == steeple.BackendSQLite {
		if err := privateFile(RegistryPath(o.DataDir)); err != nil {
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

func (r *Registry) describe(o *Options) string {
	if o.DatabaseURL == "" {
		return RegistryPath(o.DataDir)
	}
	return redactURL(o.DatabaseURL)
}

// Close closes the registry's connections.
func (r *Registry) Close() error {
	err := r.db.Close()
	if r.pool != nil {
		r.pool.Close()
	}
	return err
}

// DB returns the registry database for packages that own registry tables.
func (r *Registry) DB() *sql.DB { return r.db }

// Pool returns the pgx pool behind the registry on PostgreSQL (nil on SQLite),
// for the job queue's driver.
func (r *Registry) Pool() *pgxpool.Pool { return r.pool }

// Backend tells which dialect the registry speaks.
func (r *Registry) Backend() steeple.Backend { return r.backend }

// RegistryStatus says how far the registry's schema is from this binary's.
type RegistryStatus struct {
	Empty        bool  // never migrated: a new installation
	Version      int64 // registry schema version
	Latest       int64
	QueuePending bool // the job queue's own migrations are behind
}

// Current reports whether nothing is pending.
func (s RegistryStatus) Current() bool { return s.Version >= s.Latest && !s.QueuePending }

// Status reads the registry's schema state without changing anything.
func (r *Registry) Status(ctx context.Context) (RegistryStatus, error) {
	var st RegistryStatus
	var err error
	st.Version, st.Latest, err = schemaVersion(ctx, r.db, r.backend, RegistrySchema())
	if err != nil {
		return st, err
	}
	st.Empty = st.Version == 0
	res, err := r.queueMigrator().Validate(ctx, nil)
	if err != nil {
		return st, fmt.Errorf("job queue schema: %w", err)
	}
	st.QueuePending = !res.OK
	return st, nil
}

// Migrate applies the registry's migrations, then the job queue's (with the
// queue's own migrator).
func (r *Registry) Migrate(ctx context.Context) (int64, error) {
	v, err := applySchema(ctx, r.db, r.backend, RegistrySchema())
	if err != nil {
		return v, fmt.Errorf("registry migrations: %w", err)
	}
	if _, err := r.queueMigrator().Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return v, fmt.Errorf("job queue migrations: %w", err)
	}
	return v, nil
}

type queueMigrator interface {
	Validate(context.Context, *rivermigrate.ValidateOpts) (*rivermigrate.ValidateResult, error)
	Migrate(context.Context, rivermigrate.Direction, *rivermigrate.MigrateOpts) (*rivermigrate.MigrateResult, error)
}

func (r *Registry) queueMigrator() queueMigrator {
	cfg := &rivermigrate.Config{Logger: discardLogger}
	if r.pool != nil {
		m, err := rivermigrate.New(riverpgxv5.New(r.pool), cfg)
		if err != nil {
			panic(err) // only a bad Config makes New fail
		}
		return m
	}
	m, err := rivermigrate.New(riversqlite.New(r.db), cfg)
	if err != nil {
		panic(err)
	}
	return m
}

const tenantColumns = `id, name, slug, status, timezone, backend, COALESCE(server_ref, ''), database_name, schema_version, plan, created_at, updated_at`

func scanTenant(row interface{ Scan(...any) error }) (*steeple.Tenant, error) {
	var t steeple.Tenant
	err := row.Scan(&t.ID, &t.Name, &t.Slug, &t.Status, &t.Timezone, &t.Backend, &t.Server,
		&t.DatabaseName, &t.SchemaVersion, &t.Plan, &t.CreatedAt, &t.UpdatedAt)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// Tenant returns one tenant by id: EINVALID for a malformed id, ENOTFOUND for
// an unknown one.
func (r *Registry) Tenant(ctx context.Context, id string) (*steeple.Tenant, error) {
	if !steeple.ValidID(id) {
		return nil, steeple.Errorf(steeple.EINVALID, "%q is not a church id", id)
	}
	t, err := scanTenant(r.db.QueryRowContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "church %s not found", id)
	}
	return t, err
}

// TenantByRef finds a tenant by id or by slug (for operators at a terminal).
func (r *Registry) TenantByRef(ctx context.Context, ref string) (*steeple.Tenant, error) {
	if steeple.ValidID(ref) {
		return r.Tenant(ctx, ref)
	}
	t, err := scanTenant(r.db.QueryRowContext(ctx,
		`SELECT `+tenantColumns+` FROM tenants WHERE slug = $1 AND status <> 'deleted'`, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "church %q not found", ref)
	}
	return t, err
}

// TenantFilter narrows Tenants. Zero values mean no filter.
type TenantFilter struct {
	Status steeple.TenantStatus
	// Migratable keeps tenants whose database may be migrated (active or suspended).
	Migratable bool
}

// Tenants lists tenants ordered by id.
func (r *Registry) Tenants(ctx context.Context, f TenantFilter) ([]*steeple.Tenant, error) {
	q := `SELECT ` + tenantColumns + ` FROM tenants WHERE 1=1`
	var args []any
	if f.Status != "" {
		args = append(args, f.Status)
		q += fmt.Sprintf(" AND status = $%d", len(args))
	}
	if f.Migratable {
		q += " AND status IN ('active', 'suspended')"
	}
	rows, err := r.db.QueryContext(ctx, q+" ORDER BY id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*steeple.Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func (r *Registry) insertTenant(ctx context.Context, t *steeple.Tenant) error {
	var server any
	if t.Server != "" {
		server = t.Server
	}
	_, err := r.db.ExecContext(ctx, `INSERT INTO tenants (id, name, slug, status, timezone, backend, server_ref,
		database_name, schema_version, plan, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		t.ID, t.Name, t.Slug, t.Status, t.Timezone, t.Backend, server, t.DatabaseName, t.SchemaVersion, t.Plan, t.CreatedAt, t.UpdatedAt)
	if IsUniqueViolation(err) {
		return steeple.Errorf(steeple.ECONFLICT, "a church with the short name %q already exists", t.Slug)
	}
	return err
}

// SetStatus moves a tenant to status `to` if it is currently in one of
// `from`; otherwise it answers ECONFLICT naming the status it is in.
func (r *Registry) SetStatus(ctx context.Context, id string, to steeple.TenantStatus, from ...steeple.TenantStatus) (*steeple.Tenant, error) {
	t, err := r.Tenant(ctx, id)
	if err != nil {
		return nil, err
	}
	if t.Status == to {
		return t, nil
	}
	args := []any{to, r.now().UTC(), id}
	marks := make([]string, len(from))
	for i, s := range from {
		args = append(args, s)
		marks[i] = fmt.Sprintf("$%d", len(args))
	}
	res, err := r.db.ExecContext(ctx, `UPDATE tenants SET status = $1, updated_at = $2 WHERE id = $3 AND status IN (`+strings.Join(marks, ", ")+`)`, args...)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, steeple.Errorf(steeple.ECONFLICT, "church %s is %s; it cannot become %s", id, t.Status, to)
	}
	return r.Tenant(ctx, id)
}

func (r *Registry) setSchemaVersion(ctx context.Context, id string, v int64) error {
	_, err := r.db.ExecContext(ctx, `UPDATE tenants SET schema_version = $1, updated_at = $2 WHERE id = $3`, v, r.now().UTC(), id)
	return err
}

// deleteTenantRow removes a church that never became active, with every
// index entry pointing at it, in one transaction.
func (r *Registry) deleteTenantRow(ctx context.Context, id string) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, table := range []string{"login_index", "phone_numbers", "provider_objects"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE tenant_id = $1`, id); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM tenants WHERE id = $1 AND status = 'provisioning'`, id); err != nil {
		return err
	}
	return tx.Commit()
}

// Server is a PostgreSQL server as the registry knows it.
type Server struct {
	Ref     string `json:"ref"`
	State   string `json:"state"` // active or draining
	Tenants int    `json:"tenants"`
}

// syncServers records every configured server, new ones as active.
func (r *Registry) syncServers(ctx context.Context, refs []string) error {
	for _, ref := range refs {
		_, err := r.db.ExecContext(ctx, `INSERT INTO db_servers (ref, state, created_at) VALUES ($1, 'active', $2)
			ON CONFLICT (ref) DO NOTHING`, ref, r.now().UTC())
		if err != nil {
			return err
		}
	}
	return nil
}

// Servers lists the database servers and how many live tenants each holds.
func (r *Registry) Servers(ctx context.Context) ([]Server, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT s.ref, s.state, COUNT(t.id) FROM db_servers s
		LEFT JOIN tenants t ON t.server_ref = s.ref AND t.status <> 'deleted'
		GROUP BY s.ref, s.state ORDER BY s.ref`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Server
	for rows.Next() {
		var s Server
		if err := rows.Scan(&s.Ref, &s.State, &s.Tenants); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// SetServerState marks a server active or draining. A draining server keeps
// its tenants but receives no new ones.
func (r *Registry) SetServerState(ctx context.Context, ref, state string) error {
	if state != "active" && state != "draining" {
		return steeple.Errorf(steeple.EINVALID, "server state must be active or draining, not %q", state)
	}
	res, err := r.db.ExecContext(ctx, `UPDATE db_servers SET state = $1 WHERE ref = $2`, state, ref)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return steeple.Errorf(steeple.ENOTFOUND, "database server %q not found", ref)
	}
	return nil
}

// placeTenant picks, among the active servers this process can reach, the
// one holding the fewest live tenants.
func (r *Registry) placeTenant(ctx context.Context, reachable []string) (string, error) {
	servers, err := r.Servers(ctx)
	if err != nil {
		return "", err
	}
	best, bestCount := "", -1
	for _, s := range servers {
		if s.State != "active" || !contains(reachable, s.Ref) {
			continue
		}
		if bestCount < 0 || s.Tenants < bestCount {
			best, bestCount = s.Ref, s.Tenants
		}
	}
	if best == "" {
		return "", steeple.Errorf(steeple.EUNAVAILABLE, "no active database server to place a new church on")
	}
	return best, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// IsUniqueViolation recognises a unique-constraint failure from either driver.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		return sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

func ignoreNoRows(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	return err
}
