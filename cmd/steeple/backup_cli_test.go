package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steeple-sms/steeple/backup"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/schedule"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// TestBackupCommandErrors: bad directories, a damaged backup, a target
// that is not empty and a backup of the other backend are refused with a
// clear message, and nothing is written.
func TestBackupCommandErrors(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		useBackend(t, b)
		if code, _, errOut := runCLI(t, "tenants", "create", "--name", "Grace Chapel", "--timezone", "America/Chicago"); code != 0 {
			t.Fatalf("create: %s", errOut)
		}
		tmp := t.TempDir()
		file := filepath.Join(tmp, "a-file")
		if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{"backup"}, 2, "needs --out DIR"},
			{[]string{"backup", "--out", file}, 1, "backup directory"},
			{[]string{"backup", "--out", tmp}, 1, "is not empty"},
			{[]string{"backup", "--out", filepath.Join(tmp, "x"), "extra"}, 2, "takes no arguments"},
			{[]string{"restore"}, 2, "needs --from DIR"},
			{[]string{"restore", "--from", filepath.Join(tmp, "nowhere")}, 1, "is not a finished backup"},
			{[]string{"backup", "verify", "--from", tmp}, 1, "is not a finished backup"},
		} {
			code, out, errOut := runCLI(t, c.args...)
			if code != c.code || !strings.Contains(out+errOut, c.want) {
				t.Errorf("steeple %q: exit %d %s%s; want exit %d saying %q", c.args, code, out, errOut, c.code, c.want)
			}
		}

		dir := filepath.Join(tmp, "backup")
		if code, _, errOut := runCLI(t, "backup", "--out", dir); code != 0 {
			t.Fatalf("backup: %s", errOut)
		}
		// Restoring onto the deployment it came from: refused, nothing changed.
		code, _, errOut := runCLI(t, "restore", "--from", dir)
		if code != 1 || !strings.Contains(errOut, "restore only onto") {
			t.Errorf("restore onto a non-empty target: exit %d %s", code, errOut)
		}
		if code, out, _ := runCLI(t, "tenants", "list", "--json"); code != 0 || !strings.Contains(out, "grace-chapel") {
			t.Errorf("after a refused restore: %d %s", code, out)
		}

		// A backup of the other backend is refused before anything is read.
		other := filepath.Join(tmp, "other")
		otherBackend := map[bool]string{true: "sqlite", false: "postgres"}[b.Postgres()]
		if err := os.MkdirAll(other, 0o700); err != nil {
			t.Fatal(err)
		}
		manifest := `{"format": 1, "id": "x", "backend": "` + otherBackend + `", "registry": {"file": "registry.db"}, "churches": []}`
		if err := os.WriteFile(filepath.Join(other, backup.ManifestName), []byte(manifest), 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, errOut = runCLI(t, "restore", "--from", other)
		if code != 1 || !strings.Contains(errOut, "taken on "+otherBackend+" and cannot be restored") {
			t.Errorf("restore of a %s backup: exit %d %s", otherBackend, code, errOut)
		}

		// A backup from a newer release is refused.
		manifest = `{"format": 1, "id": "x", "backend": "` + b.Name + `", "registry": {"file": "registry.db", "schema_version": 9999}, "churches": []}`
		if err := os.WriteFile(filepath.Join(other, backup.ManifestName), []byte(manifest), 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, errOut = runCLI(t, "restore", "--from", other)
		if code != 1 || !strings.Contains(errOut, "newer than this steeple knows") {
			t.Errorf("restore of a backup from a newer release: exit %d %s", code, errOut)
		}

		// A damaged file: verify names it, restore refuses before writing.
		m, err := backup.ReadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		damaged := filepath.Join(dir, m.Churches[0].Name)
		good, err := os.ReadFile(damaged)
		if err != nil {
			t.Fatal(err)
		}
		bad := append([]byte{}, good...)
		bad[len(bad)/2] ^= 0xff
		if err := os.WriteFile(damaged, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, _ := runCLI(t, "backup", "verify", "--from", dir, "--json")
		var rep backup.VerifyReport
		if code != 1 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], m.Churches[0].Name) {
			t.Errorf("verify of a damaged backup: exit %d %s", code, out)
		}
		b2 := freshBackend(t, b)
		useBackend(t, b2)
		code, _, errOut = runCLI(t, "restore", "--from", dir)
		if code != 1 || !strings.Contains(errOut, "checksum differs") || !strings.Contains(errOut, "nothing was restored") {
			t.Errorf("restore of a damaged backup: exit %d %s", code, errOut)
		}
		if b2.Postgres() {
			// nothing created: the registry database is as the kit made it, empty
			if n := countTables(t, b2.RegistryURL()); n != 0 {
				t.Errorf("a refused restore wrote %d tables", n)
			}
		} else if _, err := os.Stat(tenancy.RegistryPath(b2.DataDir())); err == nil {
			t.Error("a refused restore wrote a registry")
		}

		// An active church whose database cannot be read fails the backup,
		// which says its directory is not a backup.
		useBackend(t, b)
		if b.Postgres() {
			dropChurchDatabases(t, b, *m)
		} else if err := os.Remove(filepath.Join(b.DataDir(), "tenants", m.Churches[0].Database)); err != nil {
			t.Fatal(err)
		}
		failed := filepath.Join(tmp, "failed")
		code, _, errOut = runCLI(t, "backup", "--out", failed)
		if code != 1 || !strings.Contains(errOut, "church "+m.Churches[0].ID) || !strings.Contains(errOut, "unfinished backup") {
			t.Errorf("backup with a church database missing: exit %d %s", code, errOut)
		}
		if _, err := backup.ReadManifest(failed); err == nil {
			t.Error("a failed backup wrote a manifest")
		}
	})
}

