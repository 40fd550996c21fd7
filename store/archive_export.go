package store

import (
	"archive/zip"
	"compress/flate"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// ExportArchive writes the church's archive (a zip) to w. Every table is read
// in one read transaction, so the archive is one consistent moment of the
// church. The handle is held while w is written: give it a temporary file,
// never a slow client. Errors: EINTERNAL when a table is unknown to the
// archive or a sealed value does not open with these keys.
func (s *Store) ExportArchive(ctx context.Context, h *tenancy.Handle, w io.Writer) (*ArchiveManifest, error) {
	t := h.Tenant()
	m := &ArchiveManifest{Format: ArchiveFormat, FormatVersion: ArchiveFormatVersion, CreatedAt: s.Now(),
		Church: ArchiveChurch{ID: t.ID, Name: t.Name, Slug: t.Slug, Timezone: t.Timezone, Plan: t.Plan},
		Tables: map[string]int64{}}
	zw := zip.NewWriter(w)
	// Speed over size: an export of a large church stays within seconds.
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	err := h.ReadTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version`).Scan(&m.SchemaVersion); err != nil {
			return fmt.Errorf("schema version: %w", err)
		}
		present, err := churchTables(ctx, tx, h.Backend())
		if err != nil {
			return err
		}
		for name := range present {
			if _, left := archiveLeftOut[name]; !left && !slices.ContainsFunc(archiveTables, func(a archiveTable) bool { return a.name == name }) {
				return fmt.Errorf("export: table %s is not known to the archive (add it to archiveTables or archiveLeftOut)", name)
			}
		}
		for _, at := range archiveTables {
			if !present[at.name] {
				continue
			}
			n, err := s.exportTable(ctx, tx, zw, at)
			if err != nil {
				return fmt.Errorf("export %s: %w", at.name, err)
			}
			m.Tables[at.name] = n
		}
		m.MediaFiles, err = exportMedia(ctx, tx, zw)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := writeZipFile(zw, "README.txt", []byte(archiveReadme(m))); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeZipFile(zw, "manifest.json", append(b, '\n')); err != nil {
		return nil, err
	}
	return m, zw.Close()
}

func writeZipFile(zw *zip.Writer, name string, b []byte) error {
	f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: time.Now()})
	if err == nil {
		_, err = f.Write(b)
	}
	return err
}

// churchTables lists the tables of the church database.
func churchTables(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, b steeple.Backend) (map[string]bool, error) {
	list := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if b == steeple.BackendPostgres {
		list = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`
	}
	rows, err := q.QueryContext(ctx, list)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out[n] = true
	}
	return out, rows.Err()
}

// exportColumn is one column of a table file.
type exportColumn struct {
	name   string // in the database
	out    string // in the archive
	kind   columnKind
	sealed []byte // the AAD of a sealed column
}

// exportColumns are the columns of at that an archive carries: secrets and
// blind indexes stay out, sealed columns travel in plain under their own name.
func exportColumns(ctx context.Context, tx *sql.Tx, at archiveTable) ([]exportColumn, error) {
	rows, err := tx.QueryContext(ctx, `SELECT * FROM `+at.name+` WHERE 1 = 0`)
	if err != nil {
		return nil, err
	}
	types, err := rows.ColumnTypes()
	rows.Close()
	if err != nil {
		return nil, err
	}
	var cols []exportColumn
	for _, ct := range types {
		name := ct.Name()
		if slices.Contains(at.secret, name) || (at.name == "media" && name == "data") ||
			slices.ContainsFunc(at.sealed, func(c plainColumn) bool { return c.hash == name }) {
			continue
		}
		c := exportColumn{name: name, out: name, kind: kindOf(ct)}
		if i := slices.IndexFunc(at.sealed, func(c plainColumn) bool { return c.cipher == name }); i >= 0 {
			c.out, c.sealed = at.sealed[i].plain, at.sealed[i].aad
		}
		cols = append(cols, c)
	}
	return cols, nil
}

