package messaging_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// wantNoPlaintext searches a church's database (every table, and on SQLite
// the raw database and WAL files) and the registry for the phone numbers
// and emails of the given members, in every form an admin might have typed.
func wantNoPlaintext(t *testing.T, s *testkit.Server, b *testkit.Backend, c *church, members []int, emailPrefix string) {
	ctx := context.Background()
	h, err := s.Tenancy.Manager.Acquire(ctx, c.id)
	if err != nil {
		t.Fatal(err)
	}
	tenantRows := dumpTables(t, h, b.Postgres())
	h.Release()
	haystacks := map[string][]byte{"tenant tables": tenantRows, "registry tables": dumpTables(t, s.Tenancy.Registry.DB(), b.Postgres())}
	if !b.Postgres() {
		path := filepath.Join(b.DataDir(), "tenants", c.id+".db")
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
		e164 := phone(i)
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

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// dumpTables returns every value of every table, raw bytes as stored.
func dumpTables(t *testing.T, q querier, postgres bool) []byte {
	t.Helper()
	ctx := context.Background()
	list := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if postgres {
		list = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`
	}
	rows, err := q.QueryContext(ctx, list)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) == 0 {
		t.Fatal("no tables found")
	}
	var out bytes.Buffer
	for _, tbl := range tables {
		rows, err := q.QueryContext(ctx, `SELECT * FROM "`+tbl+`"`)
		if err != nil {
			t.Fatalf("dump %s: %v", tbl, err)
		}
		cols, _ := rows.Columns()
		vals, ptrs := make([]any, len(cols)), make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("dump %s: %v", tbl, err)
			}
			for _, v := range vals {
				switch v := v.(type) {
				case []byte:
					out.Write(v)
				case string:
					out.WriteString(v)
				default:
					fmt.Fprint(&out, v)
				}
				out.WriteByte(0)
			}
		}
		rows.Close()
	}
	return out.Bytes()
}
