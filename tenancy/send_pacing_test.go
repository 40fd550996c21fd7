package tenancy

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
)

// On a SQLite registry a send's claim reads the clock once its turn at the
// writer has come, not before it queued there: a claim timed before the
// wait would let the next send go less than an interval after this one.
func TestSQLiteClaimReadsTheClockAfterItsTurn(t *testing.T) {
	ctx := context.Background()
	db, err := openSQLite(SQLiteDSN(filepath.Join(t.TempDir(), "registry.db"), "rwc"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE send_pacing (key TEXT PRIMARY KEY, next_us BIGINT NOT NULL, sender TEXT NOT NULL DEFAULT '')`); err != nil {
		t.Fatal(err)
	}
	r := &Registry{db: db, backend: steeple.BackendSQLite}

	// Another writer holds the turn while the claim is asked for.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO send_pacing (key, next_us) VALUES ('number:+13125550100', 0)`); err != nil {
		t.Fatal(err)
	}
	type claim struct {
		wait    time.Duration
		claimed time.Time
		err     error
	}
	const interval = time.Second
	done := make(chan claim, 1)
	go func() {
		wait, claimed, err := r.ClaimSendTime(ctx, "number:+13125550199", interval)
		done <- claim{wait, claimed, err}
	}()
	time.Sleep(150 * time.Millisecond)
	released := time.Now()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	c := <-done
	if c.err != nil || c.wait != 0 {
		t.Fatalf("first claim: wait %v, %v; want the present moment", c.wait, c.err)
	}
	if c.claimed.Before(released) {
		t.Fatalf("claimed at %v, %v before its turn came", c.claimed.Format(time.StampMicro), released.Sub(c.claimed))
	}
	// The next send of the number waits a whole interval from that moment.
	wait, _, err := r.ClaimSendTime(ctx, "number:+13125550199", interval)
	if err != nil {
		t.Fatal(err)
	}
	if left := c.claimed.Add(interval).Sub(time.Now()); wait < left-10*time.Millisecond || wait > interval {
		t.Fatalf("next claim waits %v; want about %v", wait, left)
	}
}
