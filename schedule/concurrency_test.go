package schedule_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/schedule"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// Once an occurrence starts sending, edits, pauses and cancels of its
// schedule answer 409 until it is sent (it goes out as it was); an edit
// saved from a copy read before another save is refused, and the registry
// keeps what the church's row says.
func TestEditsWaitForAnOccurrenceBeingSent(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Email: "owner@grace.example.org", Number: "+13125552061", QuietHoursOff: true})
		ids, phones := s.AddMembers(t, c.ID, 2, func(i int) string { return phoneOf(42, i) })
		once := scheduleAt(t, s, c, "Bake sale", ids, s.Clock.Now().Add(time.Hour))
		r := s.Do(t, "POST", "/api/v1/recurring", c.Token, map[string]any{"name": "Verse",
			"rule":    map[string]any{"frequency": "daily", "time": s.Clock.Now().In(chicago(t)).Add(time.Hour).Format("15:04")},
			"message": map[string]any{"text": "Daily verse", "audience": map[string]any{"member_ids": ids}}})
		if r.Status != http.StatusCreated {
			t.Fatalf("recurring: %d %s", r.Status, r.Raw)
		}
		rec := r.ID(t)

		// A fire that began sending (and then died, say): both marked firing.
		for _, id := range []string{once, rec} {
			s.WithHandle(t, c.ID, func(h *tenancy.Handle) {
				sc, err := s.Store.Schedule(ctx, h, id)
				if err != nil {
					t.Fatal(err)
				}
				sc.Firing = sc.NextKey
				if err := s.Store.SaveSchedule(ctx, h, sc); err != nil {
					t.Fatal(err)
				}
			})
		}
		edit := map[string]any{"message": map[string]any{"text": "Changed", "audience": map[string]any{"member_ids": ids}}}
		for _, q := range []struct{ method, path string }{
			{"PATCH", "/api/v1/messages/scheduled/" + once}, {"DELETE", "/api/v1/messages/scheduled/" + once},
			{"PATCH", "/api/v1/recurring/" + rec}, {"POST", "/api/v1/recurring/" + rec + "/pause"},
			{"DELETE", "/api/v1/recurring/" + rec},
		} {
			var body any
			if q.method == "PATCH" {
				body = edit
			}
			if r := s.Do(t, q.method, q.path, c.Token, body); r.Status != http.StatusConflict {
				t.Fatalf("%s %s while sending: %d %s; want 409", q.method, q.path, r.Status, r.Raw)
			}
		}
		// Resuming a schedule that is running changes nothing.
		if r := s.Do(t, "POST", "/api/v1/recurring/"+rec+"/resume", c.Token, nil); r.Status != http.StatusOK {
			t.Fatalf("resume while sending: %d %s", r.Status, r.Raw)
		}
		if sc, _ := scheduleRow(t, s, c, rec); sc.Firing == "" {
			t.Fatal("resuming a running schedule cleared its firing mark")
		}
		// The occurrences go out as they were; then the recurring one is
		// editable again and the one-off is done.
		s.Clock.Add(time.Hour + time.Minute)
		c.Relogin(t, s)
		if n, err := s.Schedules.Tick(ctx); err != nil || n != 2 {
			t.Fatalf("tick: %d %v; want 2", n, err)
		}
		waitEach(t, s, phones, "Bake sale", 20*time.Second)
		waitEach(t, s, phones, "Daily verse", 20*time.Second)
		s.SettleQueue(t)
		wantOnceEach(t, s, phones, "Bake sale")
		wantOnceEach(t, s, phones, "Daily verse")
		if sc, _ := scheduleRow(t, s, c, once); sc.Status != steeple.ScheduleDone || sc.Firing != "" {
			t.Fatalf("the one-off after sending: %+v", sc)
		}
		if r := s.Do(t, "PATCH", "/api/v1/recurring/"+rec, c.Token, edit); r.Status != http.StatusOK {
			t.Fatalf("edit after sending: %d %s", r.Status, r.Raw)
		}

		// A save from a stale copy (read before the edit above) is refused
		// and changes nothing.
		stale, _ := scheduleRow(t, s, c, rec)
		if r := s.Do(t, "POST", "/api/v1/recurring/"+rec+"/pause", c.Token, nil); r.Status != http.StatusOK {
			t.Fatalf("pause: %d %s", r.Status, r.Raw)
		}
		s.WithHandle(t, c.ID, func(h *tenancy.Handle) {
			stale.Status = steeple.ScheduleActive
			if err := s.Store.SaveSchedule(ctx, h, stale); steeple.ErrorCode(err) != steeple.ECONFLICT {
				t.Fatalf("a save from a stale copy: %v; want conflict", err)
			}
		})
		if sc, _ := scheduleRow(t, s, c, rec); sc.Status != steeple.SchedulePaused {
			t.Fatalf("after a refused stale save the schedule is %s; want paused", sc.Status)
		}
		if n := dueRows(t, s, c.ID); n != 0 {
			t.Fatalf("%d due rows for a paused schedule", n)
		}
	})
}

