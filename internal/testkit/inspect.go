package testkit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// ServerRefs returns the registry's reference (host:port) of each PostgreSQL
// tenant server, in the order of Servers.
func (b *Backend) ServerRefs() []string {
	out := make([]string, len(b.servers))
	for i, u := range b.servers {
		out[i] = serverRef(u)
	}
	return out
}

// ServerURL returns the URL of the tenant server the registry calls ref.
func (b *Backend) ServerURL(t testing.TB, ref string) string {
	t.Helper()
	for _, u := range b.servers {
		if serverRef(u) == ref {
			return u
		}
	}
	t.Fatalf("no test server has reference %q (servers: %v)", ref, b.ServerRefs())
	return ""
}

// TenantsDir is where SQLite tenant files live ("" on PostgreSQL).
func (b *Backend) TenantsDir() string {
	if b.dataDir == "" {
		return ""
	}
	return filepath.Join(b.dataDir, "tenants")
}

// DatabaseExists looks, from outside Steeple, for what provisioning creates
// for tn: on SQLite its file or one of its -wal/-shm companions, on
// PostgreSQL a database of its name on the server it was placed on.
func (b *Backend) DatabaseExists(t testing.TB, tn *steeple.Tenant) bool {
	t.Helper()
	if !b.Postgres() {
		p := filepath.Join(b.TenantsDir(), tn.DatabaseName)
		for _, f := range []string{p, p + "-wal", p + "-shm", p + "-journal"} {
			if _, err := os.Stat(f); err == nil {
				return true
			} else if !os.IsNotExist(err) {
				t.Fatalf("stat %s: %v", f, err)
			}
		}
		return false
	}
	var exists bool
	QueryServer(t, b.ServerURL(t, tn.Server), func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, tn.DatabaseName).Scan(&exists)
	})
	return exists
}

// QueryServer runs fn on a short-lived connection to a server's maintenance
// database, outside Steeple (its application_name is not the test's AppName).
func QueryServer(t testing.TB, url string, fn func(ctx context.Context, c *pgx.Conn) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer conn.Close(ctx)
	if err := fn(ctx, conn); err != nil {
		t.Fatalf("query server %s: %v", serverRef(url), err)
	}
}

// serverRef names a server as tenancy does: host:port.
func serverRef(url string) string {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)
}

// HoldConnections acquires a church's handles up to its pool's cap (each
// given time to open on a loaded machine) or until no more comes, so that
// the church has no connection free. It returns them (to work with one
// meanwhile) and what releases them, which may be called more than once.
func (s *Server) HoldConnections(t testing.TB, tenantID string) (held []*tenancy.Handle, release func()) {
	t.Helper()
	for len(held) < s.perTenant {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		h, err := s.Tenancy.Manager.Acquire(ctx, tenantID)
		cancel()
		if err != nil {
			break
		}
		held = append(held, h)
	}
	if len(held) == 0 {
		t.Fatal("no connection of the church could be held")
	}
	var once sync.Once
	return held, func() {
		once.Do(func() {
			for _, h := range held {
				h.Release()
			}
		})
	}
}
