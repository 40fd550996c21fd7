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

// syncSession sets what a row's text depends on, identically on both sides.
const syncSession = `SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres';
	SET extra_float_digits = 3; SET bytea_output = 'hex'`

// dbShape is what the sync needs to know of a database's tables.
type dbShape struct {
	tables  []string            // quoted names, parents before children
	columns map[string]string   // table → quoted, comma-separated copyable columns
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
	s := &dbShape{columns: map[string]string{}, refs: map[string][]string{}}
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
	redo := map[string]bool{}
	var mark func(string)
	mark = func(tb string) {
		if !redo[tb] {
			redo[tb] = true
			for _, child := range shape.refs[tb] {
				mark(child)
			}
		}
	}
	for _, tb := range shape.tables {
		if before[tb] != after[tb] {
			mark(tb)
		}
	}
	if err := recopy(ctx, src, dst, shape, redo); err != nil {
		return nil, err
	}
	if len(redo) > 0 {
		var again []string
		for _, tb := range shape.tables {
			if redo[tb] {
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

// recopy empties the tables in redo on the target and copies them again,
// then sets every sequence, in one target transaction.
func recopy(ctx context.Context, src, dst *pgx.Conn, shape *dbShape, redo map[string]bool) error {
	tx, err := dst.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op
	var list []string
	for _, tb := range shape.tables {
		if redo[tb] {
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

// streamTable streams one table from source to target in COPY's binary form.
func streamTable(ctx context.Context, src, dst *pgx.Conn, table, columns string) error {
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		_, err := src.PgConn().CopyTo(ctx, pw, `COPY `+table+` (`+columns+`) TO STDOUT (FORMAT binary)`)
		pw.CloseWithError(err)
		errc <- err
	}()
	_, err := dst.PgConn().CopyFrom(ctx, pr, `COPY `+table+` (`+columns+`) FROM STDIN (FORMAT binary)`)
	pr.CloseWithError(err) // unblocks the reader side if the target gave up first
	if serr := <-errc; serr != nil && err == nil {
		err = serr
	}
	return err
}
