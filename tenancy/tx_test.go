package tenancy_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/tenancy"
)

// sqlTx runs tenancy.Tx's statements in a plain registry transaction, as
// the queue's does.
type sqlTx struct{ tx *sql.Tx }

func (e sqlTx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := e.tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func TestTxWritesInCallersTransaction(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		ctx := context.Background()
		ten := b.Open(t, b.Options())
		tn := provisionMany(t, ten, "Tx", 1, 1)[0]
		reg := ten.Registry
		due := time.Now().Add(-time.Minute).Truncate(time.Second).UTC()
		d := tenancy.ScheduleDue{TenantID: tn.ID, ScheduleID: "s1", Occurrence: "o1", DueAt: due}
		if err := reg.SetScheduleDue(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := reg.AddDispatchIntent(ctx, tenancy.IntentBroadcast, tn.ID, "m1"); err != nil {
			t.Fatal(err)
		}
		run := func(rollback bool, f func(tenancy.Tx)) {
			t.Helper()
			tx, err := reg.DB().BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			f(tenancy.InTx(sqlTx{tx}))
			if rollback {
				err = tx.Rollback()
			} else {
				err = tx.Commit()
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		count := func(q string, args ...any) int {
			t.Helper()
			var n int
			if err := reg.DB().QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		// A rolled-back transaction leaves everything as it was.
		run(true, func(x tenancy.Tx) {
			if ok, err := x.ClaimScheduleDue(ctx, d); err != nil || !ok {
				t.Fatalf("claim: %v %v; want true", ok, err)
			}
			if err := x.DeleteDispatchIntent(ctx, tn.ID, "m1"); err != nil {
				t.Fatal(err)
			}
			if ok, err := x.RecordWebhookEvent(ctx, "ev-1", time.Now().UTC()); err != nil || !ok {
				t.Fatalf("record: %v %v; want true", ok, err)
			}
		})
		if n := count(`SELECT count(*) FROM schedule_due WHERE tenant_id = $1`, tn.ID); n != 1 {
			t.Fatalf("%d due rows after rollback; want 1", n)
		}
		if n := count(`SELECT count(*) FROM dispatch_intents WHERE tenant_id = $1`, tn.ID); n != 1 {
			t.Fatalf("%d intents after rollback; want 1", n)
		}
		if n := count(`SELECT count(*) FROM webhook_events WHERE event_id = 'ev-1'`); n != 0 {
			t.Fatalf("%d events after rollback; want 0", n)
		}

		run(false, func(x tenancy.Tx) {
			stale := d
			stale.DueAt = due.Add(-time.Hour)
			if ok, err := x.ClaimScheduleDue(ctx, stale); err != nil || ok {
				t.Fatalf("claim with another due time: %v %v; want false", ok, err)
			}
			if ok, err := x.ClaimScheduleDue(ctx, d); err != nil || !ok {
				t.Fatalf("claim: %v %v; want true", ok, err)
			}
			if ok, err := x.ClaimScheduleDue(ctx, d); err != nil || ok {
				t.Fatalf("second claim: %v %v; want false", ok, err)
			}
			if err := x.DeleteDispatchIntent(ctx, tn.ID, "m1"); err != nil {
				t.Fatal(err)
			}
			if ok, err := x.RecordWebhookEvent(ctx, "ev-1", time.Now().UTC()); err != nil || !ok {
				t.Fatalf("record: %v %v; want true", ok, err)
			}
			if ok, err := x.RecordWebhookEvent(ctx, "ev-1", time.Now().UTC()); err != nil || ok {
				t.Fatalf("record again: %v %v; want false (seen)", ok, err)
			}
		})
		if n := count(`SELECT count(*) FROM schedule_due WHERE tenant_id = $1`, tn.ID); n != 0 {
			t.Fatalf("%d due rows after the claim; want 0", n)
		}
		if n := count(`SELECT count(*) FROM dispatch_intents WHERE tenant_id = $1`, tn.ID); n != 0 {
			t.Fatalf("%d intents after the delete; want 0", n)
		}
	})
}