// TestRestoreResumes: a restore interrupted after the registry (the
// progress table says so, and a church's database is half written) is
// finished by running it again.
func TestRestoreResumes(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		useBackend(t, b)
		for _, name := range []string{"Grace Chapel", "Hope Church"} {
			if code, _, errOut := runCLI(t, "tenants", "create", "--name", name, "--timezone", "America/Chicago"); code != 0 {
				t.Fatalf("create: %s", errOut)
			}
		}
		dir, m, b2 := backupAndRestore(t, b)
		// Put the target back in the state of a restore that died while
		// writing the second church.
		reg := openSQL(t, b2)
		exec := func(q string, args ...any) {
			if _, err := reg.Exec(q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec(`CREATE TABLE steeple_restore (item TEXT PRIMARY KEY, backup_id TEXT NOT NULL)`)
		exec(`INSERT INTO steeple_restore VALUES ('backup', $1), ('registry', $1), ($2, $1)`, m.ID, m.Churches[0].ID)
		half := m.Churches[1]
		if b2.Postgres() {
			cfg, err := pgx.ParseConfig(b2.Servers()[0])
			if err != nil {
				t.Fatal(err)
			}
			cfg.Database = half.Database
			conn, err := pgx.ConnectConfig(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Exec(context.Background(), `DELETE FROM members; DROP TABLE admins CASCADE`); err != nil {
				t.Fatal(err)
			}
			conn.Close(context.Background())
		} else if err := os.WriteFile(filepath.Join(b2.DataDir(), "tenants", half.Database), []byte("half a file"), 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := runCLI(t, "tenants", "list")
		if code != 1 || !strings.Contains(errOut, "has not finished") {
			t.Errorf("a command on a half-restored registry: exit %d %s", code, errOut)
		}
		code, out, errOut := runCLI(t, "restore", "--from", dir, "--json")
		var rep backup.RestoreReport
		if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || !rep.Resumed || rep.Restored != 1 {
			t.Fatalf("resumed restore: exit %d %s %s", code, out, errOut)
		}
		if progressTableExists(t, reg, b2) {
			t.Error("the progress table outlived the restore")
		}
		for _, c := range m.Churches {
			code, out, errOut := runCLI(t, "tenants", "show", c.ID, "--json")
			if code != 0 || strings.Contains(out, "database_unavailable") || !strings.Contains(out, `"admins"`) {
				t.Errorf("church %s after the resumed restore: %d %s %s", c.ID, code, out, errOut)
			}
		}
	})
}

// backupAndRestore backs up the deployment on b (the environment points at
// it), removes its church databases on PostgreSQL (they would clash by name),
// and restores onto a fresh, empty deployment, at which the environment
// then points.
func backupAndRestore(t *testing.T, b *testkit.Backend) (string, *backup.Manifest, *testkit.Backend) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "backup")
	if code, _, errOut := runCLI(t, "backup", "--out", dir); code != 0 {
		t.Fatalf("backup: %s", errOut)
	}
	m, err := backup.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if b.Postgres() {
		dropChurchDatabases(t, b, *m)
	}
	b2 := freshBackend(t, b)
	useBackend(t, b2)
	if code, _, errOut := runCLI(t, "restore", "--from", dir); code != 0 {
		t.Fatalf("restore: %s", errOut)
	}
	return dir, m, b2
}

// freshBackend is an empty deployment on b's backend (on PostgreSQL, a new
// empty registry database on the same servers).
func freshBackend(t *testing.T, b *testkit.Backend) *testkit.Backend {
	if b.Postgres() {
		return testkit.Postgres(t)
	}
	return testkit.SQLite(t)
}

