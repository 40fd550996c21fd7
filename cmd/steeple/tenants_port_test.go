package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
	"github.com/steeple-sms/steeple/tenancy"
)

// useServerBackend points the STEEPLE_* environment at a test server's
// backend and keys, as an operator on that deployment would.
func useServerBackend(t *testing.T, s *testkit.Server) {
	b := s.Backend
	if b.Postgres() {
		t.Setenv("STEEPLE_DATABASE_URL", b.RegistryURL())
		t.Setenv("STEEPLE_TENANT_SERVERS", strings.Join(b.Servers(), ","))
		t.Setenv("STEEPLE_DATA_DIR", "")
	} else {
		t.Setenv("STEEPLE_DATABASE_URL", "")
		t.Setenv("STEEPLE_TENANT_SERVERS", "")
		t.Setenv("STEEPLE_DATA_DIR", b.DataDir())
	}
	kb, err := json.Marshal(s.KeysFile)
	if err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(keys, kb, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("STEEPLE_KEYS_FILE", keys)
	t.Setenv("STEEPLE_LOG_LEVEL", "warn")
}

// fillChurch gives a church one of everything an archive carries.
func fillChurch(t *testing.T, s *testkit.Server) *testkit.Church {
	ctx := context.Background()
	c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100", Members: 3, QuietHoursOff: true})
	api := c.API(s)
	zoe := api.CreateMember(t, "Zoë", "+13125550177")
	api.Call(t, "PATCH", "/api/v1/members/"+zoe, map[string]any{"email": "zoe@example.org"}, http.StatusOK, nil)
	var g struct{ ID string }
	api.Call(t, "POST", "/api/v1/groups", map[string]any{"name": "Choir"}, http.StatusCreated, &g)
	api.Call(t, "POST", "/api/v1/groups/"+g.ID+"/members", map[string]any{"member_ids": []string{zoe, c.MemberIDs[0]}}, http.StatusNoContent, nil)
	api.Call(t, "POST", "/api/v1/templates", map[string]any{"name": "Reminder", "body": "Hi {first_name}, see you Sunday!"}, http.StatusCreated, nil)
	api.Call(t, "POST", "/api/v1/keywords", map[string]any{"word": "Choir", "group_id": g.ID, "reply": "Welcome to the choir!"}, http.StatusCreated, nil)
	api.Broadcast(t, map[string]any{"text": "Potluck on Sunday", "audience": map[string]any{"all": true},
		"send_at": s.Clock.Now().Add(48 * time.Hour).Format(time.RFC3339)})
	id := api.BroadcastAll(t, "Service at 10, see you there")
	testkit.Eventually(t, 30*time.Second, func() string {
		if v := api.GetBroadcast(t, id); v.Message.Counts[steeple.RecipientQueued]+v.Message.Counts[steeple.RecipientSending] > 0 {
			return "broadcast still sending"
		}
		return ""
	})
	if err := s.Sim.Inbound(ctx, telnyxsim.InboundMessage{From: "+13125550177", To: c.Number, Text: "Thank you, see you ñ Sunday",
		WebhookURL: s.URL + "/webhooks/telnyx"}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 30*time.Second, func() string {
		if len(api.Conversations(t, "")) == 0 {
			return "no conversation yet"
		}
		return ""
	})
	s.WithHandle(t, c.ID, func(h *tenancy.Handle) {
		if err := s.Store.CreateMedia(ctx, h, &store.Upload{ContentType: "image/png", Width: 1, Height: 1, Data: []byte("\x89PNG fake"), CreatedBy: "x"}); err != nil {
			t.Fatal(err)
		}
	})
	return c
}

// archiveTables reads every table file of an archive as sorted, normalised
// JSON lines (times to microseconds: PostgreSQL keeps no more).
func archiveTables(t *testing.T, file string) (map[string][]string, *store.ArchiveManifest, map[string][]byte) {
	zr, err := zip.OpenReader(file)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	tables, media := map[string][]string{}, map[string][]byte{}
	var m store.ArchiveManifest
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		switch {
		case f.Name == "manifest.json":
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(f.Name, "media/"):
			media[f.Name] = b
		case strings.HasPrefix(f.Name, "tables/"):
			name := strings.TrimSuffix(strings.TrimPrefix(f.Name, "tables/"), ".jsonl")
			var lines []string
			for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
				if len(l) == 0 {
					continue
				}
				var row map[string]any
				if err := json.Unmarshal(l, &row); err != nil {
					t.Fatalf("%s: %v", f.Name, err)
				}
				for k, v := range row {
					if s, ok := v.(string); ok {
						if tm, err := time.Parse(time.RFC3339Nano, s); err == nil {
							row[k] = tm.Truncate(time.Microsecond).Format(time.RFC3339Nano)
						}
					}
				}
				n, _ := json.Marshal(row)
				lines = append(lines, string(n))
			}
			slices.Sort(lines)
			tables[name] = lines
		}
	}
	return tables, &m, media
}

