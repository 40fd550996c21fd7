package schedule_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/schedule"
	"github.com/steeple-sms/steeple/tenancy"
)

// An occurrence fired twice — one after the other, or at the same time —
// makes one broadcast and sends each member one text; so does its job
// queued twice, and ticks run again and again.
func TestFireTwiceSendsOnce(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Email: "owner@grace.example.org", Number: "+13125552001", QuietHoursOff: true})
		ids, phones := s.AddMembers(t, c.ID, 3, func(i int) string { return phoneOf(1, i) })
		now := s.Clock.Now()

		// A scheduled broadcast, fired twice by hand (as River would after a
		// lost acknowledgement) before any tick.
		at := now.Add(time.Hour).Truncate(time.Second)
		once := scheduleAt(t, s, c, "Potluck tonight", ids, at)
		s.Clock.Add(time.Hour + time.Minute)
		args := schedule.FireArgs{TenantID: c.ID, ScheduleID: once, Occurrence: schedule.OnceKey(at), DueAt: at.Unix()}
		for i := range 2 {
			if err := s.Schedules.Fire(ctx, args); err != nil {
				t.Fatalf("fire %d: %v", i, err)
			}
		}
		if n, err := s.Schedules.Tick(ctx); err != nil || n != 0 {
			t.Fatalf("tick after firing: %d %v; want nothing due", n, err)
		}
		// Its job queued again is a duplicate River skips.
		for i := range 2 {
			res, err := s.Queue.InsertTx(ctx, nil, []river.InsertManyParams{{Args: args}})
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 1 || res[0].UniqueSkippedAsDuplicate != (i == 1) {
				t.Fatalf("inserting the same fire job, time %d: %+v", i+1, res[0])
			}
		}
		waitEach(t, s, phones, "Potluck tonight", 20*time.Second)
		s.SettleQueue(t)
		wantOnceEach(t, s, phones, "Potluck tonight")
		sc, runs := scheduleRow(t, s, c, once)
		if sc.Status != steeple.ScheduleDone || len(runs) != 1 || runs[0].MessageID != schedule.OccurrenceID(once, args.Occurrence) {
			t.Fatalf("after firing: status %s, runs %+v", sc.Status, runs)
		}
		if got := broadcastCount(t, s, c.ID); got != 1 {
			t.Fatalf("%d broadcasts; want 1", got)
		}

		// A recurring occurrence fired by eight callers at once.
		c.Relogin(t, s)
		r := s.Do(t, "POST", "/api/v1/recurring", c.Token, map[string]any{"name": "Every day",
			"rule":    map[string]any{"frequency": "daily", "time": s.Clock.Now().In(chicago(t)).Add(time.Hour).Format("15:04")},
			"message": map[string]any{"text": "Daily verse", "audience": map[string]any{"member_ids": ids}}})
		if r.Status != 201 {
			t.Fatalf("recurring: %d %s", r.Status, r.Raw)
		}
		rec := r.ID(t)
		sc, _ = scheduleRow(t, s, c, rec)
		s.Clock.Add(90 * time.Minute)
		fa := schedule.FireArgs{TenantID: c.ID, ScheduleID: rec, Occurrence: sc.NextKey, DueAt: sc.NextAt.Unix()}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.Schedules.Fire(ctx, fa)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent fire: %v", err)
			}
		}
		waitEach(t, s, phones, "Daily verse", 20*time.Second)
		s.SettleQueue(t)
		wantOnceEach(t, s, phones, "Daily verse")
		sc2, runs := scheduleRow(t, s, c, rec)
		if d := sc2.NextAt.Sub(*sc.NextAt); len(runs) != 1 || sc2.Status != steeple.ScheduleActive || sc2.NextKey <= fa.Occurrence ||
			d < 23*time.Hour || d > 25*time.Hour {
			t.Fatalf("after the concurrent fires: runs %+v, next %s %v (was %s %v)", runs, sc2.NextKey, sc2.NextAt, sc.NextKey, sc.NextAt)
		}
		if got := broadcastCount(t, s, c.ID); got != 2 {
			t.Fatalf("%d broadcasts; want 2", got)
		}
		// The old occurrence fired again after the next one was armed: nothing.
		if err := s.Schedules.Fire(ctx, fa); err != nil {
			t.Fatal(err)
		}
		s.SettleQueue(t)
		wantOnceEach(t, s, phones, "Daily verse")
	})
}

