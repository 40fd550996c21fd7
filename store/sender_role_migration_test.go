package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
)

// Migration 00022 allows the sender role. On SQLite it rebuilds admins and
// invitations with foreign keys off: an admin's sessions, refresh tokens and
// invitations survive, and foreign keys are enforced again afterwards.
func TestSenderRoleMigrationKeepsData(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		ctx := context.Background()
		db, backend := migrationDB(t, b)
		db.SetMaxOpenConns(1) // the migration's connection is the one checked after it
		p, err := goose.NewProvider(dialect(backend), db, store.Schema().For(backend), goose.WithDisableGlobalRegistry(true))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.UpTo(ctx, 21); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		exec := func(q string, args ...any) error {
			_, err := db.ExecContext(ctx, q, args...)
			return err
		}
		sealed := []byte("sealed")
		for _, st := range []struct {
			q    string
			args []any
		}{
			{`INSERT INTO admins (id, name, email_cipher, email_hash, password_hash, role, created_at, language) VALUES ('a1', 'Pat', $1, 'eh1', 'ph', 'owner', $2, 'es')`, []any{sealed, now}},
			{`INSERT INTO web_sessions (id_hash, admin_id, password_mark, created_at, last_seen_at, expires_at) VALUES ('s1', 'a1', 'm', $1, $1, $1)`, []any{now}},
			{`INSERT INTO refresh_tokens (token_hash, family_id, admin_id, created_at, expires_at) VALUES ('r1', 'f1', 'a1', $1, $1)`, []any{now}},
			{`INSERT INTO invitations (id, token_hash, email_cipher, email_hash, role, invited_by, created_at, expires_at) VALUES ('i1', 't1', $1, 'eh2', 'admin', 'a1', $2, $2)`, []any{sealed, now}},
		} {
			if err := exec(st.q, st.args...); err != nil {
				t.Fatalf("%s: %v", st.q, err)
			}
		}
		if err := exec(`INSERT INTO admins (id, name, email_cipher, email_hash, password_hash, role, created_at) VALUES ('a2', 'Sal', $1, 'eh3', 'ph', 'sender', $2)`,
			[]byte("sealed"), now); err == nil {
			t.Fatal("a sender was stored before the migration that allows it")
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		for table, want := range map[string]int{"admins": 1, "web_sessions": 1, "refresh_tokens": 1, "invitations": 1} {
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil || n != want {
				t.Fatalf("%s: %d rows, %v; want %d", table, n, err, want)
			}
		}
		var lang string
		if err := db.QueryRowContext(ctx, `SELECT language FROM admins WHERE id = 'a1'`).Scan(&lang); err != nil || lang != "es" {
			t.Fatalf("the admin's language after the rebuild: %q, %v", lang, err)
		}
		if err := exec(`INSERT INTO admins (id, name, email_cipher, email_hash, password_hash, role, created_at) VALUES ('a2', 'Sal', $1, 'eh3', 'ph', 'sender', $2)`,
			[]byte("sealed"), now); err != nil {
			t.Fatalf("a sender after the migration: %v", err)
		}
		if err := exec(`INSERT INTO invitations (id, token_hash, email_cipher, email_hash, role, invited_by, created_at, expires_at) VALUES ('i2', 't2', $1, 'eh4', 'boss', 'a1', $2, $2)`,
			[]byte("sealed"), now); err == nil {
			t.Fatal("an invitation with an unknown role was stored")
		}
		if err := exec(`INSERT INTO web_sessions (id_hash, admin_id, password_mark, created_at, last_seen_at, expires_at) VALUES ('s2', 'nobody', 'm', $1, $1, $1)`, now); err == nil {
			t.Fatal("a session of no admin was accepted: foreign keys are off")
		}
		if err := exec(`DELETE FROM admins WHERE id = 'a1'`); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM web_sessions`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("sessions of a removed admin: %d, %v; want cascaded away", n, err)
		}
	})
}
