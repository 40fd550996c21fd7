package tenancy

import (
	"context"
	"database/sql/driver"
	"errors"
	"strings"
	"sync"
	"time"
)

// writeGate makes one database's writers in this process take turns in
// Go rather than in SQLite. SQLite has one writer at a time per file, and a
// writer that finds the file locked polls under busy_timeout, sleeping up
// to 100 ms between tries whatever the holder's progress. On a busy Sunday
// the registry's pacing claims (one write a text) spent most of their time
// asleep there while the lock was free (docs/benchmarks.md). Waiters here
// are woken in turn the moment the writer before them is done.
//
// Another process (a CLI command) still meets the SQLite lock, and waits
// under busy_timeout as before.
type writeGate struct{ turn chan struct{} }

func newWriteGate() *writeGate { return &writeGate{turn: make(chan struct{}, 1)} }

// writeGateWait matches the connections' busy_timeout (SQLiteDSN).
const writeGateWait = 10 * time.Second

var errWriteGateTimeout = errors.New("database is locked: another writer in this process held it for 10s")

func (g *writeGate) enter(ctx context.Context) error {
	select {
	case g.turn <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(writeGateWait)
	defer t.Stop()
	select {
	case g.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return errWriteGateTimeout
	}
}

func (g *writeGate) leave() { <-g.turn }

// writes says whether a statement outside a transaction may write: all but
// plain reads. Guessing a read wrongly only leaves that statement to
// SQLite's own lock.
func writes(query string) bool {
	q := skipComments(query)
	if len(q) < 6 {
		return true
	}
	switch strings.ToUpper(q[:6]) {
	case "SELECT", "VALUES":
		return false
	}
	return true
}

// skipComments drops leading blanks, parentheses and comments (River's
// queries start with "-- name: …").
func skipComments(q string) string {
	for {
		q = strings.TrimLeft(q, " \t\r\n(")
		switch {
		case strings.HasPrefix(q, "--"):
			i := strings.IndexByte(q, '\n')
			if i < 0 {
				return ""
			}
			q = q[i+1:]
		case strings.HasPrefix(q, "/*"):
			i := strings.Index(q, "*/")
			if i < 0 {
				return ""
			}
			q = q[i+2:]
		default:
			return q
		}
	}
}

// gatedTx leaves the gate when the transaction ends.
type gatedTx struct {
	driver.Tx
	c    *sqliteConn
	once sync.Once
}

func (t *gatedTx) Commit() error {
	err := t.Tx.Commit()
	t.once.Do(t.c.leaveGate)
	return err
}

func (t *gatedTx) Rollback() error {
	err := t.Tx.Rollback()
	t.once.Do(t.c.leaveGate)
	return err
}

// enterGate takes the database's write turn unless this connection holds
// it already (inside a transaction). It returns whether it took it.
func (c *sqliteConn) enterGate(ctx context.Context) (bool, error) {
	if c.gate == nil || c.inGate {
		return false, nil
	}
	if err := c.gate.enter(ctx); err != nil {
		return false, err
	}
	c.inGate = true
	return true, nil
}

func (c *sqliteConn) leaveGate() {
	if c.inGate {
		c.inGate = false
		c.gate.leave()
	}
}
