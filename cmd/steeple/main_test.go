package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	_ "modernc.org/sqlite"
)

// useBackend points the STEEPLE_* environment at the test backend.
func useBackend(t *testing.T, b *testkit.Backend) {
	if b.Postgres() {
		t.Setenv("STEEPLE_DATABASE_URL", b.RegistryURL())
		t.Setenv("STEEPLE_TENANT_SERVERS", strings.Join(b.Servers(), ","))
		keys := filepath.Join(t.TempDir(), "keys.json")
		if code, out, errOut := runCLI(t, "keys", "generate"); code != 0 || os.WriteFile(keys, []byte(out), 0o600) != nil {
			t.Fatalf("keys generate: %d %s", code, errOut)
		}
		t.Setenv("STEEPLE_KEYS_FILE", keys)
	} else {
		t.Setenv("STEEPLE_DATA_DIR", b.DataDir())
	}
	t.Setenv("STEEPLE_LOG_LEVEL", "warn")
}

// steeple runs the binary's entry point and returns exit code and stdout.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestTenantsCommands(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		useBackend(t, b)
		code, out, errOut := runCLI(t, "tenants", "create", "--name", "Grace Chapel", "--timezone", "America/Chicago", "--json")
		if code != 0 {
			t.Fatalf("create: exit %d: %s", code, errOut)
		}
		var created steeple.Tenant
		if err := json.Unmarshal([]byte(out), &created); err != nil {
			t.Fatalf("create --json output %q: %v", out, err)
		}
		if created.Status != steeple.TenantActive || created.Slug != "grace-chapel" || created.SchemaVersion < 1 {
			t.Fatalf("created %+v", created)
		}
		if code, _, errOut = runCLI(t, "tenants", "suspend", "grace-chapel"); code != 0 {
			t.Fatalf("suspend: %d %s", code, errOut)
		}
		code, out, _ = runCLI(t, "tenants", "show", created.ID, "--json")
		var shown steeple.Tenant
		if code != 0 || json.Unmarshal([]byte(out), &shown) != nil || shown.Status != steeple.TenantSuspended {
			t.Fatalf("show after suspend: %d %q", code, out)
		}
		if code, _, errOut = runCLI(t, "tenants", "suspend", created.ID); code != 0 {
			t.Fatalf("suspending twice should be a no-op, got %d %s", code, errOut)
		}
		if code, _, _ = runCLI(t, "tenants", "resume", created.ID); code != 0 {
			t.Fatal("resume failed")
		}
		code, out, _ = runCLI(t, "tenants", "list", "--json", "--status", "active")
		var list []steeple.Tenant
		if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0].ID != created.ID {
			t.Fatalf("list: %d %q", code, out)
		}
		code, _, errOut = runCLI(t, "tenants", "create", "--name", "Bad Zone", "--timezone", "Mars/Olympus")
		if code != 1 || !strings.Contains(errOut, "Mars/Olympus") {
			t.Fatalf("bad timezone: exit %d, %q", code, errOut)
		}
		if code, _, errOut = runCLI(t, "tenants", "show", "no-such-church"); code != 1 || !strings.Contains(errOut, "not found") {
			t.Fatalf("unknown church: exit %d, %q", code, errOut)
		}
		if code, _, _ = runCLI(t, "tenants", "frobnicate"); code != 2 {
			t.Fatalf("unknown subcommand: exit %d, want 2", code)
		}
		code, out, _ = runCLI(t, "migrate", "--json")
		if code != 0 || !strings.Contains(out, `"current": 1`) {
			t.Fatalf("no-op migrate: exit %d, %s", code, out)
		}
	})
}

func TestServeProbesAndShutdown(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		useBackend(t, b)
		addr := freeAddr(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- runServe(ctx, []string{"--addr", addr}, io.Discard, io.Discard) }()
		base := "http://" + addr
		waitFor(t, base+"/healthz")
		for path, want := range map[string]string{
			"/healthz": `"status":"ok"`,
			"/readyz":  `"registry":"ok"`,
			"/metrics": "steeple_tenant_conns_budget",
		} {
			code, body := get(t, base+path)
			if code != 200 || !strings.Contains(body, want) {
				t.Errorf("GET %s = %d %q; want 200 containing %q", path, code, body, want)
			}
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("serve returned %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not shut down")
		}
		if _, err := http.Get(base + "/healthz"); err == nil {
			t.Fatal("still serving after shutdown")
		}
	})
}

func TestServeRefusesRegistryBehind(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		useBackend(t, b)
		if code, _, errOut := runCLI(t, "migrate"); code != 0 {
			t.Fatalf("migrate: %s", errOut)
		}
		// Take back the job queue's newest migration record: the registry is now behind.
		db := openRegistryDB(t, b)
		if _, err := db.Exec(`DELETE FROM river_migration WHERE version = (SELECT MAX(version) FROM river_migration)`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		code, _, errOut := runCLI(t, "serve", "--addr", freeAddr(t))
		if code != 1 || !strings.Contains(errOut, "steeple migrate") {
			t.Fatalf("serve with registry behind: exit %d, %q", code, errOut)
		}
		if code, _, errOut = runCLI(t, "migrate"); code != 0 {
			t.Fatalf("migrate: %s", errOut)
		}
	})
}

func TestStartupErrorsNameTheCause(t *testing.T) {
	t.Setenv("STEEPLE_LOG_LEVEL", "warn")
	t.Setenv("STEEPLE_DATABASE_URL", "postgres://postgres@127.0.0.1:1/steeple?connect_timeout=2")
	t.Setenv("STEEPLE_KEYS_FILE", "/nonexistent/keys.json") // read only once connected
	code, _, errOut := runCLI(t, "tenants", "list")
	if code != 1 || !strings.Contains(errOut, "127.0.0.1:1") {
		t.Fatalf("unreachable registry: exit %d, %q", code, errOut)
	}
	t.Setenv("STEEPLE_DATABASE_URL", "")
	t.Setenv("STEEPLE_DB_MAX_CONNS", "lots")
	code, _, errOut = runCLI(t, "tenants", "list")
	if code != 1 || !strings.Contains(errOut, "STEEPLE_DB_MAX_CONNS") {
		t.Fatalf("bad setting: exit %d, %q", code, errOut)
	}
	t.Setenv("STEEPLE_DB_MAX_CONNS", "20")
	code, _, errOut = runCLI(t, "serve", "--db-max-conns-per-tenant", "50")
	if code != 1 || !strings.Contains(errOut, "STEEPLE_DB_MAX_CONNS_PER_TENANT") {
		t.Fatalf("bad flag value: exit %d, %q", code, errOut)
	}
}

func TestUnreachableTenantServerNamed(t *testing.T) {
	b := testkit.Postgres(t)
	useBackend(t, b)
	t.Setenv("STEEPLE_TENANT_SERVERS", b.Servers()[0]+",postgres://postgres@127.0.0.1:2/postgres?connect_timeout=2")
	code, _, errOut := runCLI(t, "tenants", "list")
	if code != 1 || !strings.Contains(errOut, "127.0.0.1:2") {
		t.Fatalf("unreachable tenant server: exit %d, %q", code, errOut)
	}
}

func openRegistryDB(t *testing.T, b *testkit.Backend) *sql.DB {
	var db *sql.DB
	var err error
	if b.Postgres() {
		db, err = sql.Open("pgx", b.RegistryURL())
	} else {
		db, err = sql.Open("sqlite", b.DataDir()+"/registry.db")
	}
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitFor(t *testing.T, url string) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never answered", url)
}

func get(t *testing.T, url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
