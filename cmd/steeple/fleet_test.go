package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/tenancy"
)

// fleet move-to-postgres from the command line: two SQLite churches move,
// progress goes to stderr, the report to stdout; a second run copies
// nothing; keys that differ from the SQLite side's and a registry holding
// another deployment's churches are refused.
func TestFleetMoveToPostgres(t *testing.T) {
	src := testkit.SQLite(t)
	useBackend(t, src)
	dataDir := src.DataDir()
	code, keys, errOut := runCLI(t, "keys", "generate")
	if code != 0 || os.WriteFile(filepath.Join(dataDir, "keys.json"), []byte(keys), 0o600) != nil {
		t.Fatalf("keys generate: %d %s", code, errOut)
	}
	for _, name := range []string{"Grace Chapel", "First Baptist"} {
		if code, _, errOut := runCLI(t, "tenants", "create", "--name", name, "--timezone", "America/Chicago"); code != 0 {
			t.Fatalf("create %s: %d %s", name, code, errOut)
		}
	}
	// A closed church in its grace period moves too, still restorable.
	if code, _, errOut := runCLI(t, "tenants", "delete", "first-baptist"); code != 0 {
		t.Fatalf("delete: %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "fleet", "move-to-postgres"); code != 2 || !strings.Contains(errOut, "STEEPLE_DATABASE_URL") {
		t.Fatalf("without PostgreSQL: exit %d, %s", code, errOut)
	}

	pg := testkit.Postgres(t)
	t.Setenv("STEEPLE_DATABASE_URL", pg.RegistryURL())
	t.Setenv("STEEPLE_TENANT_SERVERS", strings.Join(pg.Servers(), ","))
	other := filepath.Join(t.TempDir(), "other-keys.json")
	_, otherKeys, _ := runCLI(t, "keys", "generate")
	if err := os.WriteFile(other, []byte(otherKeys), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("STEEPLE_KEYS_FILE", other)
	if code, _, errOut := runCLI(t, "fleet", "move-to-postgres"); code != 1 || !strings.Contains(errOut, "does not hold the same keys") {
		t.Fatalf("with other keys: exit %d, %s", code, errOut)
	}
	os.Unsetenv("STEEPLE_KEYS_FILE")

	code, out, errOut := runCLI(t, "fleet", "move-to-postgres", "--json", "--parallel", "2")
	if code != 0 {
		t.Fatalf("move: exit %d: %s", code, errOut)
	}
	var rep tenancy.MoveReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	if rep.Moved != 2 || !rep.RegistryCopied || len(rep.Churches) != 2 || rep.Churches[0].Tables < 10 {
		t.Fatalf("report %+v", rep)
	}
	if !strings.Contains(errOut, "[2/2] moved") {
		t.Errorf("progress on stderr: %q", errOut)
	}
	code, out, errOut = runCLI(t, "fleet", "move-to-postgres")
	if code != 0 || !strings.Contains(out, "nothing copied again") || !strings.Contains(out, "STEEPLE_KEYS_FILE="+filepath.Join(dataDir, "keys.json")) {
		t.Fatalf("second run: exit %d\n%s\n%s", code, out, errOut)
	}

	t.Setenv("STEEPLE_KEYS_FILE", filepath.Join(dataDir, "keys.json"))
	if code, out, errOut := runCLI(t, "migrate"); code != 0 || !strings.Contains(out, "2 already current") {
		t.Fatalf("migrate after the move: %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "tenants", "list", "--json")
	var listed []steeple.Tenant
	if code != 0 || json.Unmarshal([]byte(out), &listed) != nil || len(listed) != 2 {
		t.Fatalf("tenants list on PostgreSQL: %d %q %s", code, out, errOut)
	}
	for _, tn := range listed {
		want := map[string]steeple.TenantStatus{"grace-chapel": steeple.TenantActive, "first-baptist": steeple.TenantDeleting}[tn.Slug]
		if tn.Backend != steeple.BackendPostgres || tn.Status != want || !strings.HasPrefix(tn.DatabaseName, "steeple_t_") {
			t.Errorf("moved church %+v", tn)
		}
	}
	if code, _, errOut := runCLI(t, "tenants", "restore", "first-baptist"); code != 0 {
		t.Errorf("restoring the closed church on PostgreSQL: %d %s", code, errOut)
	}

	// Another PostgreSQL registry that already serves a church of its own is refused.
	foreign := testkit.Postgres(t)
	t.Setenv("STEEPLE_DATABASE_URL", foreign.RegistryURL())
	if code, _, errOut := runCLI(t, "tenants", "create", "--name", "Elsewhere", "--timezone", "America/Chicago"); code != 0 {
		t.Fatalf("create on the other registry: %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "fleet", "move-to-postgres"); code != 1 || !strings.Contains(errOut, "already holds church") {
		t.Fatalf("into another deployment's registry: exit %d, %s", code, errOut)
	}
}

func TestFleetHelp(t *testing.T) {
	for args, want := range map[string]string{"fleet": "move-to-postgres", "fleet move-to-postgres": "-parallel"} {
		code, out, errOut := runCLI(t, append(strings.Fields(args), "--help")...)
		if help := out + errOut; code != 0 || !strings.Contains(help, want) || strings.Contains(help, "-telnyx-api-key") {
			t.Errorf("steeple %s --help: exit %d:\n%s", args, code, help)
		}
	}
}
