package store

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// Archive is an export opened for import, its manifest checked.
type Archive struct {
	Manifest ArchiveManifest
	files    map[string]*zip.File
}

// OpenArchive reads and checks an archive's manifest. latestSchema is the
// newest church schema this binary knows. Errors: EINVALID for a file that
// is not an archive, a format version it does not read, or a schema newer
// than this binary's.
func OpenArchive(r io.ReaderAt, size int64, latestSchema int64) (*Archive, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, archiveError("not a zip file (%v)", err)
	}
	a := &Archive{files: map[string]*zip.File{}}
	for _, f := range zr.File {
		a.files[f.Name] = f
	}
	mf, ok := a.files["manifest.json"]
	if !ok {
		return nil, archiveError("no manifest.json: not a Steeple church export")
	}
	b, err := readZipFile(mf)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &a.Manifest); err != nil {
		return nil, archiveError("manifest.json is not valid JSON (%v)", err)
	}
	m := a.Manifest
	switch {
	case m.Format != ArchiveFormat:
		return nil, archiveError("manifest.json names format %q, not %q: not a Steeple church export", m.Format, ArchiveFormat)
	case m.FormatVersion != ArchiveFormatVersion:
		return nil, archiveError("format version %d is unknown to this steeple (it reads version %d)", m.FormatVersion, ArchiveFormatVersion)
	case m.SchemaVersion > latestSchema:
		return nil, archiveError("the church's schema version %d is newer than this steeple's (%d): upgrade steeple, then import", m.SchemaVersion, latestSchema)
	case m.SchemaVersion <= 0:
		return nil, archiveError("manifest.json has no schema version")
	case strings.TrimSpace(m.Church.Name) == "" || m.Church.Timezone == "":
		return nil, archiveError("manifest.json has no church name or time zone")
	}
	return a, nil
}

// maxArchiveFile bounds one file read whole from an archive (the manifest,
// an image): a crafted archive cannot make the import hold gigabytes.
const maxArchiveFile = 64 << 20

func readZipFile(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, archiveError("%s: %v", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxArchiveFile+1))
	if err != nil {
		return nil, archiveError("%s: %v", f.Name, err)
	}
	if len(b) > maxArchiveFile {
		return nil, archiveError("%s is larger than %d MiB", f.Name, maxArchiveFile>>20)
	}
	return b, nil
}

// ImportedAdmin is an admin an import brought back, for the login index.
type ImportedAdmin struct {
	ID, EmailHash string
}

// ArchiveImport is what an import wrote, for the registry's indexes.
type ArchiveImport struct {
	Tables map[string]int64
	Admins []ImportedAdmin
	// Due are the active schedules' next occurrences (TenantID left empty).
	Due []tenancy.ScheduleDue
}

// unusablePassword marks an imported admin who has no password yet: no
// argon2id hash matches it, so only "forgot password" lets them in.
func unusablePassword() string { return "!imported-" + randomHex() }

func randomHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ImportArchive writes an archive's tables into h, a new church's empty
// database, in one transaction: personal data sealed with this deployment's
// keys, blind indexes recomputed, admins without passwords or MFA, the
// registration (which names provider objects) left out. Errors: EINVALID
// naming the file and line of a bad row.
func (s *Store) ImportArchive(ctx context.Context, h *tenancy.Handle, a *Archive) (*ArchiveImport, error) {
	res := &ArchiveImport{Tables: map[string]int64{}}
	err := h.InTx(ctx, func(tx *sql.Tx) error {
		identity, err := identityColumns(ctx, tx, h.Backend())
		if err != nil {
			return err
		}
		for i := len(archiveTables) - 1; i >= 0; i-- { // provisioning may have written defaults
			if archiveTables[i].imported {
				if _, err := tx.ExecContext(ctx, `DELETE FROM `+archiveTables[i].name); err != nil {
					return err
				}
			}
		}
		for _, at := range archiveTables {
			f, ok := a.files["tables/"+at.name+".jsonl"]
			if !ok || !at.imported {
				continue
			}
			n, err := s.importTable(ctx, tx, a, f, at, identity[at.name], h.Backend())
			if err != nil {
				return err
			}
			res.Tables[at.name] = n
		}
		return importedIndexes(ctx, tx, res)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// importedIndexes collects what the registry must learn of the new church.
func importedIndexes(ctx context.Context, tx *sql.Tx, res *ArchiveImport) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, email_hash FROM admins ORDER BY id`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var a ImportedAdmin
		if err := rows.Scan(&a.ID, &a.EmailHash); err != nil {
			rows.Close()
			return err
		}
		res.Admins = append(res.Admins, a)
	}
	rows.Close()
	rows, err = tx.QueryContext(ctx, `SELECT id, next_key, next_at FROM schedules WHERE status = 'active' AND next_at IS NOT NULL ORDER BY id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var d tenancy.ScheduleDue
		if err := rows.Scan(&d.ScheduleID, &d.Occurrence, &d.DueAt); err != nil {
			return err
		}
		res.Due = append(res.Due, d)
	}
	return rows.Err()
}

// identityColumns names PostgreSQL's generated-always columns (audit_log.seq,
// consent_events.seq): inserting their archived values needs OVERRIDING
// SYSTEM VALUE, and their sequence must then move past them.
func identityColumns(ctx context.Context, tx *sql.Tx, b steeple.Backend) (map[string]string, error) {
	out := map[string]string{}
	if b != steeple.BackendPostgres {
		return out, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			return nil, err
		}
		out[t] = c
	}
	return out, rows.Err()
}

