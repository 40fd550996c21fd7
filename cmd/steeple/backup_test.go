package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steeple-sms/steeple/backup"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
	"github.com/steeple-sms/steeple/tenancy"
)

// churchState is what a church's database held at one moment.
type churchState struct {
	members, messages, conversation, sent map[string]bool
	pending                               int // broadcast recipients not yet sent
}

func readChurch(t *testing.T, s *testkit.Server, tenantID, broadcastID string) churchState {
	t.Helper()
	st := churchState{}
	s.WithHandle(t, tenantID, func(h *tenancy.Handle) {
		ids := func(q string, args ...any) map[string]bool {
			rows, err := h.QueryContext(context.Background(), q, args...)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			defer rows.Close()
			out := map[string]bool{}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				out[id] = true
			}
			return out
		}
		st.members = ids(`SELECT id FROM members`)
		st.messages = ids(`SELECT id FROM messages`)
		st.conversation = ids(`SELECT id FROM conversation_messages`)
		st.sent = ids(`SELECT member_id FROM message_recipients WHERE message_id = $1 AND status IN ('sent', 'delivered')`, broadcastID)
		st.pending = len(ids(`SELECT member_id FROM message_recipients WHERE message_id = $1 AND status IN ('queued', 'sending')`, broadcastID))
	})
	return st
}

func missing(what string, before, after map[string]bool) string {
	for id := range before {
		if !after[id] {
			return fmt.Sprintf("%s %s committed before the backup is not in the restore (%d before, %d after)", what, id, len(before), len(after))
		}
	}
	return ""
}

// TestBackupRestoreWhileServing backs up a serving deployment while a
// broadcast of 300 texts goes out and members text in, restores it onto
// empty storage, and serves it with the same keys: everything committed
// before the backup began is there, the church signs in and lists its
// members, and the broadcast interrupted by the backup finishes.
func TestBackupRestoreWhileServing(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		ctx := context.Background()
		s := testkit.NewServer(t, b, testkit.ServerOptions{Messaging: func(c *messaging.Config) { c.PerNumberRate = 60 }})
		c := s.Church(t, testkit.ChurchOptions{Name: "Backup Chapel", Number: "+13125550410", Members: 300, QuietHoursOff: true})
		quiet := s.Church(t, testkit.ChurchOptions{Name: "Quiet Parish", Members: 3})
		useBackend(t, b)

		broadcast := c.API(s).BroadcastAll(t, "Service moves to 11am this Sunday")
		var stop atomic.Bool
		var wg sync.WaitGroup
		var inbound atomic.Int64
		wg.Add(1)
		go func() { // members text in throughout
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				err := s.Sim.Inbound(ctx, telnyxsim.InboundMessage{From: c.Phones[i%len(c.Phones)], To: c.Number,
					Text: fmt.Sprintf("See you there (%d)", i), WebhookURL: s.URL + "/webhooks/telnyx"})
				if err != nil {
					t.Errorf("inbound %d: %v", i, err)
					return
				}
				inbound.Add(1)
			}
		}()
		testkit.Eventually(t, 30*time.Second, func() string {
			if st := readChurch(t, s, c.ID, broadcast); len(st.sent) < 30 || len(st.conversation) < 5 {
				return fmt.Sprintf("traffic: %d sent, %d inbound texts stored", len(st.sent), len(st.conversation))
			}
			return ""
		})
		before := readChurch(t, s, c.ID, broadcast)
		beforeQuiet := readChurch(t, s, quiet.ID, broadcast)
		dir := filepath.Join(t.TempDir(), "backup")
		code, out, errOut := runCLI(t, "backup", "--out", dir, "--json")
		during := readChurch(t, s, c.ID, broadcast)
		stop.Store(true)
		wg.Wait()
		if code != 0 {
			t.Fatalf("backup: exit %d: %s", code, errOut)
		}
		t.Logf("during the backup: %d texts sent, %d inbound texts stored, %d in all received (%d recipients were pending when it began)",
			len(during.sent)-len(before.sent), len(during.conversation)-len(before.conversation), inbound.Load(), before.pending)
		if before.pending == 0 {
			t.Fatal("the broadcast finished before the backup began: the test did not back up under traffic")
		}
		if !strings.Contains(errOut, "KEYS FILE IS NOT IN THIS BACKUP") {
			t.Errorf("backup does not warn about the keys file: %s", errOut)
		}
		var m backup.Manifest
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("backup --json: %v: %s", err, out)
		}
		if len(m.Churches) != 2 || m.Registry.SHA256 == "" || m.Backend != s.Tenancy.Backend() {
			t.Fatalf("manifest: %+v", m)
		}
		checkPrivate(t, dir)
		if code, out, errOut = runCLI(t, "backup", "verify", "--from", dir); code != 0 || !strings.Contains(out, "complete and restorable") {
			t.Fatalf("verify: %d %s %s", code, out, errOut)
		}

		// The old deployment is gone: on PostgreSQL its church databases
		// are dropped, so the restore lands on empty servers.
		testkit.Eventually(t, 60*time.Second, func() string {
			if st := readChurch(t, s, c.ID, broadcast); st.pending > 0 {
				return fmt.Sprintf("the original server still sends: %d pending", st.pending)
			}
			return ""
		})
		b2 := testkit.SQLite(t)
		if b.Postgres() {
			b2 = testkit.Postgres(t)
			dropChurchDatabases(t, b, m)
		}
		useBackend(t, b2)
		if code, out, errOut = runCLI(t, "restore", "--from", dir); code != 0 {
			t.Fatalf("restore: exit %d: %s %s", code, out, errOut)
		}
		t.Logf("restore: %s", strings.TrimSpace(out))

		s2 := testkit.NewServer(t, b2, testkit.ServerOptions{Keys: &s.KeysFile, Messaging: func(c *messaging.Config) { c.SweepAge = 0 }})
		after := readChurch(t, s2, c.ID, broadcast)
		for _, check := range []string{
			missing("member", before.members, after.members),
			missing("broadcast", before.messages, after.messages),
			missing("conversation message", before.conversation, after.conversation),
			missing("sent recipient", before.sent, after.sent),
			missing("member of the quiet church", beforeQuiet.members, readChurch(t, s2, quiet.ID, broadcast).members),
		} {
			if check != "" {
				t.Error(check)
			}
		}

		// The church serves: its owner signs in and lists its members.
		c.Relogin(t, s2)
		var page struct{ Total int }
		c.API(s2).Call(t, "GET", "/api/v1/members", nil, http.StatusOK, &page)
		if page.Total != len(before.members) {
			t.Errorf("members listed after the restore: %d, want %d", page.Total, len(before.members))
		}
		// The broadcast the backup caught mid-way finishes on the restored deployment.
		testkit.Eventually(t, 60*time.Second, func() string {
			if _, err := s2.Messaging.Sweep(ctx); err != nil {
				return err.Error()
			}
			if st := readChurch(t, s2, c.ID, broadcast); st.pending > 0 {
				return fmt.Sprintf("restored broadcast: %d recipients still pending", st.pending)
			}
			return ""
		})
	})
}

// checkPrivate checks the backup directory is 0700 and its files 0600.
func checkPrivate(t *testing.T, dir string) {
	t.Helper()
	err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
		if strings.HasSuffix(path, ".tmp") || strings.HasSuffix(path, "-wal") {
			t.Errorf("%s left in the backup", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func dropChurchDatabases(t *testing.T, b *testkit.Backend, m backup.Manifest) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, b.Servers()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, c := range m.Churches {
		if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{c.Database}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Fatal(err)
		}
	}
}
