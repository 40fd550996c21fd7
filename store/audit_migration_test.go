package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// Audit rows written before emails were sealed held them in plaintext in
// detail; migration 00012 removes them and leaves other details alone.
func TestMigrationClearsPlaintextAuditEmails(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		ctx := context.Background()
		backend, dialect := steeple.BackendSQLite, goose.DialectSQLite3
		var db *sql.DB
		var err error
		if b.Postgres() {
			// The backend's registry database is fresh and, unopened, empty:
			// a church schema fits in it for this test.
			backend, dialect = steeple.BackendPostgres, goose.DialectPostgres
			db, err = sql.Open("pgx", b.RegistryURL())
		} else {
			db, err = sql.Open("sqlite", tenancy.SQLiteDSN(filepath.Join(b.DataDir(), "church.db"), "rwc"))
		}
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		p, err := goose.NewProvider(dialect, db, store.Schema().For(backend), goose.WithDisableGlobalRegistry(true))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.UpTo(ctx, 11); err != nil {
			t.Fatal(err)
		}
		rows := [][2]string{{"admin.invited", "lee@example.org"}, {"admin.removed", "kim@example.org"}, {"login.failed", "wrong password"}}
		for _, r := range rows {
			if _, err := db.ExecContext(ctx, `INSERT INTO audit_log (at, action, target, detail) VALUES ($1, $2, 'x', $3)`,
				time.Now().UTC(), r[0], r[1]); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"admin.invited": "", "admin.removed": "", "login.failed": "wrong password"}
		for action, detail := range want {
			var got string
			if err := db.QueryRowContext(ctx, `SELECT detail FROM audit_log WHERE action = $1`, action).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != detail {
				t.Errorf("%s: detail %q after the migration; want %q", action, got, detail)
			}
		}
	})
}
