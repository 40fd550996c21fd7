package store

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// The archive's own JSON string writer reads back as encoding/json would
// have written it: quotes, controls, accents, emoji and broken UTF-8.
func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `say "hi" \ bye`, "line\nbreak\ttab\r\x00\x1f", "Zoë ñ 🙏", "<b>&</b>", "bad \xff\xfe utf8"} {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q → %s: %v", s, b, err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if s == "bad \xff\xfe utf8" {
			want = "bad \uFFFD\uFFFD utf8" // one replacement a byte, as encoding/json does
		}
		if got != want {
			t.Errorf("%q read back as %q", s, got)
		}
	}
}

// Every sealed column of the schema (sealedColumns, which a test checks
// against the migrations) is either carried in plain by the archive with
// the same AAD, a secret left out, or in a table the archive leaves out.
func TestArchiveCoversSealedColumns(t *testing.T) {
	for _, sc := range sealedColumns {
		if _, left := archiveLeftOut[sc.table]; left {
			continue
		}
		i := slices.IndexFunc(archiveTables, func(a archiveTable) bool { return a.name == sc.table })
		if i < 0 {
			t.Errorf("table %s (sealed %s) is neither in archiveTables nor archiveLeftOut", sc.table, sc.column)
			continue
		}
		at := archiveTables[i]
		if slices.Contains(at.secret, sc.column) {
			continue
		}
		j := slices.IndexFunc(at.sealed, func(p plainColumn) bool { return p.cipher == sc.column })
		if j < 0 {
			t.Errorf("%s.%s is sealed but the archive would copy its ciphertext: add it to the table's sealed or secret columns", sc.table, sc.column)
			continue
		}
		if !bytes.Equal(at.sealed[j].aad, sc.aad) {
			t.Errorf("%s.%s: archive opens it with AAD %q, it is sealed with %q", sc.table, sc.column, at.sealed[j].aad, sc.aad)
		}
	}
}