func chicago(t testing.TB) *time.Location {
	loc, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// Ticks running at the same time (as on two processes) queue each due
// occurrence once between them.
func TestConcurrentTicksQueueOnce(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Email: "owner@grace.example.org", Number: "+13125552011", QuietHoursOff: true})
		ids, phones := s.AddMembers(t, c.ID, 40, func(i int) string { return phoneOf(2, i) })
		at := s.Clock.Now().Add(time.Hour)
		for i, id := range ids {
			scheduleAt(t, s, c, "Choir tonight", []string{id}, at.Add(time.Duration(i)*time.Second))
		}
		s.Clock.Add(2 * time.Hour)
		var wg sync.WaitGroup
		var mu sync.Mutex
		seen, failed := 0, []error{}
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					n, err := s.Schedules.Tick(ctx)
					mu.Lock()
					seen += n
					if err != nil {
						failed = append(failed, err)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(failed) > 0 {
			t.Fatalf("%d ticks failed, e.g. %v", len(failed), failed[0])
		}
		if seen != len(ids) {
			t.Fatalf("the ticks queued %d occurrences between them; want each of the %d once", seen, len(ids))
		}
		waitEach(t, s, phones, "Choir tonight", 30*time.Second)
		s.SettleQueue(t)
		wantOnceEach(t, s, phones, "Choir tonight")
		var jobs int
		if err := s.Tenancy.Registry.DB().QueryRowContext(ctx, `SELECT count(*) FROM river_job WHERE kind = 'schedule_fire'`).Scan(&jobs); err != nil {
			t.Fatal(err)
		}
		if jobs != len(ids) {
			t.Fatalf("%d fire jobs for %d occurrences", jobs, len(ids))
		}
		if n := dueRows(t, s, c.ID); n != 0 {
			t.Fatalf("%d due rows left", n)
		}
	})
}

// A fire that made its broadcast and died before recording the run (the
// process killed, its context cancelled) is run again: the broadcast is
// found made, nothing is sent twice, and the schedule moves on.
func TestFireDiedAfterBroadcast(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		// The one-off goes an hour before the weekly 10:00, so that hour
		// must still be ahead: between 9 and 10 in the church's timezone
		// (on a Monday or Thursday) it was not, and the test failed.
		chicago, err := time.LoadLocation("America/Chicago")
		if err != nil {
			t.Fatal(err)
		}
		if s.Clock.Now().In(chicago).Hour() == 9 {
			s.Clock.Add(time.Hour)
		}
		ctx := context.Background()
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Email: "owner@grace.example.org", Number: "+13125552021", QuietHoursOff: true})
		ids, phones := s.AddMembers(t, c.ID, 4, func(i int) string { return phoneOf(3, i) })
		r := s.Do(t, "POST", "/api/v1/recurring", c.Token, map[string]any{"name": "Weekly",
			"rule":    map[string]any{"frequency": "weekly", "weekdays": []string{"monday", "thursday"}, "time": "10:00"},
			"message": map[string]any{"text": "Bible study", "audience": map[string]any{"member_ids": ids}}})
		if r.Status != 201 {
			t.Fatalf("recurring: %d %s", r.Status, r.Raw)
		}
		rec := r.ID(t)
		sc, _ := scheduleRow(t, s, c, rec)
		once := scheduleAt(t, s, c, "Retreat signup closes", ids, sc.NextAt.Add(-time.Hour))
		oc, _ := scheduleRow(t, s, c, once)
		s.Clock.Add(sc.NextAt.Sub(s.Clock.Now()) + time.Minute) // both due, neither a day late
		unblock := blockRuns(t, s, b, c.ID)
		fires := []schedule.FireArgs{
			{TenantID: c.ID, ScheduleID: rec, Occurrence: sc.NextKey, DueAt: sc.NextAt.Unix()},
			{TenantID: c.ID, ScheduleID: once, Occurrence: oc.NextKey, DueAt: oc.NextAt.Unix()},
		}
		for _, fa := range fires {
			if err := s.Schedules.Fire(ctx, fa); err == nil {
				t.Fatalf("fire with the run blocked succeeded: the test proves nothing")
			}
		}
		// The broadcasts were made and sent before the "crash".
		waitEach(t, s, phones, "Bible study", 20*time.Second)
		waitEach(t, s, phones, "Retreat signup", 20*time.Second)
		s.SettleQueue(t)
		unblock()
		for _, fa := range fires {
			if err := s.Schedules.Fire(ctx, fa); err != nil {
				t.Fatalf("fire again: %v", err)
			}
		}
		s.SettleQueue(t)
		wantOnceEach(t, s, phones, "Bible study")
		wantOnceEach(t, s, phones, "Retreat signup")
		if got := broadcastCount(t, s, c.ID); got != 2 {
			t.Fatalf("%d broadcasts; want 2", got)
		}
		sc2, runs := scheduleRow(t, s, c, rec)
		if len(runs) != 1 || runs[0].Occurrence != sc.NextKey || runs[0].MessageID != schedule.OccurrenceID(rec, sc.NextKey) ||
			sc2.Status != steeple.ScheduleActive || sc2.NextKey <= sc.NextKey {
			t.Fatalf("recurring after the retry: runs %+v next %s", runs, sc2.NextKey)
		}
		oc2, runs := scheduleRow(t, s, c, once)
		if len(runs) != 1 || oc2.Status != steeple.ScheduleDone {
			t.Fatalf("scheduled after the retry: runs %+v status %s", runs, oc2.Status)
		}
		// The next occurrence is the next Monday or Thursday after now.
		if now := s.Clock.Now(); !sc2.NextAt.After(now) || sc2.NextAt.Sub(now) > 4*24*time.Hour {
			t.Fatalf("next occurrence %v; now is %v", sc2.NextAt, now)
		}
		// The registry's dispatch intents are all done with: a retry leaves
		// nothing for the recovery sweep to redo.
		ins, err := s.Tenancy.Registry.StaleDispatchIntents(ctx, -time.Hour, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range ins {
			if in.Kind == tenancy.IntentBroadcast {
				t.Errorf("a broadcast dispatch intent is left behind: %+v", in)
			}
		}
	})
}

