package tenancy

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pgWriter is what the copier writes through: a pgx connection or transaction.
type pgWriter interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
}

// pgColumn is one column of a PostgreSQL table as information_schema tells it.
type pgColumn struct {
	name     string
	dataType string // information_schema data_type: "boolean", "bytea", "ARRAY"…
	sequence bool   // an identity column or one whose default is nextval()
}

// pgTableColumns reads the columns of every table in the current schema,
// by table and column name, in one query.
func pgTableColumns(ctx context.Context, w pgWriter) (map[string]map[string]pgColumn, error) {
	rows, err := w.Query(ctx, `SELECT table_name, column_name, data_type,
		is_identity = 'YES' OR COALESCE(column_default, '') LIKE 'nextval(%'
		FROM information_schema.columns WHERE table_schema = current_schema()`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[string]pgColumn{}
	for rows.Next() {
		var table string
		var c pgColumn
		if err := rows.Scan(&table, &c.name, &c.dataType, &c.sequence); err != nil {
			return nil, err
		}
		if out[table] == nil {
			out[table] = map[string]pgColumn{}
		}
		out[table][c.name] = c
	}
	return out, rows.Err()
}

// rowEdit may change a row (values by column index) before it is written.
type rowEdit func(cols []string, row []any) error

// copyTable copies every row of table from a SQLite database to PostgreSQL
// with COPY, converting each value to its PostgreSQL column's type, and
// returns the rows copied. Identity and serial columns keep their values
// (COPY writes them as given) and their sequences are moved past the largest.
// The caller owns the transaction: a failure leaves it to be rolled back.
func copyTable(ctx context.Context, src *sql.DB, dst pgWriter, table string, schema map[string]map[string]pgColumn, edit rowEdit) (int64, error) {
	cols := schema[table]
	if len(cols) == 0 {
		return 0, fmt.Errorf("table %s does not exist on PostgreSQL (the two schemas differ)", table)
	}
	rows, err := src.QueryContext(ctx, `SELECT * FROM `+quoteIdent(table))
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	targets := make([]pgColumn, len(names))
	for i, n := range names {
		c, ok := cols[strings.ToLower(n)]
		if !ok {
			return 0, fmt.Errorf("column %s.%s does not exist on PostgreSQL (the two schemas differ)", table, n)
		}
		targets[i] = c
	}
	s := &sqliteRows{rows: rows, table: table, cols: targets, names: names, edit: edit}
	s.vals, s.ptrs = make([]any, len(names)), make([]any, len(names))
	for i := range s.vals {
		s.ptrs[i] = &s.vals[i]
	}
	// Most tables of a small church are empty: skip their COPY round trip.
	if !s.Next() {
		return 0, s.Err()
	}
	s.peeked = true
	n, err := dst.CopyFrom(ctx, pgx.Identifier{table}, lowerAll(names), s)
	if err != nil {
		return n, fmt.Errorf("copy %s: %w", table, err)
	}
	if n != s.read {
		return n, fmt.Errorf("copy %s: read %d rows, wrote %d", table, s.read, n)
	}
	for _, c := range targets {
		if c.sequence {
			if _, err := dst.Exec(ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(MAX(%s), 0) + 1, false) FROM %s`,
				pgx.Identifier{c.name}.Sanitize(), pgx.Identifier{table}.Sanitize()), table, c.name); err != nil {
				return n, fmt.Errorf("sequence of %s.%s: %w", table, c.name, err)
			}
		}
	}
	return n, nil
}

// sqliteRows feeds COPY from a SQLite result set, one converted row at a time.
type sqliteRows struct {
	rows       *sql.Rows
	table      string
	cols       []pgColumn
	names      []string
	edit       rowEdit
	vals, ptrs []any
	read       int64
	err        error
	peeked     bool // the first row was read before COPY began
}

func (s *sqliteRows) Next() bool {
	if s.peeked {
		s.peeked = false
		return true
	}
	if s.err != nil || !s.rows.Next() {
		return false
	}
	clear(s.vals)
	if s.err = s.rows.Scan(s.ptrs...); s.err != nil {
		return false
	}
	for i, v := range s.vals {
		cv, err := convertValue(v, s.cols[i].dataType)
		if err != nil {
			s.err = fmt.Errorf("%s.%s: %w", s.table, s.names[i], err)
			return false
		}
		s.vals[i] = cv
	}
	if s.edit != nil {
		if s.err = s.edit(s.names, s.vals); s.err != nil {
			return false
		}
	}
	s.read++
	return true
}

func (s *sqliteRows) Values() ([]any, error) { return s.vals, nil }

func (s *sqliteRows) Err() error {
	if s.err != nil {
		return s.err
	}
	return s.rows.Err()
}

// sqliteTimeLayouts are the ways a time is written into SQLite: by the Go
// driver (time.Time's String without the monotonic part), by
// CURRENT_TIMESTAMP, and as RFC 3339.
var sqliteTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999 -0700 MST",
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

func parseSQLiteTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range sqliteTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time", s)
}

// convertValue turns a value read from SQLite (int64, float64, string,
// []byte, time.Time or nil) into what pgx writes into a column of the
// given information_schema data type.
func convertValue(v any, dataType string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch dataType {
	case "boolean":
		switch x := v.(type) {
		case int64:
			return x != 0, nil
		case bool:
			return x, nil
		case string:
			return strconv.ParseBool(x)
		}
	case "timestamp with time zone", "timestamp without time zone", "date":
		switch x := v.(type) {
		case time.Time:
			return x, nil
		case string:
			return parseSQLiteTime(x)
		case []byte:
			return parseSQLiteTime(string(x))
		case int64:
			return time.Unix(x, 0).UTC(), nil
		}
	case "bytea":
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	case "json", "jsonb":
		switch x := v.(type) {
		case string:
			return json.RawMessage(x), nil
		case []byte:
			return json.RawMessage(x), nil
		}
	case "smallint", "integer", "bigint":
		switch x := v.(type) {
		case int64:
			return x, nil
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		case float64:
			if x == float64(int64(x)) {
				return int64(x), nil
			}
		case string:
			return strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		}
	case "numeric", "double precision", "real":
		switch x := v.(type) {
		case int64, float64:
			return x, nil
		case string:
			return strconv.ParseFloat(strings.TrimSpace(x), 64)
		}
	case "text", "character varying", "character":
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64), nil
		case time.Time:
			return x.Format(time.RFC3339Nano), nil
		}
	case "ARRAY":
		// SQLite has no arrays: a list is kept as JSON text.
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case []byte:
			s = string(x)
		default:
			return nil, fmt.Errorf("cannot make an array of %T", v)
		}
		var list []any
		if err := json.Unmarshal([]byte(s), &list); err != nil {
			return nil, fmt.Errorf("array column holds %q, not a JSON list", s)
		}
		return list, nil
	default:
		return v, nil
	}
	return nil, fmt.Errorf("cannot store %T %v in a %s column", v, v, dataType)
}

// sqliteTables lists a SQLite database's own tables, each after the tables
// it references (so rows can be inserted in that order), leaving out
// SQLite's, goose's and the job queue's tables and any in skip.
func sqliteTables(ctx context.Context, db *sql.DB, skip ...string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name NOT LIKE 'river\_%' ESCAPE '\' AND name <> 'goose_db_version' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		if !contains(skip, n) {
			names = append(names, n)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	deps := map[string][]string{}
	for _, n := range names {
		refs, err := db.QueryContext(ctx, `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`, n)
		if err != nil {
			return nil, err
		}
		for refs.Next() {
			var r string
			if err := refs.Scan(&r); err != nil {
				refs.Close()
				return nil, err
			}
			if r != n && contains(names, r) {
				deps[n] = append(deps[n], r)
			}
		}
		refs.Close()
		if err := refs.Err(); err != nil {
			return nil, err
		}
	}
	return dependencyOrder(names, deps)
}

// dependencyOrder sorts names so that each comes after those it depends on.
func dependencyOrder(names []string, deps map[string][]string) ([]string, error) {
	sort.Strings(names)
	out := make([]string, 0, len(names))
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(n string) error
	visit = func(n string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("tables reference each other in a cycle through %s", n)
		case 2:
			return nil
		}
		state[n] = 1
		for _, d := range deps[n] {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[n] = 2
		out = append(out, n)
		return nil
	}
	for _, n := range names {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// countRows counts each table's rows in one query.
func countRows(ctx context.Context, w pgWriter, tables []string) (map[string]int64, error) {
	if len(tables) == 0 {
		return map[string]int64{}, nil
	}
	parts := make([]string, len(tables))
	for i, t := range tables {
		parts[i] = fmt.Sprintf("SELECT %d, COUNT(*) FROM %s", i, pgx.Identifier{t}.Sanitize())
	}
	rows, err := w.Query(ctx, strings.Join(parts, " UNION ALL "))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var i int
		var n int64
		if err := rows.Scan(&i, &n); err != nil {
			return nil, err
		}
		out[tables[i]] = n
	}
	return out, rows.Err()
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func lowerAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToLower(s)
	}
	return out
}