func openSQL(t *testing.T, b *testkit.Backend) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if b.Postgres() {
		db, err = sql.Open("pgx", b.RegistryURL())
	} else {
		db, err = sql.Open("sqlite", tenancy.SQLiteDSN(tenancy.RegistryPath(b.DataDir()), "rw"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func countTables(t *testing.T, url string) int {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func progressTableExists(t *testing.T, db *sql.DB, b *testkit.Backend) bool {
	t.Helper()
	q := `SELECT count(*) FROM pg_tables WHERE tablename = 'steeple_restore'`
	if !b.Postgres() {
		q = `SELECT count(*) FROM sqlite_master WHERE name = 'steeple_restore'`
	}
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// TestRestoreRebuildsRegistryIndexes: a church copied after the registry
// may have an admin or a schedule the registry's copy does not know. The
// restore rebuilds the login index and the schedules' due times from the
// church, so the admin signs in and the schedule fires.
func TestRestoreRebuildsRegistryIndexes(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		ctx := context.Background()
		s := testkit.NewServer(t, b)
		c := s.Church(t, testkit.ChurchOptions{Name: "Index Chapel", Number: "+13125550420", Members: 3, QuietHoursOff: true})
		s.WithHandle(t, c.ID, func(h *tenancy.Handle) {
			admins, err := s.Store.Admins(ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			msg := schedule.Message{BroadcastRequest: messaging.BroadcastRequest{Text: "Picnic on Saturday", Audience: store.Audience{All: true}}}
			if _, err := s.Schedules.ScheduleBroadcast(ctx, h, &admins[0], msg, time.Now().Add(48*time.Hour)); err != nil {
				t.Fatal(err)
			}
		})
		const dueQuery = `SELECT count(*) FROM schedule_due WHERE tenant_id = $1`
		if n := s.RegistryCount(t, dueQuery, c.ID); n != 1 {
			t.Fatalf("%d schedule_due rows before the backup", n)
		}
		useBackend(t, b)
		dir, m, b2 := backupAndRestore(t, b)
		// As if the registry had been copied before the owner joined and
		// the schedule was made: a restore stopped after its copies.
		reg := openSQL(t, b2)
		for _, q := range []string{`DELETE FROM login_index`, `DELETE FROM schedule_due`,
			`CREATE TABLE steeple_restore (item TEXT PRIMARY KEY, backup_id TEXT NOT NULL)`} {
			if _, err := reg.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		for _, item := range []string{"backup", "registry", m.Churches[0].ID} {
			if _, err := reg.Exec(`INSERT INTO steeple_restore VALUES ($1, $2)`, item, m.ID); err != nil {
				t.Fatal(err)
			}
		}
		if code, out, errOut := runCLI(t, "restore", "--from", dir); code != 0 || !strings.Contains(out, "resumed") {
			t.Fatalf("resumed restore: %d %s %s", code, out, errOut)
		}
		s2 := testkit.NewServer(t, b2, testkit.ServerOptions{Keys: &s.KeysFile})
		if n := s2.RegistryCount(t, dueQuery, c.ID); n != 1 {
			t.Errorf("%d schedule_due rows after the restore, want 1", n)
		}
		c.Relogin(t, s2) // fails the test unless the login index has the owner
	})
}

// TestBackupSkipsChurchesWithoutDatabase: a church still provisioning is
// not copied, and one whose database went away while it was being deleted
// does not fail the backup; the restore marks it deleting.
func TestBackupSkipsChurchesWithoutDatabase(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		useBackend(t, b)
		ids := map[string]string{}
		for _, name := range []string{"Grace Chapel", "Hope Church", "Faith Hall"} {
			code, out, errOut := runCLI(t, "tenants", "create", "--name", name, "--timezone", "America/Chicago", "--json")
			var created struct {
				ID           string `json:"id"`
				DatabaseName string `json:"database_name"`
			}
			if code != 0 || json.Unmarshal([]byte(out), &created) != nil {
				t.Fatalf("create: %s", errOut)
			}
			ids[name], ids[name+" db"] = created.ID, created.DatabaseName
		}
		reg := openSQL(t, b)
		if _, err := reg.Exec(`UPDATE tenants SET status = 'provisioning' WHERE id = $1`, ids["Hope Church"]); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.Exec(`UPDATE tenants SET status = 'deleting' WHERE id = $1`, ids["Faith Hall"]); err != nil {
			t.Fatal(err)
		}
		if b.Postgres() {
			dropChurchDatabases(t, b, backup.Manifest{Churches: []backup.Church{{Database: ids["Faith Hall db"]}}})
		} else if err := os.Remove(filepath.Join(b.DataDir(), "tenants", ids["Faith Hall db"])); err != nil {
			t.Fatal(err)
		}
		dir, m, b2 := backupAndRestore(t, b)
		if len(m.Churches) != 1 || m.Churches[0].ID != ids["Grace Chapel"] || len(m.Skipped) != 2 {
			t.Fatalf("manifest of %s: churches %+v, skipped %+v", dir, m.Churches, m.Skipped)
		}
		code, out, errOut := runCLI(t, "tenants", "list", "--json")
		var list []struct{ ID, Status string }
		if code != 0 || json.Unmarshal([]byte(out), &list) != nil {
			t.Fatalf("list after restore: %d %s", code, errOut)
		}
		got := map[string]string{}
		for _, r := range list {
			got[r.ID] = r.Status
		}
		want := map[string]string{ids["Grace Chapel"]: "active", ids["Hope Church"]: "provisioning", ids["Faith Hall"]: "deleting"}
		for id, st := range want {
			if got[id] != st {
				t.Errorf("church %s restored as %q, want %q (%s)", id, got[id], st, b2.Name)
			}
		}
	})
}