// A tick reads only the registry: with several churches and one due, the
// tick opens no church's database and its fire opens only the due one.
func TestTickOpensOnlyDueChurches(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true, Tenancy: func(o *tenancy.Options) {
			o.Manager.IdleTimeout = time.Second // idle pools close once the test clock moves past it
		}})
		ctx := context.Background()
		var churches []*testkit.Church
		var duePhones []string
		for i := range 5 {
			c := s.Church(t, testkit.ChurchOptions{Name: fmt.Sprintf("Church %d", i), Email: fmt.Sprintf("owner%d@example.org", i), Number: fmt.Sprintf("+131255520%02d", 30+i), QuietHoursOff: true})
			ids, phones := s.AddMembers(t, c.ID, 2, func(i int) string { return phoneOf(10+i, i) })
			when := s.Clock.Now().Add(time.Duration(i+1) * 24 * time.Hour) // not due
			if i == 3 {
				when = s.Clock.Now().Add(30 * time.Minute)
				duePhones = phones
			}
			scheduleAt(t, s, c, fmt.Sprintf("Notice from church %d", i), ids, when)
			r := s.Do(t, "POST", "/api/v1/recurring", c.Token, map[string]any{"name": "Weekly letter",
				"rule": map[string]any{"frequency": "weekly", "time": "12:00",
					"weekdays": []string{strings.ToLower(s.Clock.Now().In(chicago(t)).AddDate(0, 0, 3).Weekday().String())}},
				"message": map[string]any{"text": "Monthly letter", "audience": map[string]any{"all": true}}})
			if r.Status != 201 {
				t.Fatalf("recurring: %d %s", r.Status, r.Raw)
			}
			churches = append(churches, c)
		}
		due := churches[3]
		s.Clock.Add(time.Hour)
		deadline := time.Now().Add(10 * time.Second)
		for s.Tenancy.Manager.Stats().Pools > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("idle pools not closed: %+v", s.Tenancy.Manager.Stats())
			}
			time.Sleep(50 * time.Millisecond)
		}
		before := s.Tenancy.Manager.Stats()
		n, err := s.Schedules.Tick(ctx)
		if err != nil || n != 1 {
			t.Fatalf("tick: %d %v; want 1 due", n, err)
		}
		if st := s.Tenancy.Manager.Stats(); st.Opens != before.Opens || st.Pools != 0 {
			t.Fatalf("the tick opened church databases: %+v → %+v", before, st)
		}
		qctx, cancel := context.WithCancel(ctx)
		if err := s.Queue.Start(qctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer scancel()
			_ = s.Queue.Stop(sctx)
			cancel()
		})
		waitEach(t, s, duePhones, "Notice from church 3", 20*time.Second)
		s.SettleQueue(t)
		wantOnceEach(t, s, duePhones, "Notice from church 3")
		after := s.Tenancy.Manager.Stats()
		if after.Opens-before.Opens > 1 {
			t.Fatalf("tick and fire opened %d church databases; want at most 1 (the due one)", after.Opens-before.Opens)
		}
		for _, id := range s.Tenancy.Manager.OpenTenants() {
			if id != due.ID {
				t.Fatalf("church %s was opened; only %s had something due", id, due.ID)
			}
		}
		if n, err := s.Schedules.Tick(ctx); err != nil || n != 0 {
			t.Fatalf("second tick: %d %v", n, err)
		}
		t.Logf("%s: opens %d → %d", b.Name, before.Opens, after.Opens)
	})
}

