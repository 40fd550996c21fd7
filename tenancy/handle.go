package tenancy

import (
	"context"
	"database/sql"
	"sync"

	"github.com/steeple-sms/steeple"
)

// Handle is one church's database for the length of a request or a job. It
// holds one connection from the tenant manager's budget; Release gives it
// back. Every function that touches tenant data takes a *Handle, so a query
// with no tenant cannot be written.
type Handle struct {
	tenant  steeple.Tenant
	conn    *sql.Conn
	release func()
	once    sync.Once
	// lend reaches callers waiting for this church's connection (Lend);
	// nil on a borrowed handle.
	lend     chan<- lendOffer
	borrowed bool
	// giveWay asks whether a send job's connection is to be given up for
	// a member's text waiting for room (Lend); nil on other handles.
	giveWay func() bool
}

// Tenant returns the church this handle belongs to, as the registry had it
// when the handle was acquired.
func (h *Handle) Tenant() steeple.Tenant { return h.tenant }

// TenantID returns the church's id.
func (h *Handle) TenantID() string { return h.tenant.ID }

// Backend tells which SQL dialect the database speaks.
func (h *Handle) Backend() steeple.Backend { return h.tenant.Backend }

// ExecContext runs a statement. Placeholders are $1, $2, … on both backends.
func (h *Handle) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return h.conn.ExecContext(ctx, query, args...)
}

// QueryContext runs a query returning rows.
func (h *Handle) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return h.conn.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query returning at most one row.
func (h *Handle) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return h.conn.QueryRowContext(ctx, query, args...)
}

// InTx runs fn in a transaction, committing if it returns nil.
func (h *Handle) InTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := h.conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// ReadTx runs fn in a read-only transaction that sees one consistent
// snapshot of the church (an export reads many tables): PostgreSQL needs
// REPEATABLE READ for that; a SQLite transaction reads one snapshot anyway.
func (h *Handle) ReadTx(ctx context.Context, fn func(*sql.Tx) error) error {
	var opts *sql.TxOptions
	if h.tenant.Backend == steeple.BackendPostgres {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	tx, err := h.conn.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to keep
	return fn(tx)
}

// Release returns the connection to the manager. It is safe to call more
// than once; the handle must not be used afterwards.
func (h *Handle) Release() {
	h.once.Do(h.release)
}