// An edit that died between writing the registry's due row and the
// church's row leaves them disagreeing; the fire of the registry's
// occurrence finds that and arms the church's own again, so the schedule
// goes on rather than never firing.
func TestInterruptedEditRepairedByTheFire(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Email: "owner@grace.example.org", Number: "+13125552071", QuietHoursOff: true})
		ids, phones := s.AddMembers(t, c.ID, 2, func(i int) string { return phoneOf(43, i) })
		r := s.Do(t, "POST", "/api/v1/recurring", c.Token, map[string]any{"name": "Verse",
			"rule":    map[string]any{"frequency": "daily", "time": s.Clock.Now().In(chicago(t)).Add(2 * time.Hour).Format("15:04")},
			"message": map[string]any{"text": "Daily verse", "audience": map[string]any{"member_ids": ids}}})
		if r.Status != http.StatusCreated {
			t.Fatalf("recurring: %d %s", r.Status, r.Raw)
		}
		rec := r.ID(t)
		sc, _ := scheduleRow(t, s, c, rec)
		// The edit's registry write (an occurrence in an hour), then nothing.
		soon := s.Clock.Now().Add(time.Hour)
		if err := s.Tenancy.Registry.SetScheduleDue(ctx, tenancy.ScheduleDue{TenantID: c.ID, ScheduleID: rec,
			Occurrence: soon.In(chicago(t)).Format("2006-01-02T15:04"), DueAt: soon}); err != nil {
			t.Fatal(err)
		}
		s.Clock.Add(time.Hour + time.Minute)
		if n, err := s.Schedules.Tick(ctx); err != nil || n != 1 {
			t.Fatalf("tick at the registry's occurrence: %d %v", n, err)
		}
		s.SettleQueue(t)
		if s.TextsContaining(phones[0], "Daily verse") != 0 {
			t.Fatal("the registry's occurrence, which the church never saved, was sent")
		}
		var key string
		var due int64
		if err := s.Tenancy.Registry.DB().QueryRowContext(ctx, `SELECT occurrence, due_at FROM schedule_due WHERE schedule_id = $1`,
			rec).Scan(&key, &due); err != nil {
			t.Fatalf("no due row after the fire: %v", err)
		}
		if key != sc.NextKey || due != sc.NextAt.Unix() {
			t.Fatalf("due row %s at %v; want the church's %s at %v", key, time.Unix(due, 0), sc.NextKey, sc.NextAt)
		}
		s.Clock.Add(sc.NextAt.Sub(s.Clock.Now()) + time.Minute)
		if n, err := s.Schedules.Tick(ctx); err != nil || n != 1 {
			t.Fatalf("tick at the church's occurrence: %d %v", n, err)
		}
		waitEach(t, s, phones, "Daily verse", 20*time.Second)
		s.SettleQueue(t)
		wantOnceEach(t, s, phones, "Daily verse")
	})
}

// A tick takes every due occurrence, however many: more than one batch
// (1,000) is taken in further batches of the same tick.
func TestTickTakesMoreThanABatch(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		ctx := context.Background()
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Email: "owner@grace.example.org", Number: "+13125552081", QuietHoursOff: true})
		const n = 2345
		tx, err := s.Tenancy.Registry.DB().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		due := s.Clock.Now().Add(-time.Minute).Unix()
		for i := 0; i < n; i++ {
			if _, err := tx.ExecContext(ctx, `INSERT INTO schedule_due (tenant_id, schedule_id, occurrence, due_at) VALUES ($1, $2, $3, $4)`,
				c.ID, steeple.NewID(), "2026-01-01T10:00", due); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Schedules.Tick(ctx); err != nil || got != n {
			t.Fatalf("tick: %d %v; want %d", got, err, n)
		}
		if left := dueRows(t, s, c.ID); left != 0 {
			t.Fatalf("%d due rows left after the tick", left)
		}
		var jobs int
		if err := s.Tenancy.Registry.DB().QueryRowContext(ctx, `SELECT count(*) FROM river_job WHERE kind = 'schedule_fire'`).Scan(&jobs); err != nil {
			t.Fatal(err)
		}
		if jobs != n {
			t.Fatalf("%d fire jobs queued; want %d", jobs, n)
		}
	})
}

