package closing_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/closing"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/tenancy"
)

// TestCloseRefusesAndRestoreUndoes: a closed church is refused at once
// (its handle, its API token), its purge time is the grace from now, and
// restore puts it back to the status it had: active, or suspended.
func TestCloseRefusesAndRestoreUndoes(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		ctx := context.Background()
		svc := s.App.Closing
		c := s.Church(t, testkit.ChurchOptions{Number: "+13125550901"})
		cl, err := svc.Close(ctx, c.ID, "owner-admin-id", nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := s.Clock.Now().Add(closing.DefaultGrace).Unix(); cl.Status != steeple.TenantDeleting || cl.PurgeAt == nil || cl.PurgeAt.Unix() != want ||
			cl.PriorStatus != steeple.TenantActive || cl.RequestedBy != "owner-admin-id" {
			t.Fatalf("closure %+v; want deleting, purge at %d, prior active", cl, want)
		}
		if _, err := s.Tenancy.Manager.Acquire(ctx, c.ID); steeple.ErrorCode(err) != steeple.ESUSPENDED {
			t.Fatalf("acquire a closed church: %v; want ESUSPENDED", err)
		}
		if r := s.Do(t, "GET", "/api/v1/members", c.Token, nil); r.Status != http.StatusForbidden && r.Status != http.StatusUnauthorized {
			t.Fatalf("API of a closed church: %d %s", r.Status, r.Raw)
		}
		if _, err := svc.Purge(ctx, c.ID, false); steeple.ErrorCode(err) != steeple.ECONFLICT {
			t.Fatalf("purge before the grace is over: %v; want ECONFLICT", err)
		}
		// Closing again changes nothing.
		again, err := svc.Close(ctx, c.ID, "someone-else", nil)
		if err != nil || again.RequestedBy != "owner-admin-id" || !again.PurgeAt.Equal(*cl.PurgeAt) {
			t.Fatalf("close again: %+v, %v; want the first closure kept", again, err)
		}
		tn, err := svc.Restore(ctx, c.ID)
		if err != nil || tn.Status != steeple.TenantActive {
			t.Fatalf("restore: %+v, %v", tn, err)
		}
		if _, err := svc.Restore(ctx, c.ID); steeple.ErrorCode(err) != steeple.ECONFLICT {
			t.Fatalf("restore an active church: %v; want ECONFLICT", err)
		}
		s.WithHandle(t, c.ID, func(h *tenancy.Handle) {
			log, err := s.Store.AuditLog(ctx, h, "church.", 0, 10)
			if err != nil || len(log) < 2 || log[0].Action != "church.restored" || log[1].Action != "church.closed" || log[1].ActorID != "owner-admin-id" {
				t.Fatalf("audit log %+v, %v; want closed by the owner, then restored", log, err)
			}
		})
		if cl, _ := s.Tenancy.Registry.Closure(ctx, c.ID); cl.PurgeAt != nil {
			t.Fatalf("a restored church keeps a purge time: %+v", cl)
		}
		// A suspended church goes back to suspended.
		if _, err := s.Tenancy.Registry.SetStatus(ctx, c.ID, steeple.TenantSuspended, steeple.TenantActive); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Close(ctx, c.ID, closing.Operator, nil); err != nil {
			t.Fatal(err)
		}
		if tn, err := svc.Restore(ctx, c.ID); err != nil || tn.Status != steeple.TenantSuspended {
			t.Fatalf("restore a church closed while suspended: %+v, %v; want suspended", tn, err)
		}
	})
}

