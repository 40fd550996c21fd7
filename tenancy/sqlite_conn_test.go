package tenancy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// cachedOn returns how many statements the connection keeps.
func cachedOn(t *testing.T, conn *sql.Conn) int {
	t.Helper()
	n := -1
	if err := conn.Raw(func(dc any) error {
		n = len(dc.(*sqliteConn).stmts)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func openCachingTestDB(t *testing.T) (*sql.Conn, context.Context) {
	t.Helper()
	ctx := context.Background()
	db, err := openSQLite(SQLiteDSN(filepath.Join(t.TempDir(), "c.db"), "rwc"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.ExecContext(ctx, `CREATE TABLE t (x INTEGER PRIMARY KEY, name TEXT)`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		if _, err := conn.ExecContext(ctx, `INSERT INTO t (x, name) VALUES ($1, $2)`, i, fmt.Sprint("n", i)); err != nil {
			t.Fatal(err)
		}
	}
	return conn, ctx
}

func TestSQLiteStatementsAreKeptAndReused(t *testing.T) {
	conn, ctx := openCachingTestDB(t)
	// CREATE and INSERT so far: the INSERT was kept once, not five times.
	if n := cachedOn(t, conn); n != 2 {
		t.Fatalf("kept %d statements, want 2 (CREATE, INSERT)", n)
	}
	var name string
	for i := 1; i <= 5; i++ {
		if err := conn.QueryRowContext(ctx, `SELECT name FROM t WHERE x = $1`, i).Scan(&name); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprint("n", i); name != want {
			t.Fatalf("row %d: got %q, want %q", i, name, want)
		}
	}
	if n := cachedOn(t, conn); n != 3 {
		t.Fatalf("kept %d statements, want 3", n)
	}
	// A script is run, not kept.
	if _, err := conn.ExecContext(ctx, `UPDATE t SET name = 'a' WHERE x = 1; UPDATE t SET name = 'b' WHERE x = 2`); err != nil {
		t.Fatal(err)
	}
	if n := cachedOn(t, conn); n != 3 {
		t.Fatalf("a script was kept: %d statements", n)
	}
	if err := conn.QueryRowContext(ctx, `SELECT name FROM t WHERE x = $1`, 2).Scan(&name); err != nil || name != "b" {
		t.Fatalf("after the script: %q, %v", name, err)
	}
	// One statement with a semicolon in a comment (as River's completion
	// has) is kept.
	for i := 1; i <= 2; i++ {
		if _, err := conn.ExecContext(ctx, "-- one statement; not two\nUPDATE t SET name = 'c' WHERE x = $1", i); err != nil {
			t.Fatal(err)
		}
	}
	if n := cachedOn(t, conn); n != 4 {
		t.Fatalf("kept %d statements, want 4: the commented one once", n)
	}
	// A kept SELECT * sees a column added after it was prepared.
	if _, err := conn.ExecContext(ctx, `ALTER TABLE t ADD COLUMN extra TEXT DEFAULT 'e'`); err != nil {
		t.Fatal(err)
	}
	var x int
	var n, extra string
	if err := conn.QueryRowContext(ctx, `SELECT * FROM t WHERE x = $1`, 3).Scan(&x, &n, &extra); err != nil || extra != "e" {
		t.Fatalf("after ALTER: %q, %v", extra, err)
	}
}

func TestSQLiteStatementInUseIsNotShared(t *testing.T) {
	conn, ctx := openCachingTestDB(t)
	const q = `SELECT x FROM t WHERE x >= $1 ORDER BY x`
	outer, err := conn.QueryContext(ctx, q, 2)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for outer.Next() {
		var x int
		if err := outer.Scan(&x); err != nil {
			t.Fatal(err)
		}
		// The same text again while the outer rows are open must not
		// reset them.
		inner, err := conn.QueryContext(ctx, q, 5)
		if err != nil {
			t.Fatal(err)
		}
		var innerRows int
		for inner.Next() {
			innerRows++
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
		if innerRows != 1 {
			t.Fatalf("inner query: %d rows, want 1", innerRows)
		}
		got = append(got, x)
		if len(got) > 4 {
			t.Fatalf("the outer rows started again: %v", got)
		}
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	if fmt.Sprint(got) != "[2 3 4 5]" {
		t.Fatalf("outer rows %v, want [2 3 4 5]", got)
	}
}

func TestSQLiteStatementCacheIsBounded(t *testing.T) {
	conn, ctx := openCachingTestDB(t)
	for i := range stmtCacheSize + 10 {
		var x int
		q := fmt.Sprintf(`SELECT x + %d FROM t WHERE x = $1`, i)
		if err := conn.QueryRowContext(ctx, q, 1).Scan(&x); err != nil || x != 1+i {
			t.Fatalf("query %d: %d, %v", i, x, err)
		}
	}
	if n := cachedOn(t, conn); n != stmtCacheSize {
		t.Fatalf("kept %d statements, want at most %d", n, stmtCacheSize)
	}
	// Kept statements serve a transaction, and a rollback undoes them.
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO t (x, name) VALUES ($1, $2)`, 9, "n9"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	var count int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&count); err != nil || count != 5 {
		t.Fatalf("after rollback: %d rows, %v", count, err)
	}
}

func TestSQLiteWritersTakeTurnsInProcess(t *testing.T) {
	ctx := context.Background()
	db, err := openSQLite(SQLiteDSN(filepath.Join(t.TempDir(), "g.db"), "rwc"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (x INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	// A failed write and a failed transaction give their turn back.
	if _, err := db.ExecContext(ctx, `INSERT INTO t (x) VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO t (x) VALUES (1)`); err == nil {
		t.Fatal("duplicate key accepted")
	}
	if tx, err := db.BeginTx(ctx, nil); err != nil {
		t.Fatal(err)
	} else {
		_, _ = tx.ExecContext(ctx, `INSERT INTO t (x) VALUES (1)`)
		_ = tx.Rollback()
	}

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO t (x) VALUES (2)`); err != nil {
		t.Fatal(err)
	}
	// While the transaction holds the turn, a read goes at once and
	// sees what was committed.
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("read beside the transaction: %d, %v", n, err)
	}
	// A writer whose context ends first gives up with that error.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := db.ExecContext(short, `INSERT INTO t (x) VALUES (3)`); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("writer with a short context: %v, want its deadline", err)
	}
	// A writer waits for its turn, and goes the moment the transaction
	// ends: SQLite's own wait would sleep up to 100 ms between tries.
	var late time.Duration
	for round := range 5 {
		if round > 0 {
			if tx, err = db.BeginTx(ctx, nil); err != nil {
				t.Fatal(err)
			}
		}
		wrote := make(chan time.Time, 1)
		go func() {
			if _, err := db.ExecContext(ctx, `INSERT INTO t (x) VALUES ($1)`, 10+round); err != nil {
				t.Error(err)
			}
			wrote <- time.Now()
		}()
		time.Sleep(250 * time.Millisecond)
		select {
		case <-wrote:
			t.Fatal("a second writer went while the transaction held the turn")
		default:
		}
		committed := time.Now()
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		late += (<-wrote).Sub(committed)
	}
	if late > 100*time.Millisecond {
		t.Fatalf("waiting writers went %v after the commits in all (5 rounds)", late)
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 7 {
		t.Fatalf("rows at the end: %d, %v (want 7)", n, err)
	}
}

func TestSQLiteWritesClassified(t *testing.T) {
	for q, want := range map[string]bool{
		"SELECT 1": false, "\n\t select x FROM t": false, "(SELECT 1)": false, "VALUES (1)": false,
		"INSERT INTO t VALUES (1)": true, "UPDATE t SET x = 1": true, "DELETE FROM t": true,
		"WITH a AS (SELECT 1) DELETE FROM t": true, "PRAGMA wal_checkpoint": true, "x": true,
		"-- name: JobGetByID :one\nSELECT * FROM river_job": false, "/* a */ SELECT 1": false,
		"-- name: JobInsert\nINSERT INTO t VALUES (1)": true, "-- only a comment": true,
	} {
		if got := writes(q); got != want {
			t.Errorf("writes(%q) = %v, want %v", q, got, want)
		}
	}
}

// Bulk writers (pacing claims) take the turn after every other writer
// waiting, whatever the order they came in; each class keeps its own
// order; a waiter that gives up leaves the queue without losing anyone's
// turn.
func TestWriteGateLetsOtherWritersBeforeBulk(t *testing.T) {
	ctx := context.Background()
	g := newWriteGate()
	if err := g.enter(ctx); err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		order  []string
		wg     sync.WaitGroup
		queued int // waiters in the gate's queues
	)
	queue := func(name string, c context.Context) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.enter(c); err != nil {
				t.Errorf("%s: %v", name, err)
				return
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			g.leave()
		}()
		// Queued before the next comes.
		for deadline := time.Now().Add(time.Second); ; {
			g.mu.Lock()
			n := len(g.waiting[writeNormal]) + len(g.waiting[writeBulk])
			g.mu.Unlock()
			if n == queued+1 {
				queued = n
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not queued after 1 s (%d waiting)", name, n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	queue("claim 1", bulkWrites(ctx))
	queue("claim 2", bulkWrites(ctx))
	// One that gives up, queued among them.
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if err := g.enter(bulkWrites(short)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a bulk writer whose context ended: %v", err)
	}
	queue("fetch", ctx)
	queue("stop", ctx)
	g.leave()
	wg.Wait()
	if want := []string{"fetch", "stop", "claim 1", "claim 2"}; !slices.Equal(order, want) {
		t.Fatalf("turns went %v; want %v", order, want)
	}
	// Everyone done: the gate is free.
	if err := g.enter(ctx); err != nil {
		t.Fatal(err)
	}
	g.leave()
}

// A waiter whose wait ends (its context) just as the turn is handed to it
// passes the turn on: the gate is never left held by nobody.
func TestWriteGateHandOverAtGiveUp(t *testing.T) {
	g := newWriteGate()
	for range 200 {
		if err := g.enter(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- g.enter(bulkWrites(ctx)) }()
		for {
			g.mu.Lock()
			n := len(g.waiting[writeBulk])
			g.mu.Unlock()
			if n == 1 {
				break
			}
			time.Sleep(10 * time.Microsecond)
		}
		// Give up and hand over at the same moment.
		go cancel()
		g.leave()
		if err := <-done; err == nil {
			g.leave() // it got the turn: its holder leaves
		}
		free := make(chan error, 1)
		go func() { free <- g.enter(context.Background()) }()
		select {
		case err := <-free:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(time.Second):
			t.Fatal("the gate stayed held after a waiter gave up as it was handed the turn")
		}
		g.leave()
	}
}