// A fire that died after sending started goes straight on when it is tried
// again — even inside quiet hours, where a new fire would be held — since
// its broadcast may be out already; and a fire whose every try failed
// leaves the schedule editable, the occurrence recorded as not sent and
// the next one armed.
func TestFireInterruptedAfterSendingStarted(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		loc := chicago(t)
		s.Clock.Add(time.Date(2027, 1, 12, 20, 0, 0, 0, loc).Sub(s.Clock.Now()))
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Email: "owner@grace.example.org", Number: "+13125552091", QuietHoursOff: true})
		s.SetQuietHours(t, c.ID, "21:00", "08:00")
		ids, phones := s.AddMembers(t, c.ID, 2, func(i int) string { return phoneOf(44, i) })
		once := scheduleAt(t, s, c, "Late notice", ids, time.Date(2027, 1, 12, 20, 50, 0, 0, loc))
		setFiring := func(id string) *store.Schedule {
			t.Helper()
			var sc *store.Schedule
			s.WithHandle(t, c.ID, func(h *tenancy.Handle) {
				var err error
				if sc, err = s.Store.Schedule(ctx, h, id); err != nil {
					t.Fatal(err)
				}
				sc.Firing = sc.NextKey
				if err := s.Store.SaveSchedule(ctx, h, sc); err != nil {
					t.Fatal(err)
				}
			})
			return sc
		}
		sc := setFiring(once)      // the try at 20:50 began sending, then died
		s.Clock.Add(2 * time.Hour) // retried at 22:00, inside quiet hours
		if err := s.Schedules.Fire(ctx, schedule.FireArgs{TenantID: c.ID, ScheduleID: once, Occurrence: sc.NextKey,
			DueAt: sc.NextAt.Unix()}); err != nil {
			t.Fatal(err)
		}
		waitEach(t, s, phones, "Late notice", 20*time.Second)
		s.SettleQueue(t)
		wantOnceEach(t, s, phones, "Late notice")
		if got, _ := scheduleRow(t, s, c, once); got.Status != steeple.ScheduleDone || got.Firing != "" {
			t.Fatalf("after the retried fire: %+v", got)
		}

		// Every try failed: abandoned.
		c.Relogin(t, s)
		r := s.Do(t, "POST", "/api/v1/recurring", c.Token, map[string]any{"name": "Verse",
			"rule":    map[string]any{"frequency": "daily", "time": "10:00"},
			"message": map[string]any{"text": "Daily verse", "audience": map[string]any{"member_ids": ids}}})
		if r.Status != http.StatusCreated {
			t.Fatalf("recurring: %d %s", r.Status, r.Raw)
		}
		rec := r.ID(t)
		sc = setFiring(rec)
		if err := s.Schedules.Abandon(ctx, schedule.FireArgs{TenantID: c.ID, ScheduleID: rec, Occurrence: sc.NextKey},
			steeple.Errorf(steeple.EUNAVAILABLE, "database down")); err != nil {
			t.Fatal(err)
		}
		got, runs := scheduleRow(t, s, c, rec)
		if got.Firing != "" || got.Status != steeple.ScheduleActive || got.NextKey == sc.NextKey || len(runs) != 1 ||
			runs[0].Occurrence != sc.NextKey || runs[0].MessageID != "" || runs[0].NotSent != "database down" {
			t.Fatalf("after abandoning: %+v, runs %+v", got, runs)
		}
		if n := dueRows(t, s, c.ID); n != 1 {
			t.Fatalf("%d due rows after abandoning; want the next occurrence armed", n)
		}
		if r := s.Do(t, "PATCH", "/api/v1/recurring/"+rec, c.Token, map[string]any{"name": "Verse of the day"}); r.Status != http.StatusOK {
			t.Fatalf("edit after abandoning: %d %s", r.Status, r.Raw)
		}
	})
}