// TestPurgeDueOnlyAfterGrace: the periodic purge takes a closed church only
// once its grace is over, and a restore started too late is refused.
func TestPurgeDueOnlyAfterGrace(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		ctx := context.Background()
		svc := s.App.Closing
		c := s.Church(t, testkit.ChurchOptions{})
		other := s.Church(t, testkit.ChurchOptions{})
		if _, err := svc.Close(ctx, c.ID, closing.Operator, nil); err != nil {
			t.Fatal(err)
		}
		if n, err := svc.PurgeDue(ctx, 10); n != 0 || err != nil {
			t.Fatalf("purge due before the grace: %d, %v; want none", n, err)
		}
		s.Clock.Set(s.Clock.Now().Add(closing.DefaultGrace + time.Minute))
		if n, err := svc.PurgeDue(ctx, 10); n != 1 || err != nil {
			t.Fatalf("purge due after the grace: %d, %v; want 1", n, err)
		}
		wantPurged(t, s, b, c)
		if _, err := svc.Restore(ctx, c.ID); steeple.ErrorCode(err) != steeple.ECONFLICT {
			t.Fatalf("restore a purged church: %v; want ECONFLICT", err)
		}
		if _, err := s.Tenancy.Manager.Acquire(ctx, other.ID); err != nil {
			t.Fatalf("another church after a purge: %v", err)
		}
		if _, err := svc.Purge(ctx, other.ID, true); steeple.ErrorCode(err) != steeple.ECONFLICT {
			t.Fatalf("purge an active church: %v; want ECONFLICT", err)
		}
	})
}

// TestPurgeCompletesAfterStopAtEachStep stops a purge after each of its
// steps, as a crash would, then runs it again: it ends complete, the
// church's number released at the provider.
func TestPurgeCompletesAfterStopAtEachStep(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		ctx := context.Background()
		svc := s.App.Closing
		stop := errors.New("stopped")
		for i, step := range []string{"start", "numbers", "jobs", "database", "registry", "compact"} {
			number := fmt.Sprintf("+1312555093%d", i)
			providerID := s.Sim.AddNumber(number) // in the provider account, as if bought
			c := s.Church(t, testkit.ChurchOptions{Number: number, QuietHoursOff: true, Members: 2})
			c.API(s).BroadcastAll(t, "Potluck Sunday")
			if n := churchJobs(t, s, c.ID); n == 0 {
				t.Fatalf("step %s: the broadcast queued no job naming the church", step)
			}
			if _, err := svc.Close(ctx, c.ID, closing.Operator, nil); err != nil {
				t.Fatal(err)
			}
			closing.AfterStep(svc, func(done string) error {
				if done == step {
					return stop
				}
				return nil
			})
			if _, err := svc.Purge(ctx, c.ID, true); !errors.Is(err, stop) {
				t.Fatalf("purge stopped after %s: %v", step, err)
			}
			if _, err := svc.Restore(ctx, c.ID); steeple.ErrorCode(err) != steeple.ECONFLICT {
				t.Fatalf("restore after the purge began (%s): %v; want ECONFLICT", step, err)
			}
			if step != "registry" && step != "compact" {
				// The periodic purge would finish what the operator's --now began.
				if due, err := s.Tenancy.Registry.DuePurges(ctx, s.Clock.Now(), 100); err != nil || !slices.Contains(due, c.ID) {
					t.Fatalf("a purge stopped after %s is not due: %v, %v", step, due, err)
				}
			}
			closing.AfterStep(svc, func(string) error { return nil })
			if _, err := svc.Purge(ctx, c.ID, true); err != nil {
				t.Fatalf("purge again after a stop at %s: %v", step, err)
			}
			wantPurged(t, s, b, c)
			if s.Sim.AddNumber(number) == providerID {
				t.Fatalf("step %s: the number is still in the provider account after the purge", step)
			}
			if _, err := svc.Purge(ctx, c.ID, true); err != nil {
				t.Fatalf("purge a purged church: %v; want nothing to do", err)
			}
		}
	})
}

func churchJobs(t *testing.T, s *testkit.Server, tenantID string) int {
	t.Helper()
	q := `SELECT count(*) FROM river_job WHERE json_extract(args, '$.tenant_id') = $1`
	if s.Backend.Postgres() {
		q = `SELECT count(*) FROM river_job WHERE args->>'tenant_id' = $1`
	}
	return s.RegistryCount(t, q, tenantID)
}