// A church exported on one backend and imported on the other comes back
// with the same rows in every table, its personal data sealed again with the
// other deployment's keys; an export of the import equals the first.
func TestExportImportRoundTrip(t *testing.T) {
	for _, dir := range []struct{ name, from string }{{"sqlite_to_postgres", "sqlite"}, {"postgres_to_sqlite", "postgres"}} {
		t.Run(dir.name, func(t *testing.T) {
			sqliteB, pgB := testkit.SQLite(t), testkit.Postgres(t)
			src, dst := sqliteB, pgB
			if dir.from == "postgres" {
				src, dst = pgB, sqliteB
			}
			from := testkit.NewServer(t, src)
			c := fillChurch(t, from)
			out := filepath.Join(t.TempDir(), "grace.zip")
			useServerBackend(t, from)
			code, stdout, errOut := runCLI(t, "tenants", "export", c.ID, "--out", out, "--json")
			if code != 0 {
				t.Fatalf("export: %d %s", code, errOut)
			}
			var rep exportReport
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil || rep.Manifest.Church.ID != c.ID {
				t.Fatalf("export --json: %v %q", err, stdout)
			}
			if info, err := os.Stat(out); err != nil || info.Mode().Perm() != 0o600 {
				t.Fatalf("archive file: %v %v", info, err)
			}
			if code, _, errOut := runCLI(t, "tenants", "export", c.ID, "--out", out); code != 1 || !strings.Contains(errOut, "already exists") {
				t.Fatalf("export over an existing file: %d %s", code, errOut)
			}
			before, m1, media1 := archiveTables(t, out)
			for _, table := range []string{"members", "consent_events", "groups", "group_members", "templates", "keywords",
				"messages", "message_recipients", "conversations", "conversation_messages", "schedules", "admins", "media"} {
				if len(before[table]) == 0 || m1.Tables[table] != int64(len(before[table])) {
					t.Errorf("%s: %d rows in the archive, manifest says %d", table, len(before[table]), m1.Tables[table])
				}
			}
			if len(media1) != 1 {
				t.Errorf("media files: %d", len(media1))
			}
			if raw := strings.Join(before["members"], "\n"); !strings.Contains(raw, `"phone":"+13125550177"`) || !strings.Contains(raw, "zoe@example.org") ||
				strings.Contains(raw, "phone_hash") || strings.Contains(raw, "cipher") {
				t.Errorf("members are not in plain, or carry ciphertext: %s", raw)
			}
			if raw := strings.Join(before["admins"], "\n"); strings.Contains(raw, "argon2id") || strings.Contains(raw, "password") || !strings.Contains(raw, c.Email) {
				t.Errorf("admins: %s", raw)
			}

			to := testkit.NewServer(t, dst)
			useServerBackend(t, to)
			code, stdout, errOut = runCLI(t, "tenants", "import", out, "--name", "Grace Chapel Moved", "--json")
			if code != 0 {
				t.Fatalf("import: %d %s", code, errOut)
			}
			var imp importReport
			if err := json.Unmarshal([]byte(stdout), &imp); err != nil || imp.Tenant.Status != steeple.TenantActive || imp.Tenant.ID == c.ID {
				t.Fatalf("import --json: %v %q", err, stdout)
			}
			if nums, err := to.Tenancy.Registry.ChurchNumbers(context.Background(), imp.Tenant.ID); err != nil || len(nums) != 0 {
				t.Fatalf("imported church has numbers %v (%v)", nums, err)
			}
			// The imported church works: its member is found by phone (blind
			// index recomputed with these keys) and its owner can ask for a reset.
			to.WithHandle(t, imp.Tenant.ID, func(h *tenancy.Handle) {
				m, err := to.Store.MemberByPhone(context.Background(), h, "+13125550177")
				if err != nil || m.FirstName != "Zoë" || m.Email != "zoe@example.org" {
					t.Fatalf("member by phone after import: %+v %v", m, err)
				}
			})
			if entries, err := to.Tenancy.Registry.LoginEntries(context.Background(), to.Store.EmailIndex(c.Email)); err != nil || len(entries) != 1 || entries[0].TenantID != imp.Tenant.ID {
				t.Fatalf("login index: %+v %v", entries, err)
			}
			r := to.Do(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": c.Email, "password": testkit.Password, "tenant_id": imp.Tenant.ID})
			if r.Status == http.StatusOK {
				t.Fatal("the old password still works after import")
			}
			if n := to.RegistryCount(t, `SELECT COUNT(*) FROM schedule_due WHERE tenant_id = $1`, imp.Tenant.ID); n != 1 {
				t.Errorf("armed schedules after import: %d", n)
			}

			again := filepath.Join(t.TempDir(), "again.zip")
			if code, _, errOut := runCLI(t, "tenants", "export", imp.Tenant.ID, "--out", again); code != 0 {
				t.Fatalf("export the import: %d %s", code, errOut)
			}
			after, m2, media2 := archiveTables(t, again)
			if m2.Church.Name != "Grace Chapel Moved" || !bytes.Equal(media1[firstKey(media1)], media2[firstKey(media1)]) {
				t.Errorf("second archive: %+v, media %v", m2.Church, len(media2))
			}
			for table, rows := range before {
				got := after[table]
				switch table {
				case "audit_log": // the import and the failed sign-in above add their own entries
					got = slices.DeleteFunc(slices.Clone(got), func(l string) bool {
						return strings.Contains(l, "church.imported") || strings.Contains(l, "login.failed")
					})
				case "registration":
					continue
				}
				if !slices.Equal(rows, got) {
					t.Errorf("%s differs after the round trip:\n before %v\n after  %v", table, rows, got)
				}
			}
		})
	}
}

func firstKey(m map[string][]byte) string {
	for k := range m {
		return k
	}
	return ""
}

// rewriteArchive copies an archive, passing each file through edit.
func rewriteArchive(t *testing.T, from, to string, edit func(name string, b []byte) []byte) {
	zr, err := zip.OpenReader(from)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	f, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		w, err := zw.Create(zf.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(edit(zf.Name, b))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// An archive of an unknown format version, of a newer schema, or with a bad
// row is refused with a clear error, and leaves no church behind.
func TestImportRefusesBadArchives(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		useBackend(t, b)
		code, out, errOut := runCLI(t, "tenants", "create", "--name", "Grace Chapel", "--timezone", "America/Chicago", "--json")
		if code != 0 {
			t.Fatalf("create: %d %s", code, errOut)
		}
		var created steeple.Tenant
		if err := json.Unmarshal([]byte(out), &created); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		good := filepath.Join(dir, "good.zip")
		if code, _, errOut := runCLI(t, "tenants", "export", "grace-chapel", "--out", good); code != 0 {
			t.Fatalf("export: %d %s", code, errOut)
		}
		// The export is in the church's audit log (the next export shows it).
		again := filepath.Join(dir, "again.zip")
		if code, _, errOut := runCLI(t, "tenants", "export", created.ID, "--out", again); code != 0 {
			t.Fatalf("export again: %d %s", code, errOut)
		}
		if tables, _, _ := archiveTables(t, again); !slices.ContainsFunc(tables["audit_log"], func(l string) bool {
			return strings.Contains(l, `"action":"church.exported"`) && strings.Contains(l, `"actor_id":"operator"`)
		}) {
			t.Fatalf("no church.exported by operator in %v", tables["audit_log"])
		}
		manifest := func(change func(m map[string]any)) func(string, []byte) []byte {
			return func(name string, b []byte) []byte {
				if name != "manifest.json" {
					return b
				}
				var m map[string]any
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatal(err)
				}
				change(m)
				b, _ = json.Marshal(m)
				return b
			}
		}
		for _, c := range []struct {
			name string
			edit func(string, []byte) []byte
			want string
		}{
			{"format", manifest(func(m map[string]any) { m["format_version"] = 2 }), "format version 2 is unknown"},
			{"schema", manifest(func(m map[string]any) { m["schema_version"] = 99999 }), "newer than this steeple's"},
			{"row", func(name string, b []byte) []byte {
				if name == "tables/audit_log.jsonl" {
					return append(b, []byte(`{"seq":"not a number"}`+"\n")...)
				}
				return b
			}, "audit_log.jsonl line"},
		} {
			bad := filepath.Join(dir, c.name+".zip")
			rewriteArchive(t, good, bad, c.edit)
			code, _, errOut := runCLI(t, "tenants", "import", bad)
			if code != 1 || !strings.Contains(errOut, c.want) || !strings.Contains(errOut, "nothing was created") && c.name == "row" {
				t.Errorf("%s: exit %d, %q; want %q", c.name, code, errOut, c.want)
			}
		}
		if code, _, errOut := runCLI(t, "tenants", "import", filepath.Join(dir, "missing.zip")); code != 1 || !strings.Contains(errOut, "missing.zip") {
			t.Errorf("missing file: %d %s", code, errOut)
		}
		code, out, _ = runCLI(t, "tenants", "list", "--json")
		var list []steeple.Tenant
		if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0].ID != created.ID {
			t.Fatalf("churches after refused imports: %s", out)
		}
		if code, _, errOut = runCLI(t, "tenants", "import", good, "--json"); code != 0 {
			t.Fatalf("good archive: %d %s", code, errOut)
		}
	})
}
