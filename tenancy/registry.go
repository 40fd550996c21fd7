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
//
// The code of each registry table lives in the file named after it
// (tenants.go, db_servers.go, dispatch_intents.go, schedule_due.go,
// phone_numbers.go, ...); writes made inside the job queue's transaction
// are methods of Tx (tx.go).
type Registry struct {
	db      *sql.DB
	pool    *pgxpool.Pool // PostgreSQL only: the same connections, for the job queue
	backend steeple.Backend
	now     func() time.Time
	// processURL is Options.ProcessURL, recorded with each send claim.
	processURL string
}

// RegistryPath is where the embedded registry lives inside a data directory.
func RegistryPath(dataDir string) string { return filepath.Join(dataDir, "registry.db") }

// sqliteRegistryConns is the least size of a SQLite registry's pool. The
// registry budget (STEEPLE_REGISTRY_MAX_CONNS) guards a PostgreSQL server's
// connection slots; a SQLite connection costs a file handle and a little
// memory. Every send worker claims its pace there and every church handle
// starts with a registry read, so five connections made a STOP wait up to
// 30 s behind 40 send workers (bench sunday; 0.7 s with 20).
const sqliteRegistryConns = 32

// openRegistry connects to the registry. On SQLite it creates the data
// directory and file if needed; on PostgreSQL it opens one pool of maxConns
// connections shared by registry queries and the job queue.
func openRegistry(ctx context.Context, o *Options) (*Registry, error) {
	r := &Registry{now: o.Now, processURL: o.ProcessURL}
	if o.DatabaseURL == "" {
		if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("STEEPLE_DATA_DIR %s: %w", o.DataDir, err)
		}
		// secure_delete zeroes what a purge deletes instead of leaving
		// the bytes in free pages (see Purge).
		db, err := openSQLite(SQLiteDSN(RegistryPath(o.DataDir), "rwc") + "&_pragma=secure_delete(1)")
		if err != nil {
			return nil, err
		}
		limitPool(db, max(o.RegistryMaxConns, sqliteRegistryConns))
		r.db, r.backend = db, steeple.BackendSQLite
	} else {
		cfg, err := pgxpool.ParseConfig(o.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("STEEPLE_DATABASE_URL: %w", err)
		}
		// The job queue's listener takes one connection out of the pool
		// for good (the pool would then open another in its place): the
		// pool is one smaller, so that the process stays within the
		// setting (at least 2).
		cfg.MaxConns = int32(max(o.RegistryMaxConns-1, 1))
		cfg.ConnConfig.RuntimeParams["application_name"] = o.AppName
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("registry %s: %w", steeple.RedactURL(o.DatabaseURL), err)
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
	return steeple.RedactURL(o.DatabaseURL)
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