func (s *Store) importTable(ctx context.Context, tx *sql.Tx, a *Archive, f *zip.File, at archiveTable, identity string, b steeple.Backend) (int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT * FROM `+at.name+` WHERE 1 = 0`)
	if err != nil {
		return 0, err
	}
	types, err := rows.ColumnTypes()
	rows.Close()
	if err != nil {
		return 0, err
	}
	dest := map[string]columnKind{}
	for _, ct := range types {
		dest[ct.Name()] = kindOf(ct)
	}
	rc, err := f.Open()
	if err != nil {
		return 0, archiveError("%s: %v", f.Name, err)
	}
	defer rc.Close()
	ins := &batchInsert{tx: tx, table: at.name, overriding: identity != "" && b == steeple.BackendPostgres, sqlite: b == steeple.BackendSQLite}
	br := bufio.NewReaderSize(rc, 1<<16)
	var n int64
	for line := 1; ; line++ {
		raw, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(raw)) > 0 {
			row, cerr := s.archiveRow(a, at, dest, raw)
			if cerr != nil {
				return n, archiveError("%s line %d: %v", f.Name, line, cerr)
			}
			if ins.cols == nil {
				// The first row names the columns: one an older archive
				// lacks keeps its default.
				for _, ct := range types {
					if _, ok := row[ct.Name()]; ok {
						ins.cols = append(ins.cols, ct.Name())
					}
				}
			}
			vals := make([]any, len(ins.cols))
			for i, c := range ins.cols {
				vals[i] = row[c]
			}
			if err := ins.add(ctx, vals); err != nil {
				return n, fmt.Errorf("import %s line %d: %w", at.name, line, err)
			}
			n++
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, archiveError("%s: %v", f.Name, err)
		}
	}
	if err := ins.flush(ctx); err != nil {
		return n, fmt.Errorf("import %s: %w", at.name, err)
	}
	if ins.overriding {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', '%s'), COALESCE((SELECT MAX(%s) FROM %s), 0) + 1, false)`,
			at.name, identity, identity, at.name)); err != nil {
			return n, err
		}
	}
	return n, nil
}

// archiveRow turns one JSON line into the values of the destination columns.
func (s *Store) archiveRow(a *Archive, at archiveTable, dest map[string]columnKind, raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var in map[string]any
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("not a JSON object (%v)", err)
	}
	out := map[string]any{}
	for k, v := range in {
		if i := slices.IndexFunc(at.sealed, func(c plainColumn) bool { return c.plain == k }); i >= 0 {
			c := at.sealed[i]
			if v == nil {
				out[c.cipher] = nil
				if c.hash != "" {
					out[c.hash] = nil
				}
				continue
			}
			plain, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("%s: want a string", k)
			}
			out[c.cipher] = s.keys.Seal([]byte(plain), c.aad)
			if c.hash != "" {
				out[c.hash] = s.keys.BlindIndex(c.purpose, plain)
			}
			continue
		}
		if at.name == "media" && k == "file" {
			name, _ := v.(string)
			f, ok := a.files[name]
			if !ok {
				return nil, fmt.Errorf("file %q is not in the archive", name)
			}
			data, err := readZipFile(f)
			if err != nil {
				return nil, err
			}
			out["data"] = data
			continue
		}
		kind, ok := dest[k]
		if !ok {
			return nil, fmt.Errorf("column %q is unknown to this steeple's %s table", k, at.name)
		}
		val, err := fromJSON(kind, v)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", k, err)
		}
		out[k] = val
	}
	switch at.name {
	case "admins":
		out["password_hash"], out["mfa_enabled"] = unusablePassword(), false
	case "invitations":
		out["token_hash"] = TokenHash(randomHex()) // the old link cannot work here
	}
	return out, nil
}

// fromJSON reads one archived value as the destination column wants it.
func fromJSON(kind columnKind, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch kind {
	case kindBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, fmt.Errorf("want true or false, got %v", v)
	case kindInt:
		if n, ok := v.(json.Number); ok {
			return n.Int64()
		}
		return nil, fmt.Errorf("want an integer, got %v", v)
	case kindTime:
		if s, ok := v.(string); ok {
			return time.Parse(time.RFC3339Nano, s)
		}
		return nil, fmt.Errorf("want a time, got %v", v)
	case kindBytes:
		if s, ok := v.(string); ok {
			return base64.StdEncoding.DecodeString(s)
		}
		return nil, fmt.Errorf("want base64, got %v", v)
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	return nil, fmt.Errorf("want a string, got %v", v)
}

// batchInsert inserts rows many to a statement.
type batchInsert struct {
	tx         *sql.Tx
	table      string
	cols       []string
	overriding bool
	sqlite     bool
	args       []any
	rows       int
}

func (bi *batchInsert) add(ctx context.Context, vals []any) error {
	bi.args = append(bi.args, vals...)
	bi.rows++
	// Well under PostgreSQL's parameter limit. SQLite binds many
	// parameters slowly (each $N is looked up by name): small batches.
	limit := 5000
	if !bi.overriding && bi.sqlite {
		limit = 200
	}
	if bi.rows*len(bi.cols) >= limit {
		return bi.flush(ctx)
	}
	return nil
}

func (bi *batchInsert) flush(ctx context.Context) error {
	if bi.rows == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString("INSERT INTO " + bi.table + " (")
	for i, c := range bi.cols {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(c)
	}
	q.WriteString(")")
	if bi.overriding {
		q.WriteString(" OVERRIDING SYSTEM VALUE")
	}
	q.WriteString(" VALUES ")
	p := 0
	for r := range bi.rows {
		if r > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(")
		for i := range bi.cols {
			if i > 0 {
				q.WriteString(", ")
			}
			p++
			fmt.Fprintf(&q, "$%d", p)
		}
		q.WriteString(")")
	}
	_, err := bi.tx.ExecContext(ctx, q.String(), bi.args...)
	bi.args, bi.rows = bi.args[:0], 0
	return err
}
