package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
)

// Migration 00015 folds the accents out of earlier members' name keys (so
// "zoe" finds a Zoë entered before it) and keeps their consent as it was.
func TestMemberSearchMigrationFoldsNameKeys(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		ctx := context.Background()
		db, backend := migrationDB(t, b)
		p, err := goose.NewProvider(dialect(backend), db, store.Schema().For(backend), goose.WithDisableGlobalRegistry(true))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.UpTo(ctx, 12); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		if _, err := db.ExecContext(ctx, `INSERT INTO members (id, first_name, last_name, name_key, phone_cipher, phone_hash,
			consent_status, consent_source, consent_at, created_at, updated_at)
			VALUES ('m1', 'Zoë', 'Muñoz', 'zoë muñoz', $1, 'hash-1', 'opted_in', 'keyword', $2, $2, $2)`, []byte("sealed"), now); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		var key, source, method string
		if err := db.QueryRowContext(ctx, `SELECT name_key, consent_source, consent_method FROM members WHERE id = 'm1'`).Scan(&key, &source, &method); err != nil {
			t.Fatal(err)
		}
		if key != store.FoldName("Zoë Muñoz") || key != "zoe munoz" || source != "keyword" || method != "" {
			t.Fatalf("after 00015: key %q, source %q, method %q; want \"zoe munoz\", keyword, none", key, source, method)
		}
	})
}
