package schedule_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/schedule"
	"github.com/steeple-sms/steeple/tenancy"
)

// An occurrence held for quiet hours is recorded again, with the same key
// and a later time. A tick that read it before (and queues it after the
// hold) must not take the new row: the fire job it would queue is the one
// that already ran, so the occurrence would never be sent.
func TestStaleClaimLeavesHeldOccurrence(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		loc := chicago(t)
		s.Clock.Add(time.Date(2027, 1, 12, 21, 0, 0, 0, loc).Sub(s.Clock.Now()))
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Email: "owner@grace.example.org", Number: "+13125552041", QuietHoursOff: true})
		s.SetQuietHours(t, c.ID, "21:30", "08:00")
		ids, phones := s.AddMembers(t, c.ID, 2, func(i int) string { return phoneOf(40, i) })
		y := scheduleAt(t, s, c, "Early one", ids[:1], time.Date(2027, 1, 12, 21, 40, 0, 0, loc))
		x := scheduleAt(t, s, c, "Late one", ids[1:], time.Date(2027, 1, 12, 21, 50, 0, 0, loc))
		s.Clock.Add(time.Hour) // 22:00
		due, err := s.Tenancy.Registry.DueSchedules(ctx, s.Clock.Now(), 10)
		if err != nil || len(due) != 2 || due[0].ScheduleID != y || due[1].ScheduleID != x {
			t.Fatalf("due: %+v %v", due, err)
		}
		release := time.Date(2027, 1, 13, 8, 0, 0, 0, loc)
		wantDue := func(id string, at time.Time) {
			t.Helper()
			var got int64
			if err := s.Tenancy.Registry.DB().QueryRowContext(ctx, `SELECT due_at FROM schedule_due WHERE schedule_id = $1`, id).Scan(&got); err != nil {
				t.Fatalf("due row of %s: %v", id, err)
			}
			if got != at.Unix() {
				t.Fatalf("%s due at %v; want %v", id, time.Unix(got, 0).In(loc), at)
			}
		}

		if b.Postgres() {
			// Through Tick itself: it reads both, and waits on Y (locked
			// here) while another tick queues X, whose fire holds it.
			tx, err := s.Tenancy.Registry.DB().BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, `SELECT 1 FROM schedule_due WHERE schedule_id = $1 FOR UPDATE`, y); err != nil {
				t.Fatal(err)
			}
			type result struct {
				n   int
				err error
			}
			slow := make(chan result, 1)
			go func() {
				n, err := s.Schedules.Tick(ctx)
				slow <- result{n, err}
			}()
			testkit.WaitUntil(t, 10*time.Second, func() bool {
				var waiting int
				_ = s.Tenancy.Registry.DB().QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
					WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'DELETE FROM schedule_due%'`).Scan(&waiting)
				return waiting == 1
			}, "the tick never waited on the locked row")
			// The other tick, for X only.
			fx := schedule.FireArgs{TenantID: c.ID, ScheduleID: x, Occurrence: due[1].Occurrence, DueAt: due[1].DueAt.Unix()}
			if _, err := s.Queue.InsertTx(ctx, func(ex jobs.Execer) error {
				_, err := tenancy.InTx(ex).ClaimScheduleDue(ctx, due[1])
				return err
			}, []river.InsertManyParams{{Args: fx}}); err != nil {
				t.Fatal(err)
			}
			testkit.WaitUntil(t, 20*time.Second, func() bool {
				var n int
				_ = s.Tenancy.Registry.DB().QueryRowContext(ctx, `SELECT count(*) FROM schedule_due WHERE schedule_id = $1 AND due_at = $2`,
					x, release.Unix()).Scan(&n)
				return n == 1
			}, "X's fire did not hold it for quiet hours")
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			r := <-slow
			if r.err != nil || r.n != 1 {
				t.Fatalf("the slow tick: %d %v; want 1 (Y only)", r.n, r.err)
			}
			s.SettleQueue(t)
		} else {
			// The same, step by step: X fired and held; then the stale claim.
			if err := s.Schedules.Fire(ctx, schedule.FireArgs{TenantID: c.ID, ScheduleID: x, Occurrence: due[1].Occurrence,
				DueAt: due[1].DueAt.Unix()}); err != nil {
				t.Fatal(err)
			}
			var claimed bool
			if _, err := s.Queue.InsertTx(ctx, func(ex jobs.Execer) error {
				var err error
				claimed, err = tenancy.InTx(ex).ClaimScheduleDue(ctx, due[1])
				return err
			}, nil); err != nil {
				t.Fatal(err)
			}
			if claimed {
				t.Fatalf("a claim with the old due time took the held occurrence")
			}
			if n, err := s.Schedules.Tick(ctx); err != nil || n != 1 {
				t.Fatalf("tick: %d %v; want 1 (Y)", n, err)
			}
			s.SettleQueue(t)
		}
		wantDue(x, release)
		wantDue(y, release) // Y was held too
		if s.TextsContaining(phones[0], "Early one")+s.TextsContaining(phones[1], "Late one") != 0 {
			t.Fatal("sent in quiet hours")
		}
		s.Clock.Add(release.Sub(s.Clock.Now()))
		if n, err := s.Schedules.Tick(ctx); err != nil || n != 2 {
			t.Fatalf("tick at 08:00: %d %v; want both", n, err)
		}
		waitEach(t, s, phones[1:], "Late one", 20*time.Second)
		waitEach(t, s, phones[:1], "Early one", 20*time.Second)
		s.SettleQueue(t)
		wantOnceEach(t, s, phones[1:], "Late one")
		wantOnceEach(t, s, phones[:1], "Early one")
	})
}

// A scheduled broadcast held for quiet hours and then edited is sent, with
// the edit, when the quiet hours end: the edit arms it again at its
// original time, and the fire job that held it has completed with the
// same arguments.
func TestEditWhileHeldForQuietHours(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		loc := chicago(t)
		s.Clock.Add(time.Date(2027, 1, 12, 21, 0, 0, 0, loc).Sub(s.Clock.Now()))
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Email: "owner@grace.example.org", Number: "+13125552051", QuietHoursOff: true})
		s.SetQuietHours(t, c.ID, "21:30", "08:00")
		ids, phones := s.AddMembers(t, c.ID, 2, func(i int) string { return phoneOf(41, i) })
		x := scheduleAt(t, s, c, "Choir at seven", ids, time.Date(2027, 1, 12, 21, 50, 0, 0, loc))
		s.Clock.Add(time.Hour) // 22:00: due, and held
		if n, err := s.Schedules.Tick(ctx); err != nil || n != 1 {
			t.Fatalf("tick at 22:00: %d %v; want 1", n, err)
		}
		s.SettleQueue(t)
		s.Clock.Add(time.Hour) // 23:00: the admin edits the text
		c.Relogin(t, s)
		if r := s.Do(t, "PATCH", "/api/v1/messages/scheduled/"+x, c.Token, map[string]any{
			"message": map[string]any{"text": "Choir at half past seven", "audience": map[string]any{"member_ids": ids}}}); r.Status != 200 {
			t.Fatalf("edit: %d %s", r.Status, r.Raw)
		}
		if n, err := s.Schedules.Tick(ctx); err != nil || n != 1 {
			t.Fatalf("tick after the edit: %d %v; want 1", n, err)
		}
		s.SettleQueue(t)
		if n := dueRows(t, s, c.ID); n != 1 {
			t.Fatalf("%d due rows after the edited broadcast was held again; want 1", n)
		}
		for _, p := range phones {
			if s.TextsContaining(p, "Choir at") != 0 {
				t.Fatal("sent in quiet hours")
			}
		}
		s.Clock.Add(time.Date(2027, 1, 13, 8, 0, 0, 0, loc).Sub(s.Clock.Now()))
		if n, err := s.Schedules.Tick(ctx); err != nil || n != 1 {
			t.Fatalf("tick at 08:00: %d %v; want 1", n, err)
		}
		waitEach(t, s, phones, "Choir at half past seven", 20*time.Second)
		s.SettleQueue(t)
		wantOnceEach(t, s, phones, "Choir at")
	})
}
