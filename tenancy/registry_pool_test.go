package tenancy_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// On PostgreSQL a process opens at most STEEPLE_REGISTRY_MAX_CONNS
// registry connections, the job queue's included: River's listener takes
// one out of the pool for good (the pool would then open another), so the
// pool is one smaller. Seen from pg_stat_activity while a running server's
// registry is kept busy.
func TestRegistryConnectionsWithinSetting(t *testing.T) {
	t.Parallel()
	b := testkit.Postgres(t)
	s := testkit.NewServer(t, b)
	const setting = 5 // testkit's RegistryMaxConns
	db := s.Tenancy.Registry.DB()
	ctx := context.Background()
	var name string
	if err := db.QueryRowContext(ctx, `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("pgx", b.RegistryURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	admin.SetMaxOpenConns(1)

	// The bug this guards against needs the listener connected.
	testkit.WaitUntil(t, 10*time.Second, func() bool {
		var n int
		err := admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND query ILIKE 'listen%'`,
			name).Scan(&n)
		return err == nil && n > 0
	}, "the job queue's listener to connect")
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				if _, err := db.ExecContext(ctx, `SELECT pg_sleep(0.03)`); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	peak := 0
	for sampling := true; sampling; {
		select {
		case <-done:
			sampling = false
		case <-time.After(5 * time.Millisecond):
		}
		var n int
		// The sampling connection is the admin pool's, not the server's.
		if err := admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
			name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		peak = max(peak, n)
	}
	if peak < setting-1 {
		t.Fatalf("peak of %d registry connections: the load did not fill the pool", peak)
	}
	if peak > setting {
		t.Fatalf("peak of %d registry connections; the setting is %d", peak, setting)
	}
}
