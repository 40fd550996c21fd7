package tenancy

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"time"

	"github.com/steeple-sms/steeple"
)

// ErrMoving is the cause when a church's writes are paused while its
// database is copied to another server. Callers retry: the HTTP layer
// answers 503 with Retry-After, queued jobs are retried.
var ErrMoving = errors.New("church being moved to another database server")

// moveLockKey is the PostgreSQL advisory lock that fences a church's
// database during a move. Every handle holds it shared for as long as it
// is held; the move takes it exclusively, so it waits for the handles
// already out and no new one starts until the church is on its new server.
// Advisory locks are per database, so one key serves every church.
const moveLockKey int64 = 0x53746565706c65 // "Steeple"

// MoveRetryAfter is when to try again a church paused for a move.
const MoveRetryAfter = time.Second

func errMoving(string) error {
	return &steeple.Error{Code: steeple.EUNAVAILABLE, Message: "the church is being moved to another database server; try again in a moment",
		RetryAfter: MoveRetryAfter, Err: ErrMoving}
}

// retire takes a pool opened on a church's previous placement out of the
// manager's view. An idle one is returned for the caller to close; one in
// use is closed when its last handle is released. Caller holds mu.
func (m *Manager) retire(p *pool) *pool {
	delete(m.pools, p.id)
	m.closing++
	if p.idleElem != nil {
		m.idle.Remove(p.idleElem)
		p.idleElem = nil
		return p
	}
	p.retired = true
	return nil
}

// Forget closes this process's pool on a church's database now that the
// church has moved (it would be retired on the next acquisition anyway).
func (m *Manager) Forget(id string) {
	m.mu.Lock()
	p := m.pools[id]
	var victim *pool
	if p != nil {
		victim = m.retire(p)
	}
	m.mu.Unlock()
	if victim != nil {
		m.closePool(victim)
	}
}

// fence takes the move lock shared on a fresh handle's connection. It
// answers the moving error when a move holds it: the registry said active
// a moment ago, but the move has just begun.
func fence(ctx context.Context, t *steeple.Tenant, conn *sql.Conn) error {
	if t.Backend != steeple.BackendPostgres {
		return nil
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock_shared($1)`, moveLockKey).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return errMoving(t.ID)
	}
	return nil
}

// unfence lets go of a handle's shared move lock. It reports false when
// that failed: the connection must then be closed, or the lock would
// outlive the handle and hold up a move.
func unfence(t *steeple.Tenant, conn *sql.Conn) bool {
	if t.Backend != steeple.BackendPostgres {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock_shared($1)`, moveLockKey)
	return err == nil
}

// discardConn makes database/sql close this very connection instead of
// keeping it in the pool.
func discardConn(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}