// wantPurged checks that nothing of c is left but the audit record.
func wantPurged(t *testing.T, s *testkit.Server, b *testkit.Backend, c *testkit.Church) {
	t.Helper()
	ctx := context.Background()
	tn, err := s.Tenancy.Registry.Tenant(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if tn.Status != steeple.TenantDeleted || tn.Name != "deleted church" || tn.Slug != c.ID {
		t.Fatalf("purged tenant row %+v; want deleted, no name", tn)
	}
	cl, err := s.Tenancy.Registry.Closure(ctx, c.ID)
	if err != nil || cl.PurgedAt == nil || cl.RequestedAt == nil || cl.RequestedBy == "" {
		t.Fatalf("audit record %+v, %v", cl, err)
	}
	for _, table := range []string{"login_index", "phone_numbers", "provider_objects", "schedule_due",
		"dispatch_intents", "number_orders", "registration_polls"} {
		if n := s.RegistryCount(t, `SELECT count(*) FROM `+table+` WHERE tenant_id = $1`, c.ID); n != 0 {
			t.Fatalf("%d %s rows left", n, table)
		}
	}
	if c.Number != "" {
		if n := s.RegistryCount(t, `SELECT count(*) FROM send_pacing WHERE key = $1`, "number:"+c.Number); n != 0 {
			t.Fatalf("the number's pacing slot is left")
		}
	}
	if n := churchJobs(t, s, c.ID); n != 0 {
		t.Fatalf("%d jobs naming the church are left", n)
	}
	if b.DatabaseExists(t, tn) {
		t.Fatalf("the church's database %s is left", tn.DatabaseName)
	}
	if _, err := s.Tenancy.Manager.AcquireToRecord(ctx, c.ID); steeple.ErrorCode(err) != steeple.ENOTFOUND {
		t.Fatalf("acquire a purged church: %v; want ENOTFOUND", err)
	}
}

// TestClosedChurchSendsNothingUntilRestored: a broadcast whose jobs run
// after its church is closed sends nothing (its chunk waits, as for a
// suspended church); once restored, the sweep sends it.
func TestClosedChurchSendsNothingUntilRestored(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true, Messaging: func(c *messaging.Config) { c.SweepAge = 0 }})
		ctx := context.Background()
		c := s.Church(t, testkit.ChurchOptions{Number: "+13125550960", QuietHoursOff: true, Members: 3})
		c.API(s).BroadcastAll(t, "Closed church text")
		if _, err := s.App.Closing.Close(ctx, c.ID, closing.Operator, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.Queue.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Queue.Stop(context.Background()) })
		parked := func() int {
			return s.RegistryCount(t, `SELECT count(*) FROM dispatch_intents WHERE tenant_id = $1 AND kind = $2`, c.ID, tenancy.IntentParkedChunk)
		}
		testkit.WaitUntil(t, 20*time.Second, func() bool { return parked() == 1 }, "the chunk to wait while the church is closed")
		if n, err := s.Messaging.Sweep(ctx); n != 0 || err != nil {
			t.Fatalf("sweep while closed: %d, %v; want nothing taken", n, err)
		}
		if got := len(s.SentFrom(c.Number)); got != 0 {
			t.Fatalf("%d texts sent by a closed church", got)
		}
		if _, err := s.App.Closing.Restore(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Messaging.Sweep(ctx); n != 1 || err != nil {
			t.Fatalf("sweep after restoring: %d, %v; want the chunk queued again", n, err)
		}
		testkit.WaitUntil(t, 30*time.Second, func() bool { return len(s.SentFrom(c.Number)) == 3 }, "the broadcast to be sent after the restore")
	})
}

// TestPurgeJob: the queue's purge job purges a church whose grace is over.
func TestPurgeJob(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		c := s.Church(t, testkit.ChurchOptions{})
		if _, err := s.App.Closing.Close(ctx, c.ID, closing.Operator, nil); err != nil {
			t.Fatal(err)
		}
		s.Clock.Set(s.Clock.Now().Add(closing.DefaultGrace + time.Second))
		if _, err := s.Queue.InsertTx(ctx, nil, []river.InsertManyParams{{Args: closing.PurgeArgs{}}}); err != nil {
			t.Fatal(err)
		}
		testkit.WaitUntil(t, 60*time.Second, func() bool {
			tn, err := s.Tenancy.Registry.Tenant(ctx, c.ID)
			return err == nil && tn.Status == steeple.TenantDeleted
		}, func() string {
			var state, errs string
			_ = s.Tenancy.Registry.DB().QueryRowContext(ctx, `SELECT state, CAST(errors AS TEXT) FROM river_job WHERE kind = 'church_purge'
				ORDER BY id DESC LIMIT 1`).Scan(&state, &errs)
			return "the purge job to purge the church; its job is " + state + " " + errs
		})
		wantPurged(t, s, b, c)
	})
}
