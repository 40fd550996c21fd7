package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// Migration 00010 lets members share a phone without losing anything a
// member has: consent history, groups. On SQLite it rebuilds the table with
// foreign keys off, so dropping the old table cascades nowhere, and turns
// them back on.
func TestSharedPhoneMigrationKeepsData(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		ctx := context.Background()
		db, backend := migrationDB(t, b)
		db.SetMaxOpenConns(1) // the migration's connection is the one checked after it
		p, err := goose.NewProvider(dialect(backend), db, store.Schema().For(backend), goose.WithDisableGlobalRegistry(true))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.UpTo(ctx, 9); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		for _, st := range []struct {
			q    string
			args []any
		}{
			{`INSERT INTO members (id, first_name, name_key, phone_cipher, phone_hash, consent_status, consent_source, consent_at,
				created_at, updated_at) VALUES ('m1', 'Ann', 'ann', $1, 'hash-1', 'opted_in', 'admin', $2, $2, $2)`, []any{[]byte("sealed"), now}},
			{`INSERT INTO consent_events (member_id, status, source, at) VALUES ('m1', 'opted_in', 'admin', $1)`, []any{now}},
			{`INSERT INTO groups (id, name, name_key, created_at) VALUES ('g1', 'Choir', 'choir', $1)`, []any{now}},
			{`INSERT INTO group_members (group_id, member_id) VALUES ('g1', 'm1')`, nil},
		} {
			if _, err := db.ExecContext(ctx, st.q, st.args...); err != nil {
				t.Fatalf("%s: %v", st.q, err)
			}
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		for table, want := range map[string]int{"members": 1, "consent_events": 1, "group_members": 1} {
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil || n != want {
				t.Fatalf("%s: %d rows, %v; want %d", table, n, err, want)
			}
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO members (id, first_name, name_key, phone_cipher, phone_hash, consent_status,
			consent_source, consent_at, created_at, updated_at) VALUES ('m2', 'Bob', 'bob', $1, 'hash-1', 'opted_in', 'admin', $2, $2, $2)`,
			[]byte("sealed"), now); err != nil {
			t.Fatalf("second member with the same phone: %v", err)
		}
		// Foreign keys are enforced again after the rebuild.
		if _, err := db.ExecContext(ctx, `INSERT INTO group_members (group_id, member_id) VALUES ('g1', 'nobody')`); err == nil {
			t.Fatal("a group membership of no member was accepted: foreign keys are off")
		}
		if _, err := db.ExecContext(ctx, `DELETE FROM members WHERE id = 'm1'`); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM consent_events`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("consent events of a deleted member: %d, %v; want cascaded away", n, err)
		}
	})
}

func dialect(b steeple.Backend) goose.Dialect {
	if b == steeple.BackendPostgres {
		return goose.DialectPostgres
	}
	return goose.DialectSQLite3
}

// migrationDB is an empty tenant database outside Steeple's manager.
func migrationDB(t *testing.T, b *testkit.Backend) (*sql.DB, steeple.Backend) {
	t.Helper()
	if !b.Postgres() {
		dir := t.TempDir()
		db, err := sql.Open("sqlite", tenancy.SQLiteDSN(filepath.Join(dir, "tenant.db"), "rwc"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db, steeple.BackendSQLite
	}
	url := os.Getenv(testkit.EnvPostgresURL)
	name := fmt.Sprintf("steeple_test_mig_%d", time.Now().UnixNano())
	testkit.QueryServer(t, url, func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, "CREATE DATABASE "+name)
		return err
	})
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database = name
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() {
		db.Close()
		testkit.QueryServer(t, url, func(ctx context.Context, c *pgx.Conn) error {
			_, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			return err
		})
	})
	return db, steeple.BackendPostgres
}
