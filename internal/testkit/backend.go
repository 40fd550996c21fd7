// Package testkit runs tests against real databases: every test that uses
// ForEachBackend runs on SQLite (a temporary directory) and on PostgreSQL
// (a fresh registry database on the server named by STEEPLE_TEST_POSTGRES_URL,
// dropped afterwards together with every tenant database it created).
package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// Environment variables the kit reads.
const (
	EnvPostgresURL     = "STEEPLE_TEST_POSTGRES_URL"   // a server where the role may create databases
	EnvPostgresURL2    = "STEEPLE_TEST_POSTGRES_URL_2" // a second server, for placement tests
	EnvRequirePostgres = "STEEPLE_TEST_REQUIRE_POSTGRES"
)

// Backend is one of the two backends, set up for one test.
type Backend struct {
	Name string // "sqlite" or "postgres"
	// AppName is the application_name of every PostgreSQL connection the
	// test's Tenancy makes, unique per test so pg_stat_activity can be filtered.
	AppName string
	dataDir string
	regURL  string
	servers []string
}

// Postgres reports whether this is the PostgreSQL backend.
func (b *Backend) Postgres() bool { return b.Name == "postgres" }

// DataDir is the SQLite data directory ("" on PostgreSQL).
func (b *Backend) DataDir() string { return b.dataDir }

// RegistryURL is the PostgreSQL registry database ("" on SQLite).
func (b *Backend) RegistryURL() string { return b.regURL }

// Servers are the PostgreSQL tenant servers ("" on SQLite).
func (b *Backend) Servers() []string { return b.servers }

// ForEachBackend runs fn as a subtest on SQLite and then on PostgreSQL.
func ForEachBackend(t *testing.T, fn func(t *testing.T, b *Backend)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite returns the embedded backend in a fresh temporary directory.
func SQLite(t testing.TB) *Backend {
	return &Backend{Name: "sqlite", AppName: appName(), dataDir: t.TempDir()}
}

// Postgres returns the PostgreSQL backend with a fresh registry database,
// placing tenants on the test server(s). extraServers adds the second server
// (STEEPLE_TEST_POSTGRES_URL_2) when true. Without the server variables the
// test is skipped, or fails when STEEPLE_TEST_REQUIRE_POSTGRES is set.
func Postgres(t testing.TB, extraServers ...bool) *Backend {
	url := RequireEnv(t, EnvPostgresURL)
	servers := []string{url}
	if len(extraServers) > 0 && extraServers[0] {
		servers = append(servers, RequireEnv(t, EnvPostgresURL2))
	}
	b := &Backend{Name: "postgres", AppName: appName(), servers: servers}
	regDB := "steeple_test_reg_" + randHex(6)
	adminExec(t, url, "CREATE DATABASE "+regDB)
	b.regURL = withDatabase(url, regDB)
	t.Cleanup(func() { dropAll(t, b, regDB) })
	return b
}

// RequireEnv returns the variable's value, skipping the test when it is unset
// (failing instead when STEEPLE_TEST_REQUIRE_POSTGRES is set, as in CI).
func RequireEnv(t testing.TB, name string) string {
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	msg := fmt.Sprintf("%s is not set: skipping the PostgreSQL half of this test (set it to a server URL where the role may create databases, e.g. postgres://postgres@127.0.0.1:5432/postgres)", name)
	if os.Getenv(EnvRequirePostgres) != "" {
		t.Fatal(msg + "; " + EnvRequirePostgres + " is set, so this is a failure")
	}
	noticeSkipped(name)
	t.Skip(msg)
	return ""
}

// Options returns tenancy options for this backend with a small, explicit
// budget; tests adjust what they need.
func (b *Backend) Options() tenancy.Options {
	return tenancy.Options{
		DataDir:          b.dataDir,
		DatabaseURL:      b.regURL,
		TenantServers:    b.servers,
		RegistryMaxConns: 5,
		Manager: tenancy.ManagerConfig{
			MaxConns: 20, MaxPerTenant: 4, MaxPools: 20,
			IdleTimeout: time.Minute, AcquireTimeout: 5 * time.Second,
		},
		AppName:      b.AppName,
		TenantSchema: store.Schema(),
	}
}

// Open opens a Tenancy with o, migrates the registry and prepares it; it is
// closed when the test ends.
func (b *Backend) Open(t testing.TB, o tenancy.Options) *tenancy.Tenancy {
	t.Helper()
	ctx := context.Background()
	ten, err := tenancy.Open(ctx, o)
	if err != nil {
		t.Fatalf("open tenancy: %v", err)
	}
	t.Cleanup(func() { ten.Close() })
	if _, err := ten.Registry.Migrate(ctx); err != nil {
		t.Fatalf("migrate registry: %v", err)
	}
	if err := ten.Prepare(ctx); err != nil {
		t.Fatalf("prepare: %v", err)
	}
	return ten
}

// dropAll removes the registry database and every tenant database it lists.
// DROP DATABASE waits for a checkpoint; concurrent drops share checkpoints,
// so a test with hundreds of tenants is cleaned up several at a time. A
// failed drop is reported and the others still run.
func dropAll(t testing.TB, b *Backend, regDB string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, b.regURL)
	if err == nil {
		var names []string
		rows, qerr := conn.Query(ctx, "SELECT database_name FROM tenants")
		if qerr == nil {
			names, qerr = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		conn.Close(ctx)
		var pgErr *pgconn.PgError
		if qerr != nil && !(errors.As(qerr, &pgErr) && pgErr.Code == "42P01") { // no tenants table: never migrated
			t.Errorf("listing tenant databases to drop: %v", qerr)
		}
		start := time.Now()
		for _, s := range b.servers {
			dropDatabases(t, s, names)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Logf("dropping %d tenant databases took %v", len(names), took.Round(time.Millisecond))
		}
	}
	adminExec(t, b.servers[0], "DROP DATABASE IF EXISTS "+regDB+" WITH (FORCE)")
}

// dropDatabases drops the named databases on one server, dropWorkers at a time.
func dropDatabases(t testing.TB, url string, names []string) {
	const dropWorkers = 8
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(dropWorkers, len(names)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Errorf("connect %s: %v", url, err)
				for range work {
				}
				return
			}
			defer conn.Close(ctx)
			for n := range work {
				sql := "DROP DATABASE IF EXISTS " + pgx.Identifier{n}.Sanitize() + " WITH (FORCE)"
				if _, err := conn.Exec(ctx, sql); err != nil {
					t.Errorf("%s: %v", sql, err)
				}
			}
		}()
	}
	for _, n := range names {
		work <- n
	}
	close(work)
	wg.Wait()
}

func adminExec(t testing.TB, url, sql string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a busy shared server drops slowly
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// withDatabase returns url naming another database.
func withDatabase(url, db string) string {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		panic(err)
	}
	u := fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, db)
	if cfg.Password != "" {
		u = fmt.Sprintf("postgres://%s:%s@%s:%d/%s", cfg.User, cfg.Password, cfg.Host, cfg.Port, db)
	}
	return u + "?sslmode=disable"
}

func appName() string { return "steeple-test-" + randHex(4) }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
