package tenancy

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"reflect"

	"modernc.org/sqlite"
)

// stmtCacheSize is how many statements each SQLite connection keeps
// prepared. The hot paths (sending, receipts, members' texts) use a few
// dozen distinct statements.
const stmtCacheSize = 64

// openSQLite opens a SQLite database (a church's or the registry) whose
// connections keep their prepared statements and take turns to write (see
// writeGate). database/sql prepares a statement on every call made without
// Prepare, and on SQLite that parse was about a quarter of the CPU of the
// 1,000-church Sunday storm (docs/benchmarks.md). PostgreSQL needs none of
// this: pgx caches prepared statements per connection itself.
func openSQLite(dsn string) (*sql.DB, error) {
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(sqliteConnector{Connector: base, gate: newWriteGate()}), nil
}

// sqliteConnector opens one database's connections, which share its
// write gate.
type sqliteConnector struct {
	driver.Connector
	gate *writeGate
}

func (c sqliteConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &sqliteConn{conn: conn, gate: c.gate, stmts: map[string]*cachedStmt{}}, nil
}

// sqliteDriverConn is what every connection the SQLite driver opens offers; the
// wrapper forwards all of it, or database/sql would fall back to the
// context-free methods (see sqlite.NewConnector).
type sqliteDriverConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// sqliteConn keeps up to stmtCacheSize prepared statements by their
// text, and takes its database's write turn for each write (see
// writeGate). database/sql never uses one connection from two goroutines
// at once, so it needs no lock.
type sqliteConn struct {
	conn   driver.Conn
	gate   *writeGate
	inGate bool // holds the gate: in a transaction, or running a write
	stmts  map[string]*cachedStmt
	clock  uint64 // counts uses, for least-recently-used eviction
}

// preparedStmt is what the driver's prepared statements offer.
type preparedStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

type cachedStmt struct {
	preparedStmt
	busy     bool // rows still open on it
	lastUsed uint64
}

func (c *sqliteConn) inner() sqliteDriverConn { return c.conn.(sqliteDriverConn) }

// Unwrap returns the driver's own connection (sqlite.Limit looks for it).
func (c *sqliteConn) Unwrap() driver.Conn { return c.conn }

func (c *sqliteConn) Prepare(query string) (driver.Stmt, error) { return c.conn.Prepare(query) }

func (c *sqliteConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.inner().PrepareContext(ctx, query)
}

func (c *sqliteConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx takes the write turn for a transaction that may write: with
// _txlock=immediate, SQLite takes its write lock at BEGIN too.
func (c *sqliteConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if opts.ReadOnly {
		return c.inner().BeginTx(ctx, opts)
	}
	took, err := c.enterGate(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := c.inner().BeginTx(ctx, opts)
	if !took {
		return tx, err
	}
	if err != nil {
		c.leaveGate()
		return nil, err
	}
	return &gatedTx{Tx: tx, c: c}, nil
}

func (c *sqliteConn) Ping(ctx context.Context) error { return c.inner().Ping(ctx) }

func (c *sqliteConn) ResetSession(ctx context.Context) error {
	return c.inner().ResetSession(ctx)
}

func (c *sqliteConn) IsValid() bool { return c.inner().IsValid() }

// Close gives back the write turn if held, and finalizes the kept
// statements before the connection.
func (c *sqliteConn) Close() error {
	c.leaveGate()
	for q, s := range c.stmts {
		_ = s.Close()
		delete(c.stmts, q)
	}
	return c.conn.Close()
}

// writeTurn takes the write turn for a query that writes, unless this
// connection holds it already; release gives back what it took.
func (c *sqliteConn) writeTurn(ctx context.Context, query string) (release func(), err error) {
	if !writes(query) {
		return func() {}, nil
	}
	took, err := c.enterGate(ctx)
	if err != nil || !took {
		return func() {}, err
	}
	return c.leaveGate, nil
}

func (c *sqliteConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	release, err := c.writeTurn(ctx, query)
	if err != nil {
		return nil, err
	}
	defer release()
	s, done, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	defer done()
	return s.ExecContext(ctx, args)
}

// QueryContext holds the write turn of a writing query (INSERT …
// RETURNING) until its rows are closed.
func (c *sqliteConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	release, err := c.writeTurn(ctx, query)
	if err != nil {
		return nil, err
	}
	s, stmtDone, err := c.statement(ctx, query)
	if err != nil {
		release()
		return nil, err
	}
	done := func() { stmtDone(); release() }
	rows, err := s.QueryContext(ctx, args)
	if err != nil {
		done()
		return nil, err
	}
	return &releasingRows{Rows: rows, done: done}, nil
}

// statement returns query prepared, and done, to call once its result is
// read. A script (several statements) or a statement already in use by
// open rows gets a statement of its own, closed by done.
func (c *sqliteConn) statement(ctx context.Context, query string) (*cachedStmt, func(), error) {
	c.clock++
	if s, ok := c.stmts[query]; ok && !s.busy {
		s.busy, s.lastUsed = true, c.clock
		return s, func() { s.busy = false }, nil
	}
	ds, err := c.inner().PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	s := &cachedStmt{preparedStmt: ds.(preparedStmt), busy: true, lastUsed: c.clock}
	if _, taken := c.stmts[query]; taken || isScript(query) {
		return s, func() { _ = ds.Close() }, nil
	}
	if len(c.stmts) >= stmtCacheSize && !c.evict() {
		return s, func() { _ = ds.Close() }, nil
	}
	c.stmts[query] = s
	return s, func() { s.busy = false }, nil
}

// evict closes the least recently used statement not in use.
func (c *sqliteConn) evict() bool {
	var oldest string
	var found *cachedStmt
	for q, s := range c.stmts {
		if !s.busy && (found == nil || s.lastUsed < found.lastUsed) {
			oldest, found = q, s
		}
	}
	if found == nil {
		return false
	}
	_ = found.Close()
	delete(c.stmts, oldest)
	return true
}

// releasingRows hands its statement back when closed, and forwards the
// column-type methods the driver's rows offer.
type releasingRows struct {
	driver.Rows
	done func()
}

func (r *releasingRows) Close() error {
	err := r.Rows.Close()
	if r.done != nil {
		r.done()
		r.done = nil
	}
	return err
}

type sqliteColumnTypes interface {
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

func (r *releasingRows) ColumnTypeDatabaseTypeName(i int) string {
	return r.Rows.(sqliteColumnTypes).ColumnTypeDatabaseTypeName(i)
}

func (r *releasingRows) ColumnTypeLength(i int) (int64, bool) {
	return r.Rows.(sqliteColumnTypes).ColumnTypeLength(i)
}

func (r *releasingRows) ColumnTypeNullable(i int) (bool, bool) {
	return r.Rows.(sqliteColumnTypes).ColumnTypeNullable(i)
}

func (r *releasingRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	return r.Rows.(sqliteColumnTypes).ColumnTypePrecisionScale(i)
}

func (r *releasingRows) ColumnTypeScanType(i int) reflect.Type {
	return r.Rows.(sqliteColumnTypes).ColumnTypeScanType(i)
}