// A fire job queued before its schedule was cancelled, moved or paused
// sends nothing; the schedule then fires as it now says.
func TestStaleFireJobsSendNothing(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Email: "owner@grace.example.org", Number: "+13125552051", QuietHoursOff: true})
		ids, phones := s.AddMembers(t, c.ID, 3, func(i int) string { return phoneOf(50, i) })
		at := s.Clock.Now().Add(10 * time.Minute).Truncate(time.Second)
		cancelled := scheduleAt(t, s, c, "Cancelled notice", ids[:1], at)
		moved := scheduleAt(t, s, c, "Moved notice", ids[1:2], at)
		r := s.Do(t, "POST", "/api/v1/recurring", c.Token, map[string]any{"name": "Paused",
			"rule":    map[string]any{"frequency": "daily", "time": at.In(chicago(t)).Add(time.Minute).Format("15:04")},
			"message": map[string]any{"text": "Paused notice", "audience": map[string]any{"member_ids": ids[2:]}}})
		if r.Status != 201 {
			t.Fatalf("recurring: %d %s", r.Status, r.Raw)
		}
		paused := r.ID(t)
		ps, _ := scheduleRow(t, s, c, paused)
		key := schedule.OnceKey(at)
		if r := s.Do(t, "DELETE", "/api/v1/messages/scheduled/"+cancelled, c.Token, nil); r.Status != 204 {
			t.Fatalf("cancel: %d %s", r.Status, r.Raw)
		}
		later := at.Add(2 * time.Hour)
		if r := s.Do(t, "PATCH", "/api/v1/messages/scheduled/"+moved, c.Token, map[string]any{"send_at": later.Format(time.RFC3339)}); r.Status != 200 {
			t.Fatalf("move: %d %s", r.Status, r.Raw)
		}
		if r := s.Do(t, "POST", "/api/v1/recurring/"+paused+"/pause", c.Token, nil); r.Status != 200 {
			t.Fatalf("pause: %d %s", r.Status, r.Raw)
		}
		s.Clock.Add(time.Hour)
		for _, fa := range []schedule.FireArgs{
			{TenantID: c.ID, ScheduleID: cancelled, Occurrence: key, DueAt: at.Unix()},
			{TenantID: c.ID, ScheduleID: moved, Occurrence: key, DueAt: at.Unix()},
			{TenantID: c.ID, ScheduleID: paused, Occurrence: ps.NextKey, DueAt: ps.NextAt.Unix()},
		} {
			if err := s.Schedules.Fire(ctx, fa); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := s.Schedules.Tick(ctx); err != nil || n != 0 {
			t.Fatalf("tick: %d %v; want nothing due", n, err)
		}
		s.SettleQueue(t)
		if len(s.Sim.Messages()) != 0 {
			t.Fatalf("stale fires sent %d texts", len(s.Sim.Messages()))
		}
		if got := broadcastCount(t, s, c.ID); got != 0 {
			t.Fatalf("%d broadcasts from stale fires", got)
		}
		// The moved one fires at its new time.
		s.Clock.Add(later.Sub(s.Clock.Now()) + time.Second)
		if n, err := s.Schedules.Tick(ctx); err != nil || n != 1 {
			t.Fatalf("tick at the new time: %d %v", n, err)
		}
		waitEach(t, s, phones[1:2], "Moved notice", 20*time.Second)
		s.SettleQueue(t)
		wantOnceEach(t, s, phones[1:2], "Moved notice")
		if s.TextsContaining(phones[0], "Cancelled")+s.TextsContaining(phones[2], "Paused") != 0 {
			t.Fatal("a cancelled or paused schedule sent")
		}
	})
}

