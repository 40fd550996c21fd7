package tenancy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/steeple-sms/steeple"
)

// backend is where tenant databases live: SQLite files in a directory, or
// databases on PostgreSQL servers. Every method is idempotent.
type backend interface {
	kind() steeple.Backend
	// databaseName names a new tenant's database.
	databaseName(tenantID string) string
	// create makes an empty database for t; an existing one is kept.
	create(ctx context.Context, t *steeple.Tenant) error
	// drop removes t's database; a missing one is fine.
	drop(ctx context.Context, t *steeple.Tenant) error
	// open returns a pool on t's database holding at most maxConns connections.
	// It never creates a database that does not exist.
	open(t *steeple.Tenant, maxConns int) (*sql.DB, error)
}

// sqliteBackend keeps one file per tenant under dir.
type sqliteBackend struct{ dir string }

func (b sqliteBackend) kind() steeple.Backend { return steeple.BackendSQLite }

func (b sqliteBackend) databaseName(id string) string { return id + ".db" }

func (b sqliteBackend) path(t *steeple.Tenant) string {
	return filepath.Join(b.dir, filepath.Base(t.DatabaseName))
}

func (b sqliteBackend) create(ctx context.Context, t *steeple.Tenant) error {
	if err := os.MkdirAll(b.dir, 0o700); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", SQLiteDSN(b.path(t), "rwc"))
	if err != nil {
		return err
	}
	defer db.Close()
	// The first connection applies journal_mode=WAL, which persists in the file.
	if err := db.PingContext(ctx); err != nil {
		return err
	}
	return privateFile(b.path(t))
}

// privateFile makes a database file readable by its owner only; SQLite gives
// the -wal and -shm files it creates later the same mode.
func privateFile(path string) error {
	return os.Chmod(path, 0o600)
}

func (b sqliteBackend) drop(_ context.Context, t *steeple.Tenant) error {
	p := b.path(t)
	for _, f := range []string{p, p + "-wal", p + "-shm"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

func (b sqliteBackend) open(t *steeple.Tenant, maxConns int) (*sql.DB, error) {
	db, err := openSQLite(SQLiteDSN(b.path(t), "rw"))
	if err != nil {
		return nil, err
	}
	limitPool(db, maxConns)
	return db, nil
}

// SQLiteDSN sets what every connection needs: WAL for concurrent readers,
// foreign keys, a busy timeout instead of instant SQLITE_BUSY, and IMMEDIATE
// transactions so that two writers never deadlock on a lock upgrade.
// mode=rw refuses to create a missing file; creation is provisioning's job.
func SQLiteDSN(path, mode string) string {
	q := url.Values{}
	q.Set("mode", mode)
	q.Set("_txlock", "immediate")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "cache_size(-1024)") // 1 MiB a connection: many tenants may be open
	return "file:" + path + "?" + q.Encode()
}

// limitPool makes database/sql keep every connection it opens until told
// otherwise, so the manager's count of connections is an upper bound on the
// real ones: the pool never opens a connection the manager did not reserve.
func limitPool(db *sql.DB, maxConns int) {
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
}

// postgresBackend places each tenant in a database of its own on one of
// several servers, each known to the registry by a reference (host:port).
type postgresBackend struct {
	servers map[string]*pgx.ConnConfig // by reference
	sslmode map[string]string          // by reference: as configured, for pg_dump and pg_restore
	appName string
}

func newPostgresBackend(urls []string, appName string) (*postgresBackend, error) {
	b := &postgresBackend{servers: map[string]*pgx.ConnConfig{}, sslmode: map[string]string{}, appName: appName}
	for _, u := range urls {
		cfg, err := pgx.ParseConfig(u)
		if err != nil {
			return nil, fmt.Errorf("tenant server %s: %w", steeple.RedactURL(u), err)
		}
		cfg.RuntimeParams["application_name"] = appName
		b.servers[serverRef(cfg)] = cfg
		b.sslmode[serverRef(cfg)] = sslMode(u, cfg)
	}
	return b, nil
}

// ServerRef is the registry's name (host:port) for the server a PostgreSQL
// URL points at: backups and restores find a church's server by it.
func ServerRef(u string) (string, error) {
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		return "", fmt.Errorf("server %s: %w", steeple.RedactURL(u), err)
	}
	return serverRef(cfg), nil
}

// serverRef names a server without its credentials.
func serverRef(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)
}

func (b *postgresBackend) kind() steeple.Backend { return steeple.BackendPostgres }

func (b *postgresBackend) databaseName(id string) string {
	return "steeple_t_" + strings.ReplaceAll(id, "-", "")
}

func (b *postgresBackend) refs() []string {
	out := make([]string, 0, len(b.servers))
	for r := range b.servers {
		out = append(out, r)
	}
	return out
}

func (b *postgresBackend) config(ref, database string) (*pgx.ConnConfig, error) {
	base, ok := b.servers[ref]
	if !ok {
		return nil, steeple.Errorf(steeple.EUNAVAILABLE, "database server %s is not in STEEPLE_TENANT_SERVERS", ref)
	}
	cfg := base.Copy()
	cfg.Database = database
	return cfg, nil
}

// admin runs fn on a short-lived connection to the server's maintenance database.
func (b *postgresBackend) admin(ctx context.Context, ref string, fn func(*pgx.Conn) error) error {
	base, ok := b.servers[ref]
	if !ok {
		return steeple.Errorf(steeple.EUNAVAILABLE, "database server %s is not in STEEPLE_TENANT_SERVERS", ref)
	}
	conn, err := pgx.ConnectConfig(ctx, base.Copy())
	if err != nil {
		return fmt.Errorf("database server %s: %w", ref, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return fn(conn)
}

func (b *postgresBackend) create(ctx context.Context, t *steeple.Tenant) error {
	return b.admin(ctx, t.Server, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{t.DatabaseName}.Sanitize())
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: a retry
			return nil
		}
		return err
	})
}

func (b *postgresBackend) drop(ctx context.Context, t *steeple.Tenant) error {
	return b.admin(ctx, t.Server, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{t.DatabaseName}.Sanitize()+" WITH (FORCE)")
		return err
	})
}

func (b *postgresBackend) open(t *steeple.Tenant, maxConns int) (*sql.DB, error) {
	cfg, err := b.config(t.Server, t.DatabaseName)
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDB(*cfg)
	limitPool(db, maxConns)
	return db, nil
}

// ping checks that every configured server answers, naming the first that does not.
func (b *postgresBackend) ping(ctx context.Context) error {
	for ref := range b.servers {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := b.admin(pctx, ref, func(c *pgx.Conn) error { return c.Ping(pctx) })
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}
