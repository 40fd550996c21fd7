package messaging_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// wantNoPlaintext searches a church's database (every table, and on SQLite
// the raw database and WAL files) and the registry for the phone numbers
// and emails of the given members, in every form an admin might have typed.
func wantNoPlaintext(t *testing.T, s *testkit.Server, b *testkit.Backend, c *testkit.Church, members []int, emailPrefix string) {
	ctx := context.Background()
	h, err := s.Tenancy.Manager.Acquire(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	tenantRows := testkit.DumpTables(t, h, b.Postgres())
	h.Release()
	haystacks := map[string][]byte{"tenant tables": tenantRows, "registry tables": testkit.DumpTables(t, s.Tenancy.Registry.DB(), b.Postgres())}
	if !b.Postgres() {
		path := filepath.Join(b.DataDir(), "tenants", c.ID+".db")
		for _, f := range []string{path, path + "-wal", filepath.Join(b.DataDir(), "registry.db"), filepath.Join(b.DataDir(), "registry.db-wal")} {
			raw, err := os.ReadFile(f)
			if err != nil && f == path {
				t.Fatalf("read the church's database file: %v", err)
			}
			haystacks[filepath.Base(f)] = raw
		}
		if len(haystacks[filepath.Base(path)])+len(haystacks[filepath.Base(path)+"-wal"]) < 100_000 {
			t.Fatalf("the church's database and WAL hold only %d bytes: not the file that holds 1,000 members?",
				len(haystacks[filepath.Base(path)])+len(haystacks[filepath.Base(path)+"-wal"]))
		}
	}
	for _, i := range members {
		e164 := testkit.Phone(i)
		needles := []string{e164, e164[2:], nationalPhone(i), fmt.Sprintf("312-200-%04d", i), fmt.Sprintf("%s%d@example.org", emailPrefix, i)}
		for where, hay := range haystacks {
			for _, n := range needles {
				if bytes.Contains(hay, []byte(n)) {
					t.Errorf("%s contain %q in plaintext", where, n)
				}
			}
		}
	}
}
