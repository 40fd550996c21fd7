package tenancy

import (
	"context"
	"database/sql/driver"
	"errors"
	"slices"
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
//
// Bulk writes (the send workers' pacing claims: one a text, most of the
// registry writer's time on a Sunday) wait behind every other writer: the
// job queue's fetches, completions and inserts, a webhook's event row. In
// the claims' FIFO those waited for a queue of claims each; the events
// queue then drained at 35 jobs a second and a STOP queued at the
// storm's start waited 6.5 s to be picked up (docs/benchmarks.md, eighth
// pass). Other writes are few, so the claims lose little.
type writeGate struct {
	mu   sync.Mutex
	held bool
	// waiting holds each class's waiters in arrival order; a waiter's
	// channel is closed when the turn is handed to it.
	waiting [2][]chan struct{}
}

// Write classes: a writer of the first goes before any of the second.
const (
	writeNormal = 0
	writeBulk   = 1
)

func newWriteGate() *writeGate { return &writeGate{} }

// writeGateWait matches the connections' busy_timeout (SQLiteDSN).
const writeGateWait = 10 * time.Second

var errWriteGateTimeout = errors.New("database is locked: waited 10s for this process's other writers")

// bulkWriteKey marks a context whose writes are bulk (see bulkWrites).
type bulkWriteKey struct{}

// bulkWrites marks ctx's SQLite writes as bulk: they take the write turn
// after every other writer waiting.
func bulkWrites(ctx context.Context) context.Context {
	return context.WithValue(ctx, bulkWriteKey{}, true)
}

func writeClass(ctx context.Context) int {
	if bulk, _ := ctx.Value(bulkWriteKey{}).(bool); bulk {
		return writeBulk
	}
	return writeNormal
}

func (g *writeGate) enter(ctx context.Context) error {
	class := writeClass(ctx)
	g.mu.Lock()
	if !g.held {
		g.held = true
		g.mu.Unlock()
		return nil
	}
	turn := make(chan struct{})
	g.waiting[class] = append(g.waiting[class], turn)
	g.mu.Unlock()
	t := time.NewTimer(writeGateWait)
	defer t.Stop()
	var err error
	select {
	case <-turn:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-t.C:
		err = errWriteGateTimeout
	}
	g.mu.Lock()
	if i := slices.Index(g.waiting[class], turn); i >= 0 {
		g.waiting[class] = slices.Delete(g.waiting[class], i, i+1)
		g.mu.Unlock()
		return err
	}
	g.mu.Unlock()
	// The turn was handed over as the wait ended: pass it on.
	g.leave()
	return err
}

// leave hands the turn to the first waiter of the first class that has
// one, or frees it.
func (g *writeGate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for class, q := range g.waiting {
		if len(q) > 0 {
			close(q[0])
			q[0] = nil
			g.waiting[class] = q[1:]
			return
		}
	}
	g.held = false
}

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
