package closing_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steeple-sms/steeple/closing"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

// TestPurgeLeavesNoTrace fills a church (its owner's email, members with
// names and phones, a conversation, a number, a broadcast), deletes and
// purges it, and then looks for any of that everywhere Steeple keeps
// data: every file under the data directory on SQLite (registry.db and its
// -wal included); on PostgreSQL every registry table's rows and the list of
// databases on every tenant server.
func TestPurgeLeavesNoTrace(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		c := s.Church(t, testkit.ChurchOptions{Name: "Wenceslas Zephyrine Chapel", Email: "pastor.quillfeather@wenceslas.example.org",
			Number: "+13125550977", QuietHoursOff: true})
		members := []testkit.MemberOptions{
			{FirstName: "Philippa", LastName: "Quartermaine", Phone: "+13125550142", OptedIn: true},
			{FirstName: "Bartholomew", LastName: "Oyelaranfen", Phone: "+13125550143", OptedIn: true},
		}
		for _, m := range members {
			s.AddMember(t, c.ID, m)
		}
		if err := s.Sim.Inbound(ctx, telnyxsim.InboundMessage{From: members[0].Phone, To: c.Number, Text: "Praying for the Oyelaranfen family",
			WebhookURL: s.URL + "/webhooks/telnyx"}); err != nil {
			t.Fatal(err)
		}
		c.API(s).BroadcastAll(t, "Choir practice moved to Thursday")
		testkit.WaitUntil(t, 30*time.Second, func() bool { return len(s.SentFrom(c.Number)) == len(members) }, "the broadcast to be sent")
		s.SettleQueue(t)
		tn, err := s.Tenancy.Registry.Tenant(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		needles := []string{c.Name, c.Email, c.Number, national(c.Number), "Oyelaranfen"}
		for _, m := range members {
			needles = append(needles, m.FirstName, m.LastName, m.Phone, national(m.Phone))
		}
		haystacks := func() map[string][]byte {
			out := map[string][]byte{"registry tables": testkit.DumpTables(t, s.Tenancy.Registry.DB(), b.Postgres())}
			if !b.Postgres() {
				filesUnder(t, b.DataDir(), out)
				return out
			}
			var names bytes.Buffer
			for _, ref := range b.ServerRefs() {
				testkit.QueryServer(t, b.ServerURL(t, ref), func(ctx context.Context, conn *pgx.Conn) error {
					rows, err := conn.Query(ctx, `SELECT datname FROM pg_database`)
					if err != nil {
						return err
					}
					defer rows.Close()
					for rows.Next() {
						var n string
						if err := rows.Scan(&n); err != nil {
							return err
						}
						names.WriteString(n + "\n")
					}
					return rows.Err()
				})
			}
			out["databases"] = names.Bytes()
			return out
		}
		// The scan finds the church before its purge (else it proves nothing).
		before := haystacks()
		if !found(before, c.Name) || !found(before, c.Number) {
			t.Fatal("the scan does not find the church's name and number before the purge")
		}
		if !b.Postgres() && !found(before, "Quartermaine") {
			t.Fatal("the scan does not find a member's name in the church's file before the purge")
		}
		if b.Postgres() && !found(before, tn.DatabaseName) {
			t.Fatal("the database list does not show the church's database before the purge")
		}
		if _, err := s.App.Closing.Close(ctx, c.ID, closing.Operator, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.App.Closing.Purge(ctx, c.ID, true); err != nil {
			t.Fatal(err)
		}
		after := haystacks()
		// The database's name is derived from the church's id, which the
		// registry keeps: it only must be gone from the servers.
		if b.Postgres() && bytes.Contains(after["databases"], []byte(tn.DatabaseName)) {
			t.Errorf("database %s is still on its server", tn.DatabaseName)
		}
		for _, n := range needles {
			for where, hay := range after {
				if bytes.Contains(hay, []byte(n)) {
					t.Errorf("%q is still in %s after the purge", n, where)
				}
			}
		}
	})
}

// national is an E.164 US number without +1.
func national(e164 string) string { return strings.TrimPrefix(e164, "+1") }

func found(hay map[string][]byte, needle string) bool {
	for _, h := range hay {
		if bytes.Contains(h, []byte(needle)) {
			return true
		}
	}
	return false
}

// filesUnder reads every file under dir into out, by path.
func filesUnder(t *testing.T, dir string, out map[string][]byte) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[p] = data
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