// A schedule of a suspended church stays armed (looked at hourly): when the
// church is back within a day its occurrence is sent once; one missed by
// more than a day is skipped and the schedule goes on.
func TestSuspendedChurchKeepsItsSchedule(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Email: "owner@grace.example.org", Number: "+13125552031", QuietHoursOff: true})
		ids, phones := s.AddMembers(t, c.ID, 2, func(i int) string { return phoneOf(4, i) })
		r := s.Do(t, "POST", "/api/v1/recurring", c.Token, map[string]any{"name": "Daily",
			"rule":    map[string]any{"frequency": "daily", "time": "10:00"},
			"message": map[string]any{"text": "Daily verse", "audience": map[string]any{"member_ids": ids}}})
		if r.Status != 201 {
			t.Fatalf("recurring: %d %s", r.Status, r.Raw)
		}
		rec := r.ID(t)
		suspend := func(to, from steeple.TenantStatus) {
			t.Helper()
			if _, err := s.Tenancy.Registry.SetStatus(ctx, c.ID, to, from); err != nil {
				t.Fatal(err)
			}
		}
		fire := func() {
			t.Helper()
			var d tenancy.ScheduleDue
			if err := s.Tenancy.Registry.DB().QueryRowContext(ctx, `SELECT occurrence, due_at FROM schedule_due WHERE tenant_id = $1`,
				c.ID).Scan(&d.Occurrence, new(int64)); err != nil {
				t.Fatal(err)
			}
			if err := s.Schedules.Fire(ctx, schedule.FireArgs{TenantID: c.ID, ScheduleID: rec, Occurrence: d.Occurrence}); err != nil {
				t.Fatal(err)
			}
		}
		sc, _ := scheduleRow(t, s, c, rec)
		first := sc.NextKey
		s.Clock.Add(sc.NextAt.Sub(s.Clock.Now()) + time.Minute)
		suspend(steeple.TenantSuspended, steeple.TenantActive)
		fire()
		if n := dueRows(t, s, c.ID); n != 1 {
			t.Fatalf("%d due rows after a fire for a suspended church; want the schedule kept armed", n)
		}
		var due int64
		if err := s.Tenancy.Registry.DB().QueryRowContext(ctx, `SELECT due_at FROM schedule_due WHERE tenant_id = $1`, c.ID).Scan(&due); err != nil {
			t.Fatal(err)
		}
		if got := time.Unix(due, 0); got.Before(s.Clock.Now().Add(59 * time.Minute)) {
			t.Fatalf("re-armed for %v; want about an hour after %v", got, s.Clock.Now())
		}
		// Back within a day: sent once, late.
		s.Clock.Add(2 * time.Hour)
		suspend(steeple.TenantActive, steeple.TenantSuspended)
		fire()
		waitEach(t, s, phones, "Daily verse", 20*time.Second)
		sc, runs := scheduleRow(t, s, c, rec)
		if len(runs) != 1 || runs[0].Occurrence != first || sc.NextKey == first {
			t.Fatalf("runs %+v, next %s; want %s sent and the next armed", runs, sc.NextKey, first)
		}
		// Suspended across three occurrences: the one fired when it is back
		// is more than a day late and skipped; the schedule goes on.
		suspend(steeple.TenantSuspended, steeple.TenantActive)
		s.Clock.Add(sc.NextAt.Sub(s.Clock.Now()) + time.Minute)
		fire()
		s.Clock.Add(3 * 24 * time.Hour)
		suspend(steeple.TenantActive, steeple.TenantSuspended)
		fire()
		s.SettleQueue(t)
		for _, p := range phones {
			if n := s.TextsContaining(p, "Daily verse"); n != 1 {
				t.Fatalf("%s got %d texts; want only the first (the missed one skipped)", p, n)
			}
		}
		sc, runs = scheduleRow(t, s, c, rec)
		if len(runs) != 2 || runs[0].MessageID != "" || runs[0].NotSent == "" || runs[0].Sent() || !sc.NextAt.After(s.Clock.Now()) {
			t.Fatalf("runs %+v, next at %v (now %v); want the missed occurrence recorded as not sent and the next in the future",
				runs, sc.NextAt, s.Clock.Now())
		}
	})
}
