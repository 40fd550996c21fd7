package tenancy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
)

// A move copies the whole database once while the church is still served
// (pg_dump | pg_restore), then, with writes paused, brings the copy level:
// each table is fingerprinted on both sides (row count and a sum of 64-bit
// row hashes), and only the tables that differ — with every table whose
// foreign keys point at them, which TRUNCATE must empty too — are emptied
// and copied again with COPY. Sequences are set last. A rerun after a crash
// fingerprints again, so the step is idempotent.

// tableSum is one table's fingerprint.
type tableSum struct {
	rows int64
	hash string // sum of hashtextextended(row::text), as text
}

// keyBuckets splits a table that differs by a hash of its rows' primary
// key: buckets are fingerprinted on both sides, and only the rows of the
// buckets that differ are compared one by one.
const keyBuckets = 1024

// bucketOf is the SQL of a row's bucket (t is the row, pkey its key's columns).
func bucketOf(pkey string) string {
	if pkey == "" {
		return `0`
	}
	return `(hashtext(ROW(` + pkey + `)::text) & ` + fmt.Sprint(keyBuckets-1) + `)`
}

// syncSession sets what a row's text depends on, identically on both sides.
const syncSession = `SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres';
	SET extra_float_digits = 3; SET bytea_output = 'hex'`

// dbShape is what the sync needs to know of a database's tables.
type dbShape struct {
	tables  []string            // quoted names, parents before children
	columns map[string]string   // table → quoted, comma-separated copyable columns
	pkey    map[string]string   // table → its primary key's columns (none: absent)
	sets    map[string][]string // table → columns an upsert may set (not the key, not identity ALWAYS)
	refs    map[string][]string // table → tables whose foreign keys reference it
}

func (b *postgresBackend) connectDB(ctx context.Context, ref, database string) (*pgx.Conn, error) {
	cfg, err := b.config(ref, database)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database server %s: %w", ref, err)
	}
	if _, err := conn.Exec(ctx, syncSession); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return conn, nil
}

func readShape(ctx context.Context, c *pgx.Conn) (*dbShape, error) {
	s := &dbShape{columns: map[string]string{}, refs: map[string][]string{}, pkey: map[string]string{}, sets: map[string][]string{}}
	rows, err := c.Query(ctx, `SELECT format('%I.%I', n.nspname, r.relname),
			string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
		FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace
		JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
		WHERE r.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
		GROUP BY 1 ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	var names []string
	for rows.Next() {
		var tb, cols string
		if err := rows.Scan(&tb, &cols); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, tb)
		s.columns[tb] = cols
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := readKeys(ctx, c, s); err != nil {
		return nil, err
	}
	rows, err = c.Query(ctx, `SELECT format('%I.%I', pn.nspname, p.relname), format('%I.%I', cn.nspname, ch.relname)
		FROM pg_constraint k JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
		JOIN pg_class ch ON ch.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = ch.relnamespace
		WHERE k.contype = 'f' AND k.conrelid <> k.confrelid`)
	if err != nil {
		return nil, err
	}
	parents := map[string][]string{}
	for rows.Next() {
		var parent, child string
		if err := rows.Scan(&parent, &child); err != nil {
			rows.Close()
			return nil, err
		}
		s.refs[parent] = append(s.refs[parent], child)
		parents[child] = append(parents[child], parent)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Parents first, so rows copied into a child find theirs.
	done := map[string]bool{}
	var visit func(string)
	visit = func(tb string) {
		if done[tb] {
			return
		}
		done[tb] = true
		for _, p := range parents[tb] {
			visit(p)
		}
		s.tables = append(s.tables, tb)
	}
	for _, tb := range names {
		visit(tb)
	}
	return s, nil
}

// readKeys reads each table's primary key and the columns an upsert sets.
func readKeys(ctx context.Context, c *pgx.Conn, s *dbShape) error {
	rows, err := c.Query(ctx, `SELECT format('%I.%I', n.nspname, r.relname), quote_ident(a.attname),
			a.attnum = ANY(i.indkey::int2[]), a.attidentity = 'a'
		FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace
		JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
		LEFT JOIN pg_index i ON i.indrelid = r.oid AND i.indisprimary
		WHERE r.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
		ORDER BY 1, COALESCE(array_position(i.indkey::int2[], a.attnum), 0), a.attnum`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var tb, col string
		var inKey *bool
		var always bool
		if err := rows.Scan(&tb, &col, &inKey, &always); err != nil {
			return err
		}
		switch {
		case inKey != nil && *inKey:
			if s.pkey[tb] != "" {
				s.pkey[tb] += ", "
			}
			s.pkey[tb] += col
		case !always:
			s.sets[tb] = append(s.sets[tb], col)
		}
	}
	return rows.Err()
}

func fingerprint(ctx context.Context, c *pgx.Conn, tables []string) (map[string]tableSum, error) {
	out := make(map[string]tableSum, len(tables))
	for _, tb := range tables {
		var s tableSum
		err := c.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(hashtextextended(t::text, 0)::numeric), 0)::text FROM `+tb+` t`).Scan(&s.rows, &s.hash)
		if err != nil {
			return nil, fmt.Errorf("fingerprinting %s: %w", tb, err)
		}
		out[tb] = s
	}
	return out, nil
}