// exportTable writes tables/<name>.jsonl and returns its row count.
func (s *Store) exportTable(ctx context.Context, tx *sql.Tx, zw *zip.Writer, at archiveTable) (int64, error) {
	cols, err := exportColumns(ctx, tx, at)
	if err != nil {
		return 0, err
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+strings.Join(names, ", ")+` FROM `+at.name)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	f, err := zw.CreateHeader(&zip.FileHeader{Name: "tables/" + at.name + ".jsonl", Method: zip.Deflate, Modified: time.Now()})
	if err != nil {
		return 0, err
	}
	vals, ptrs := make([]any, len(cols)), make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	var line []byte
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		line = append(line[:0], '{')
		for i, c := range cols {
			if i > 0 {
				line = append(line, ',')
			}
			line = appendJSONString(line, c.out)
			line = append(line, ':')
			if line, err = s.appendValue(line, c, vals[i]); err != nil {
				return n, fmt.Errorf("%s: %w", c.name, err)
			}
		}
		if at.name == "media" {
			line = append(line, `,"file":`...)
			line = appendJSONString(line, mediaFile(text(vals[slices.IndexFunc(cols, isCol("id"))]),
				text(vals[slices.IndexFunc(cols, isCol("content_type"))])))
		}
		line = append(line, '}', '\n')
		if _, err := f.Write(line); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

func isCol(name string) func(exportColumn) bool {
	return func(c exportColumn) bool { return c.name == name }
}

// exportMedia writes each uploaded image to media/<id>.<ext>, one at a time.
func exportMedia(ctx context.Context, tx *sql.Tx, zw *zip.Writer) (int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, content_type, data FROM media ORDER BY id`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		var id, ct string
		var data []byte
		if err := rows.Scan(&id, &ct, &data); err != nil {
			return n, err
		}
		// Images are compressed already: store them as they are.
		f, err := zw.CreateHeader(&zip.FileHeader{Name: mediaFile(id, ct), Method: zip.Store, Modified: time.Now()})
		if err != nil {
			return n, err
		}
		if _, err := f.Write(data); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// text renders a text value as the drivers return it.
func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// appendValue writes one value as JSON: the same JSON whichever dialect it
// came from (SQLite answers booleans as integers).
func (s *Store) appendValue(b []byte, c exportColumn, v any) ([]byte, error) {
	if v == nil {
		return append(b, "null"...), nil
	}
	if c.sealed != nil {
		sealed, ok := v.([]byte)
		if !ok {
			return b, fmt.Errorf("sealed value is a %T", v)
		}
		if len(sealed) == 0 {
			return append(b, "null"...), nil
		}
		plain, err := s.keys.Open(sealed, c.sealed)
		if err != nil {
			return b, err
		}
		return appendJSONString(b, string(plain)), nil
	}
	switch c.kind {
	case kindBool:
		switch v := v.(type) {
		case bool:
			return strconv.AppendBool(b, v), nil
		case int64:
			return strconv.AppendBool(b, v != 0), nil
		}
	case kindInt:
		switch v := v.(type) {
		case int64:
			return strconv.AppendInt(b, v, 10), nil
		case int32:
			return strconv.AppendInt(b, int64(v), 10), nil
		case float64:
			return strconv.AppendFloat(b, v, 'f', -1, 64), nil
		}
	case kindTime:
		if t, ok := v.(time.Time); ok {
			b = append(b, '"')
			b = t.UTC().AppendFormat(b, time.RFC3339Nano)
			return append(b, '"'), nil
		}
	case kindBytes:
		if raw, ok := v.([]byte); ok {
			return appendJSONString(b, base64.StdEncoding.EncodeToString(raw)), nil
		}
	}
	return appendJSONString(b, text(v)), nil
}

// appendJSONString appends s as a JSON string (invalid UTF-8 becomes U+FFFD,
// as encoding/json does).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