// bucketPrints fingerprints each bucket of a table with a primary key
// (only those listed, when only is not nil).
func bucketPrints(ctx context.Context, c *pgx.Conn, tb, pkey string, only []int32) (map[int32]string, error) {
	where := ``
	if only != nil {
		where = ` WHERE ` + bucketOf(pkey) + ` = ANY($1::int[])`
	}
	rows, err := c.Query(ctx, `SELECT `+bucketOf(pkey)+` AS b, COUNT(*)::text || ':' || SUM(hashtextextended(t::text, 0)::numeric)::text
		FROM `+tb+` t`+where+` GROUP BY b`, argsIf(only != nil, only)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int32]string{}
	for rows.Next() {
		var b int32
		var v string
		if err := rows.Scan(&b, &v); err != nil {
			return nil, err
		}
		out[b] = v
	}
	return out, rows.Err()
}

func argsIf(ok bool, args ...any) []any {
	if ok {
		return args
	}
	return nil
}

// differingBuckets lists the buckets of a table whose rows differ, with
// the source's fingerprint of each bucket.
func differingBuckets(ctx context.Context, src, dst *pgx.Conn, tb, pkey string) ([]int32, map[int32]string, error) {
	a, b, err := bothSides(src, dst, func(c *pgx.Conn) (map[int32]string, error) { return bucketPrints(ctx, c, tb, pkey, nil) })
	if err != nil {
		return nil, nil, fmt.Errorf("fingerprinting %s: %w", tb, err)
	}
	var out []int32
	for k, v := range a {
		if b[k] != v {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	return out, a, nil
}

// bothSides runs fn on the source and the target at once.
func bothSides[T any](src, dst *pgx.Conn, fn func(*pgx.Conn) (T, error)) (T, T, error) {
	var a, b T
	var aerr, berr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a, aerr = fn(src) }()
	b, berr = fn(dst)
	wg.Wait()
	return a, b, errors.Join(aerr, berr)
}

// syncCopy brings the target level with the source (writes paused) and
// checks every table's fingerprint afterwards.
func (b *postgresBackend) syncCopy(ctx context.Context, m *TenantMove) ([]TableCount, error) {
	src, err := b.connectDB(ctx, m.FromServer, m.FromDatabase)
	if err != nil {
		return nil, err
	}
	defer src.Close(context.WithoutCancel(ctx))
	dst, err := b.connectDB(ctx, m.ToServer, m.ToDatabase)
	if err != nil {
		return nil, err
	}
	defer dst.Close(context.WithoutCancel(ctx))
	shape, dshape, err := bothSides(src, dst, func(c *pgx.Conn) (*dbShape, error) { return readShape(ctx, c) })
	if err != nil {
		return nil, err
	}
	if fmt.Sprint(shape.columns) != fmt.Sprint(dshape.columns) {
		return nil, errors.New("the copy's tables or columns differ from the church's (was it migrated during the move?)")
	}
	before, after, err := bothSides(src, dst, func(c *pgx.Conn) (map[string]tableSum, error) { return fingerprint(ctx, c, shape.tables) })
	if err != nil {
		return nil, err
	}
	// Tables with a primary key get only their changed rows; a table
	// without one is emptied and copied again, and with it (TRUNCATE's rule)
	// every table whose foreign keys reference it.
	full, delta := map[string]bool{}, map[string]bool{}
	var mark func(string)
	mark = func(tb string) {
		if !full[tb] {
			full[tb] = true
			for _, child := range shape.refs[tb] {
				mark(child)
			}
		}
	}
	for _, tb := range shape.tables {
		if before[tb] != after[tb] && shape.pkey[tb] == "" {
			mark(tb)
		}
	}
	for _, tb := range shape.tables {
		if before[tb] != after[tb] && !full[tb] {
			delta[tb] = true
		}
	}
	buckets := map[string][]int32{}
	srcBuckets := map[string]map[int32]string{}
	for tb := range delta {
		if buckets[tb], srcBuckets[tb], err = differingBuckets(ctx, src, dst, tb, shape.pkey[tb]); err != nil {
			return nil, err
		}
	}
	if err := recopy(ctx, src, dst, shape, full, buckets); err != nil {
		if len(delta) == 0 {
			return nil, err
		}
		// A row-level update the schema refuses (a unique value moved
		// between rows): copy those tables whole instead.
		for tb := range buckets {
			mark(tb)
		}
		if err := recopy(ctx, src, dst, shape, full, nil); err != nil {
			return nil, err
		}
		delta = nil
	}
	// A table brought level row by row changed only in its differing
	// buckets: checking those on the target is checking the table.
	for tb := range delta {
		got, err := bucketPrints(ctx, dst, tb, shape.pkey[tb], buckets[tb])
		if err != nil {
			return nil, fmt.Errorf("checking %s: %w", tb, err)
		}
		level := true
		for _, b := range buckets[tb] {
			level = level && got[b] == srcBuckets[tb][b]
		}
		if level {
			after[tb] = before[tb]
		}
	}
	if len(full) > 0 {
		var again []string
		for _, tb := range shape.tables {
			if full[tb] {
				again = append(again, tb)
			}
		}
		fresh, err := fingerprint(ctx, dst, again)
		if err != nil {
			return nil, err
		}
		for tb, s := range fresh {
			after[tb] = s
		}
	}
	out := make([]TableCount, 0, len(shape.tables))
	var bad []string
	for _, tb := range shape.tables {
		out = append(out, TableCount{Table: tb, From: before[tb].rows, To: after[tb].rows})
		if before[tb] != after[tb] {
			bad = append(bad, fmt.Sprintf("%s (%d rows here, %d there)", tb, before[tb].rows, after[tb].rows))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Table < out[j].Table })
	if len(bad) > 0 {
		return out, fmt.Errorf("the copy differs from the church's database after the copy: %s", strings.Join(bad, ", "))
	}
	return out, nil
}

// recopy empties the tables in full on the target and copies them again,
// brings the changed rows of those in delta, then sets every sequence, in
// one target transaction.
func recopy(ctx context.Context, src, dst *pgx.Conn, shape *dbShape, full map[string]bool, delta map[string][]int32) error {
	tx, err := dst.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op
	var list []string
	for _, tb := range shape.tables {
		if full[tb] {
			list = append(list, tb)
		}
	}
	if len(list) > 0 {
		if _, err := tx.Exec(ctx, `TRUNCATE `+strings.Join(list, ", ")); err != nil {
			return err
		}
	}
	for _, tb := range list {
		if err := streamTable(ctx, src, dst, tb, shape.columns[tb]); err != nil {
			return fmt.Errorf("copying %s: %w", tb, err)
		}
	}
	if err := applyDeltas(ctx, src, dst, shape, delta); err != nil {
		return err
	}
	rows, err := src.Query(ctx, `SELECT format('%I.%I', schemaname, sequencename), last_value FROM pg_sequences
		WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		return err
	}
	type seq struct {
		name string
		last *int64
	}
	var seqs []seq
	for rows.Next() {
		var s seq
		if err := rows.Scan(&s.name, &s.last); err != nil {
			rows.Close()
			return err
		}
		seqs = append(seqs, s)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, s := range seqs {
		if s.last == nil {
			_, err = tx.Exec(ctx, `SELECT setval($1::regclass, 1, false)`, s.name)
		} else {
			_, err = tx.Exec(ctx, `SELECT setval($1::regclass, $2, true)`, s.name, *s.last)
		}
		if err != nil {
			return fmt.Errorf("sequence %s: %w", s.name, err)
		}
	}
	return tx.Commit(ctx)
}

// applyDeltas brings the rows that differ: rows gone from the source are
// deleted (children first), new and changed ones upserted (parents first).
func applyDeltas(ctx context.Context, src, dst *pgx.Conn, shape *dbShape, delta map[string][]int32) error {
	if len(delta) == 0 {
		return nil
	}
	type diff struct{ upsert, gone []string }
	diffs := map[string]diff{}
	for _, tb := range shape.tables {
		bs, ok := delta[tb]
		if !ok {
			continue
		}
		q := `SELECT ROW(` + shape.pkey[tb] + `)::text, hashtextextended(t::text, 0) FROM ` + tb + ` t
			WHERE ` + bucketOf(shape.pkey[tb]) + ` = ANY($1::int[])`
		from, to, err := bothSides(src, dst, func(c *pgx.Conn) (map[string]int64, error) { return rowHashes(ctx, c, q, bs) })
		if err != nil {
			return fmt.Errorf("comparing the rows of %s: %w", tb, err)
		}
		var d diff
		for k, h := range from {
			if th, ok := to[k]; !ok || th != h {
				d.upsert = append(d.upsert, k)
			}
		}
		for k := range to {
			if _, ok := from[k]; !ok {
				d.gone = append(d.gone, k)
			}
		}
		diffs[tb] = d
	}
	for i := len(shape.tables) - 1; i >= 0; i-- {
		tb := shape.tables[i]
		if d := diffs[tb]; len(d.gone) > 0 {
			if _, err := dst.Exec(ctx, `DELETE FROM `+tb+` t WHERE ROW(`+shape.pkey[tb]+`)::text = ANY($1::text[])`, d.gone); err != nil {
				return fmt.Errorf("deleting rows of %s: %w", tb, err)
			}
		}
	}
	for _, tb := range shape.tables {
		if d := diffs[tb]; len(d.upsert) > 0 {
			if err := upsertRows(ctx, src, dst, shape, tb, d.upsert); err != nil {
				return fmt.Errorf("updating rows of %s: %w", tb, err)
			}
		}
	}
	return nil
}

func rowHashes(ctx context.Context, c *pgx.Conn, q string, buckets []int32) (map[string]int64, error) {
	rows, err := c.Query(ctx, q, buckets)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var k string
		var h int64
		if err := rows.Scan(&k, &h); err != nil {
			return nil, err
		}
		out[k] = h
	}
	return out, rows.Err()
}

// upsertRows copies the rows of tb with the given keys from the source
// into a temporary table on the target, then upserts them.
func upsertRows(ctx context.Context, src, dst *pgx.Conn, shape *dbShape, tb string, keys []string) error {
	if _, err := src.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS pg_temp.steeple_move_keys (k text); TRUNCATE pg_temp.steeple_move_keys`); err != nil {
		return err
	}
	rows := make([][]any, len(keys))
	for i, k := range keys {
		rows[i] = []any{k}
	}
	if _, err := src.CopyFrom(ctx, pgx.Identifier{"pg_temp", "steeple_move_keys"}, []string{"k"}, pgx.CopyFromRows(rows)); err != nil {
		return err
	}
	cols := shape.columns[tb]
	if _, err := dst.Exec(ctx, `DROP TABLE IF EXISTS pg_temp.steeple_move_rows; CREATE TEMP TABLE pg_temp.steeple_move_rows AS SELECT `+cols+` FROM `+tb+` WITH NO DATA`); err != nil {
		return err
	}
	pick := `(SELECT ` + cols + ` FROM ` + tb + ` t WHERE ROW(` + shape.pkey[tb] + `)::text IN (SELECT k FROM pg_temp.steeple_move_keys))`
	if err := streamCopy(ctx, src, dst, `COPY `+pick+` TO STDOUT (FORMAT binary)`, `COPY pg_temp.steeple_move_rows FROM STDIN (FORMAT binary)`); err != nil {
		return err
	}
	onConflict := `DO NOTHING`
	if sets := shape.sets[tb]; len(sets) > 0 {
		parts := make([]string, len(sets))
		for i, c := range sets {
			parts[i] = c + ` = EXCLUDED.` + c
		}
		onConflict = `DO UPDATE SET ` + strings.Join(parts, ", ")
	}
	_, err := dst.Exec(ctx, `INSERT INTO `+tb+` (`+cols+`) OVERRIDING SYSTEM VALUE SELECT `+cols+` FROM pg_temp.steeple_move_rows
		ON CONFLICT (`+shape.pkey[tb]+`) `+onConflict)
	return err
}

// streamTable streams one table from source to target in COPY's binary form.
func streamTable(ctx context.Context, src, dst *pgx.Conn, table, columns string) error {
	return streamCopy(ctx, src, dst, `COPY `+table+` (`+columns+`) TO STDOUT (FORMAT binary)`,
		`COPY `+table+` (`+columns+`) FROM STDIN (FORMAT binary)`)
}

// streamCopy pipes a COPY TO on the source into a COPY FROM on the target.
func streamCopy(ctx context.Context, src, dst *pgx.Conn, out, in string) error {
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		_, err := src.PgConn().CopyTo(ctx, pw, out)
		pw.CloseWithError(err)
		errc <- err
	}()
	_, err := dst.PgConn().CopyFrom(ctx, pr, in)
	pr.CloseWithError(err) // unblocks the reader side if the target gave up first
	if serr := <-errc; serr != nil && err == nil {
		err = serr
	}
	return err
}
