package httpapi_test

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/members"
)

// Scheduled and recurring broadcasts through the API, driven by the test
// clock: the schedule service reads s.Clock, and the test calls Tick (the
// leader's periodic job in production) after moving it. River itself runs
// on real time, so what a tick queues is sent at once.

// schView is a schedule as the API shows it.
type schView struct {
	ID       string     `json:"id"`
	Kind     string     `json:"kind"`
	Status   string     `json:"status"`
	Name     string     `json:"name"`
	SendAt   *time.Time `json:"send_at"`
	Timezone string     `json:"timezone"`
	Rule     *struct {
		Frequency string   `json:"frequency"`
		Time      string   `json:"time"`
		Weekdays  []string `json:"weekdays"`
	} `json:"rule"`
	Message struct {
		Text   string `json:"text"`
		Urgent bool   `json:"urgent"`
	} `json:"message"`
	NextAt   *time.Time  `json:"next_at"`
	Upcoming []time.Time `json:"upcoming"`
	Runs     []struct {
		Occurrence string `json:"occurrence"`
		MessageID  string `json:"message_id"`
	} `json:"runs"`
}

func schDecode(t *testing.T, r *testkit.Response, status int) schView {
	t.Helper()
	wantStatus(t, r, status)
	var v schView
	r.Decode(t, &v)
	return v
}

func chicagoLoc(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// schSetClock moves the test clock to an instant (backwards too, before a
// test has done anything).
func schSetClock(s *testkit.Server, to time.Time) { s.Clock.Add(to.Sub(s.Clock.Now())) }

// schRelogin signs the admin in again: access tokens last 15 minutes of
// the test clock, which the tests move by hours.
func schRelogin(t *testing.T, s *testkit.Server, a *account) {
	t.Helper()
	r := login(t, s, a.email, a.password, a.tenantID)
	wantStatus(t, r, http.StatusOK)
	a.access = r.Tokens(t).AccessToken
}

// schMove moves the clock to an instant, signs in again and ticks,
// returning how many occurrences the tick queued.
func schMove(t *testing.T, s *testkit.Server, to time.Time, as ...*account) int {
	t.Helper()
	schSetClock(s, to)
	for _, a := range as {
		schRelogin(t, s, a)
	}
	return schTick(t, s)
}

func schTick(t *testing.T, s *testkit.Server) int {
	t.Helper()
	n, err := s.Schedules.Tick(context.Background())
	if err != nil {
		t.Fatalf("tick: %v", err)
	}
	return n
}

// schWantTexts waits for phone to have received n texts containing text,
// then lets the queue settle and checks there are exactly n.
func schWantTexts(t *testing.T, s *testkit.Server, phone, text string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for s.TextsContaining(phone, text) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s received %d texts with %q after 30 s; want %d", phone, s.TextsContaining(phone, text), text, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.SettleQueue(t)
	if got := s.TextsContaining(phone, text); got != n {
		t.Fatalf("%s received %d texts with %q; want exactly %d", phone, got, text, n)
	}
}

// schDue reads a schedule's row in the registry's due list.
func schDue(t *testing.T, s *testkit.Server, tenantID, scheduleID string) (string, time.Time, bool) {
	t.Helper()
	var occ string
	var at int64
	err := s.Tenancy.Registry.DB().QueryRowContext(context.Background(),
		`SELECT occurrence, due_at FROM schedule_due WHERE tenant_id = $1 AND schedule_id = $2`, tenantID, scheduleID).Scan(&occ, &at)
	if err == sql.ErrNoRows {
		return "", time.Time{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return occ, time.Unix(at, 0).UTC(), true
}

// schChurch signs up a church with a number and quiet hours as given
// ("" leaves the default 21:00–08:00).
func schChurch(t *testing.T, s *testkit.Server, name, email, number, quietStart, quietEnd string) *account {
	t.Helper()
	a := signup(t, s, name, email, pw1)
	if err := s.Tenancy.Registry.AssignNumber(context.Background(), a.tenantID, number); err != nil {
		t.Fatal(err)
	}
	if quietStart != "" {
		r := s.Do(t, "PUT", "/api/v1/settings", a.access, map[string]any{"quiet_hours_start": quietStart, "quiet_hours_end": quietEnd})
		wantStatus(t, r, http.StatusOK)
	}
	return a
}

func schMember(t *testing.T, s *testkit.Server, a *account, first, phone string) string {
	t.Helper()
	return postMember(t, s, a.access, first, "Member", phone, true).ID
}

func TestScheduledBroadcastAPI(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		loc := chicagoLoc(t)
		base := time.Date(2027, 1, 12, 10, 0, 0, 0, loc) // a Tuesday morning in the church's timezone
		schSetClock(s, base)
		a := schChurch(t, s, "Grace Chapel", "owner@grace.example.org", "+13125551001", "", "")
		other := schChurch(t, s, "Other Church", "owner@other.example.org", "+13125551002", "", "")
		const ann, ben = "+13122001001", "+13122001002"
		annID := schMember(t, s, a, "Ann", ann)
		schMember(t, s, a, "Ben", ben)

		// Validation: in the future, within a year.
		for _, at := range []time.Time{base.Add(-time.Minute), base, base.AddDate(1, 0, 2)} {
			r := s.Do(t, "POST", "/api/v1/messages", a.access, map[string]any{"text": "Picnic", "audience": map[string]any{"all": true},
				"send_at": at.Format(time.RFC3339)})
			wantError(t, r, http.StatusBadRequest, "invalid")
			wantField(t, r, "send_at")
		}
		r := s.Do(t, "POST", "/api/v1/messages", a.access, map[string]any{"text": "", "audience": map[string]any{"all": true},
			"send_at": base.Add(time.Hour).Format(time.RFC3339)})
		wantStatus(t, r, http.StatusBadRequest)
		if n := len(schList(t, s, a, "/api/v1/messages/scheduled", "scheduled")); n != 0 {
			t.Fatalf("%d scheduled after invalid requests", n)
		}

		// Schedule, list, edit.
		noon := base.Add(2 * time.Hour)
		v := schDecode(t, s.Do(t, "POST", "/api/v1/messages", a.access, map[string]any{"text": "Picnic at noon",
			"audience": map[string]any{"all": true}, "send_at": noon.Format(time.RFC3339)}), http.StatusCreated)
		if v.Kind != "once" || v.Status != "active" || v.SendAt == nil || !v.SendAt.Equal(noon) || v.NextAt == nil ||
			!v.NextAt.Equal(noon) || v.Timezone != "America/Chicago" || v.Message.Text != "Picnic at noon" {
			t.Fatalf("scheduled: %+v", v)
		}
		if _, due, ok := schDue(t, s, a.tenantID, v.ID); !ok || !due.Equal(noon) {
			t.Fatalf("registry due %v %v; want %v", due, ok, noon)
		}
		list := schList(t, s, a, "/api/v1/messages/scheduled", "scheduled")
		if len(list) != 1 || list[0].ID != v.ID {
			t.Fatalf("scheduled list: %+v", list)
		}
		one := noon.Add(time.Hour)
		e := schDecode(t, s.Do(t, "PATCH", "/api/v1/messages/scheduled/"+v.ID, a.access, map[string]any{"send_at": one.Format(time.RFC3339),
			"message": map[string]any{"text": "Picnic moved to one", "audience": map[string]any{"member_ids": []string{annID}}}}), http.StatusOK)
		if !e.SendAt.Equal(one) || e.Message.Text != "Picnic moved to one" {
			t.Fatalf("edited: %+v", e)
		}
		if _, due, _ := schDue(t, s, a.tenantID, v.ID); !due.Equal(one) {
			t.Fatalf("registry due %v after the edit; want %v", due, one)
		}
		// Edits are validated like new ones.
		r = s.Do(t, "PATCH", "/api/v1/messages/scheduled/"+v.ID, a.access, map[string]any{"send_at": base.Add(-time.Hour).Format(time.RFC3339)})
		wantField(t, r, "send_at")
		wantStatus(t, r, http.StatusBadRequest)
		r = s.Do(t, "PATCH", "/api/v1/messages/scheduled/"+v.ID, a.access, map[string]any{"send_at": base.AddDate(1, 1, 0).Format(time.RFC3339)})
		wantField(t, r, "send_at")
		// Text only: the time stays.
		e = schDecode(t, s.Do(t, "PATCH", "/api/v1/messages/scheduled/"+v.ID, a.access, map[string]any{
			"message": map[string]any{"text": "Picnic at one", "audience": map[string]any{"member_ids": []string{annID}}}}), http.StatusOK)
		if !e.SendAt.Equal(one) || e.Message.Text != "Picnic at one" {
			t.Fatalf("text edit: %+v", e)
		}

		// Another one, cancelled.
		c := schDecode(t, s.Do(t, "POST", "/api/v1/messages", a.access, map[string]any{"text": "Cancelled bake sale",
			"audience": map[string]any{"all": true}, "send_at": noon.Format(time.RFC3339)}), http.StatusCreated)

		// Another church sees none of it.
		if n := len(schList(t, s, other, "/api/v1/messages/scheduled", "scheduled")); n != 0 {
			t.Fatalf("the other church lists %d scheduled broadcasts", n)
		}
		for _, req := range [][2]string{{"PATCH", "/api/v1/messages/scheduled/" + v.ID}, {"DELETE", "/api/v1/messages/scheduled/" + v.ID}} {
			wantError(t, s.Do(t, req[0], req[1], other.access, map[string]any{"send_at": one.Add(time.Hour).Format(time.RFC3339)}),
				http.StatusNotFound, "not_found")
		}
		wantStatus(t, s.Do(t, "DELETE", "/api/v1/messages/scheduled/"+c.ID, a.access, nil), http.StatusNoContent)
		if _, _, ok := schDue(t, s, a.tenantID, c.ID); ok {
			t.Fatal("a cancelled broadcast is still in the registry's due list")
		}
		wantError(t, s.Do(t, "PATCH", "/api/v1/messages/scheduled/"+c.ID, a.access, map[string]any{"send_at": one.Format(time.RFC3339)}),
			http.StatusNotFound, "not_found")
		wantError(t, s.Do(t, "DELETE", "/api/v1/messages/scheduled/"+c.ID, a.access, nil), http.StatusNotFound, "not_found")
		list = schList(t, s, a, "/api/v1/messages/scheduled", "scheduled")
		if len(list) != 1 || list[0].ID != v.ID {
			t.Fatalf("scheduled list after cancelling: %+v", list)
		}

		// Not before its time: at 12:30 nothing is due (noon was moved to one,
		// and the noon one was cancelled).
		if n := schMove(t, s, noon.Add(30*time.Minute), a, other); n != 0 {
			t.Fatalf("tick at 12:30 queued %d", n)
		}
		// At its time: sent once, to Ann only, however often the tick runs.
		if n := schMove(t, s, one.Add(time.Second), a, other); n != 1 {
			t.Fatalf("tick at 13:00 queued %d; want 1", n)
		}
		for range 3 {
			if n := schTick(t, s); n != 0 {
				t.Fatalf("a later tick queued %d again", n)
			}
		}
		schWantTexts(t, s, ann, "Picnic at one", 1)
		if s.TextsContaining(ben, "Picnic") != 0 || s.TextsContaining(ann, "Picnic at noon") != 0 || s.TextsContaining(ann, "bake sale") != 0 {
			t.Fatalf("texts went out that should not have: %+v", s.Sim.Messages())
		}
		if n := schMove(t, s, one.Add(24*time.Hour), a, other); n != 0 {
			t.Fatalf("a tick a day later queued %d", n)
		}
		s.SettleQueue(t)
		if got := s.TextsContaining(ann, "Picnic at one"); got != 1 {
			t.Fatalf("Ann received the broadcast %d times", got)
		}
		// Sent: no longer listed or editable; the broadcast is in the
		// church's messages.
		if n := len(schList(t, s, a, "/api/v1/messages/scheduled", "scheduled")); n != 0 {
			t.Fatalf("%d still listed after sending", n)
		}
		wantError(t, s.Do(t, "PATCH", "/api/v1/messages/scheduled/"+v.ID, a.access, map[string]any{"send_at": one.AddDate(0, 0, 2).Format(time.RFC3339)}),
			http.StatusConflict, "conflict")
		wantError(t, s.Do(t, "DELETE", "/api/v1/messages/scheduled/"+v.ID, a.access, nil), http.StatusConflict, "conflict")
		msgs := s.Do(t, "GET", "/api/v1/messages", a.access, nil)
		wantStatus(t, msgs, http.StatusOK)
		if strings.Count(msgs.Raw, "Picnic at one") != 1 || strings.Contains(msgs.Raw, "bake sale") {
			t.Fatalf("messages: %s", msgs.Raw)
		}
	})
}

func schList(t *testing.T, s *testkit.Server, a *account, path, key string) []schView {
	t.Helper()
	r := s.Do(t, "GET", path, a.access, nil)
	wantStatus(t, r, http.StatusOK)
	var body map[string][]schView
	r.Decode(t, &body)
	if _, ok := body[key]; !ok {
		t.Fatalf("%s: no %q in %s", path, key, r.Raw)
	}
	return body[key]
}

func TestRecurringAPI(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		loc := chicagoLoc(t)
		day := func(d, hh, mm int) time.Time { return time.Date(2027, 1, d, hh, mm, 0, 0, loc) }
		schSetClock(s, day(12, 10, 0)) // Tuesday 12 January 2027, 10:00
		a := schChurch(t, s, "Grace Chapel", "owner@grace.example.org", "+13125551011", "", "")
		other := schChurch(t, s, "Other Church", "owner@other.example.org", "+13125551012", "", "")
		const ann = "+13122001011"
		schMember(t, s, a, "Ann", ann)
		body := map[string]any{"name": "Youth group", "rule": map[string]any{"frequency": "weekly", "weekdays": []string{"tuesday", "thursday"}, "time": "18:00"},
			"message": map[string]any{"text": "Youth group tonight at 7", "audience": map[string]any{"all": true}}}

		// Validation names the field.
		for field, bad := range map[string]map[string]any{
			"name":      {"name": " ", "rule": body["rule"], "message": body["message"]},
			"time":      {"name": "x", "rule": map[string]any{"frequency": "daily", "time": "6pm"}, "message": body["message"]},
			"frequency": {"name": "x", "rule": map[string]any{"frequency": "yearly", "time": "18:00"}, "message": body["message"]},
			"weekdays":  {"name": "x", "rule": map[string]any{"frequency": "weekly", "time": "18:00"}, "message": body["message"]},
			"ordinal":   {"name": "x", "rule": map[string]any{"frequency": "monthly", "time": "18:00", "ordinal": "fifth", "weekday": "sunday"}, "message": body["message"]},
		} {
			r := s.Do(t, "POST", "/api/v1/recurring", a.access, bad)
			wantStatus(t, r, http.StatusBadRequest)
			wantField(t, r, field)
		}
		wantStatus(t, s.Do(t, "POST", "/api/v1/recurring", a.access, map[string]any{"name": "x", "rule": body["rule"],
			"message": map[string]any{"text": "", "audience": map[string]any{"all": true}}}), http.StatusBadRequest)

		v := schDecode(t, s.Do(t, "POST", "/api/v1/recurring", a.access, body), http.StatusCreated)
		want := []time.Time{day(12, 18, 0), day(14, 18, 0), day(19, 18, 0), day(21, 18, 0), day(26, 18, 0)}
		if v.Kind != "recurring" || v.Status != "active" || v.Name != "Youth group" || v.NextAt == nil || !v.NextAt.Equal(want[0]) {
			t.Fatalf("created: %+v", v)
		}
		wantTimes(t, "upcoming", v.Upcoming, want)
		if l := schList(t, s, a, "/api/v1/recurring", "recurring"); len(l) != 1 || l[0].ID != v.ID {
			t.Fatalf("list: %+v", l)
		}

		// Cross-tenant: every id endpoint is 404 for another church.
		if l := schList(t, s, other, "/api/v1/recurring", "recurring"); len(l) != 0 {
			t.Fatalf("the other church lists %+v", l)
		}
		for _, req := range [][2]string{{"GET", ""}, {"PATCH", ""}, {"POST", "/pause"}, {"POST", "/resume"}, {"DELETE", ""}} {
			r := s.Do(t, req[0], "/api/v1/recurring/"+v.ID+req[1], other.access, map[string]any{"name": "Hijacked"})
			wantError(t, r, http.StatusNotFound, "not_found")
		}
		// Nor does a scheduled-broadcast endpoint serve a recurring id.
		wantError(t, s.Do(t, "DELETE", "/api/v1/messages/scheduled/"+v.ID, a.access, nil), http.StatusNotFound, "not_found")

		// Three occurrences: one broadcast each, however often ticked.
		for i, occ := range want[:3] {
			if n := schMove(t, s, occ.Add(30*time.Second), a, other); n != 1 {
				t.Fatalf("occurrence %d: tick queued %d", i, n)
			}
			if n := schTick(t, s); n != 0 {
				t.Fatalf("occurrence %d: second tick queued %d", i, n)
			}
			schWantTexts(t, s, ann, "Youth group tonight", i+1)
			g := schDecode(t, s.Do(t, "GET", "/api/v1/recurring/"+v.ID, a.access, nil), http.StatusOK)
			if len(g.Runs) != i+1 || g.NextAt == nil || !g.NextAt.Equal(want[i+1]) {
				t.Fatalf("after occurrence %d: runs %+v, next %v; want next %v", i, g.Runs, g.NextAt, want[i+1])
			}
			if g.Runs[0].Occurrence != occ.Format("2006-01-02T15:04") || g.Runs[0].MessageID == "" {
				t.Fatalf("latest run %+v; want occurrence %s", g.Runs[0], occ.Format("2006-01-02T15:04"))
			}
		}

		// Paused: nothing, however far the clock goes.
		schSetClock(s, day(20, 9, 0))
		schRelogin(t, s, a)
		p := schDecode(t, s.Do(t, "POST", "/api/v1/recurring/"+v.ID+"/pause", a.access, nil), http.StatusOK)
		if p.Status != "paused" || p.NextAt != nil || len(p.Upcoming) != 0 {
			t.Fatalf("paused: %+v", p)
		}
		if _, _, ok := schDue(t, s, a.tenantID, v.ID); ok {
			t.Fatal("a paused schedule is still in the registry's due list")
		}
		if l := schList(t, s, a, "/api/v1/recurring", "recurring"); len(l) != 1 || l[0].Status != "paused" {
			t.Fatalf("paused ones are listed: %+v", l)
		}
		if n := schMove(t, s, day(21, 18, 30), a); n != 0 {
			t.Fatalf("tick while paused queued %d", n)
		}
		// Resumed the next morning: from the next occurrence after now; the
		// one missed while paused is not sent late.
		schMove(t, s, day(22, 10, 0), a)
		r := schDecode(t, s.Do(t, "POST", "/api/v1/recurring/"+v.ID+"/resume", a.access, nil), http.StatusOK)
		if r.Status != "active" || r.NextAt == nil || !r.NextAt.Equal(day(26, 18, 0)) {
			t.Fatalf("resumed: status %s next %v; want active, %v", r.Status, r.NextAt, day(26, 18, 0))
		}
		if n := schTick(t, s); n != 0 {
			t.Fatalf("tick after resuming queued %d (the missed occurrence?)", n)
		}
		// Pausing and resuming before the next occurrence keeps it.
		schDecode(t, s.Do(t, "POST", "/api/v1/recurring/"+v.ID+"/pause", a.access, nil), http.StatusOK)
		r = schDecode(t, s.Do(t, "POST", "/api/v1/recurring/"+v.ID+"/resume", a.access, nil), http.StatusOK)
		if r.NextAt == nil || !r.NextAt.Equal(day(26, 18, 0)) {
			t.Fatalf("paused and resumed before the next occurrence: next %v; want %v (not skipped)", r.NextAt, day(26, 18, 0))
		}
		// Resuming one that is not paused changes nothing.
		r = schDecode(t, s.Do(t, "POST", "/api/v1/recurring/"+v.ID+"/resume", a.access, nil), http.StatusOK)
		if r.NextAt == nil || !r.NextAt.Equal(day(26, 18, 0)) {
			t.Fatalf("resumed while active: next %v; want %v", r.NextAt, day(26, 18, 0))
		}

		// A new rule takes effect from now.
		u := schDecode(t, s.Do(t, "PATCH", "/api/v1/recurring/"+v.ID, a.access, map[string]any{"name": "Lunch",
			"rule":    map[string]any{"frequency": "daily", "time": "12:00"},
			"message": map[string]any{"text": "Lunch is served", "audience": map[string]any{"all": true}}}), http.StatusOK)
		if u.Name != "Lunch" || u.Rule == nil || u.Rule.Frequency != "daily" || u.NextAt == nil || !u.NextAt.Equal(day(22, 12, 0)) {
			t.Fatalf("patched: %+v", u)
		}
		wantTimes(t, "upcoming after the new rule", u.Upcoming, []time.Time{day(22, 12, 0), day(23, 12, 0), day(24, 12, 0), day(25, 12, 0), day(26, 12, 0)})
		wantStatus(t, s.Do(t, "PATCH", "/api/v1/recurring/"+v.ID, a.access, map[string]any{"rule": map[string]any{"frequency": "daily"}}), http.StatusBadRequest)
		if n := schMove(t, s, day(22, 12, 1), a); n != 1 {
			t.Fatalf("tick at the new rule's time queued %d", n)
		}
		schWantTexts(t, s, ann, "Lunch is served", 1)
		if got := s.TextsContaining(ann, "Youth group tonight"); got != 3 {
			t.Fatalf("youth group texts %d; want the 3 before the pause", got)
		}

		// Deleted: gone, and nothing more fires.
		wantStatus(t, s.Do(t, "DELETE", "/api/v1/recurring/"+v.ID, a.access, nil), http.StatusNoContent)
		wantError(t, s.Do(t, "GET", "/api/v1/recurring/"+v.ID, a.access, nil), http.StatusNotFound, "not_found")
		for _, req := range [][2]string{{"PATCH", ""}, {"POST", "/pause"}, {"POST", "/resume"}, {"DELETE", ""}} {
			wantError(t, s.Do(t, req[0], "/api/v1/recurring/"+v.ID+req[1], a.access, map[string]any{"name": "Again"}), http.StatusNotFound, "not_found")
		}
		if l := schList(t, s, a, "/api/v1/recurring", "recurring"); len(l) != 0 {
			t.Fatalf("deleted one listed: %+v", l)
		}
		if n := schMove(t, s, day(23, 12, 1), a); n != 0 {
			t.Fatalf("tick after deleting queued %d", n)
		}
		s.SettleQueue(t)
		if got := s.TextsContaining(ann, "Lunch is served"); got != 1 {
			t.Fatalf("lunch texts %d after deleting; want 1", got)
		}
		wantError(t, s.Do(t, "GET", "/api/v1/recurring/not-an-id", a.access, nil), http.StatusNotFound, "not_found")
	})
}

func wantTimes(t *testing.T, what string, got, want []time.Time) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = got[i].Equal(want[i])
	}
	if !ok {
		t.Fatalf("%s: %v; want %v", what, got, want)
	}
}

// Quiet hours hold scheduled and recurring sends until they end, unless
// urgent; a church can move them; replies in a conversation are not held.
func TestQuietHoursHoldSchedules(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		loc := chicagoLoc(t)
		day := func(d, hh, mm int) time.Time { return time.Date(2027, 1, d, hh, mm, 0, 0, loc) }
		schSetClock(s, day(12, 12, 0))
		a := schChurch(t, s, "Grace Chapel", "owner@grace.example.org", "+13125551021", "", "")
		const ann = "+13122001021"
		schMember(t, s, a, "Ann", ann)
		all := map[string]any{"all": true}

		if st := s.Client(a.access).Settings(t); st.QuietHoursStart != "21:00" || st.QuietHoursEnd != "08:00" {
			t.Fatalf("default quiet hours: %+v", st)
		}
		held := schDecode(t, s.Do(t, "POST", "/api/v1/messages", a.access, map[string]any{"text": "Sunrise service tomorrow",
			"audience": all, "send_at": day(12, 22, 0).Format(time.RFC3339)}), http.StatusCreated)
		urgent := schDecode(t, s.Do(t, "POST", "/api/v1/messages", a.access, map[string]any{"text": "URGENT: roads closed",
			"audience": all, "send_at": day(12, 22, 0).Format(time.RFC3339), "urgent": true}), http.StatusCreated)
		if !urgent.Message.Urgent || held.Message.Urgent {
			t.Fatalf("urgent flags: %+v %+v", urgent.Message, held.Message)
		}
		rec := schDecode(t, s.Do(t, "POST", "/api/v1/recurring", a.access, map[string]any{"name": "Night owl",
			"rule":    map[string]any{"frequency": "daily", "time": "22:30"},
			"message": map[string]any{"text": "Compline at 10:30", "audience": all}}), http.StatusCreated)

		// 22:00: the urgent one goes, the other waits for 08:00.
		if n := schMove(t, s, day(12, 22, 0).Add(10*time.Second), a); n != 2 {
			t.Fatalf("tick at 22:00 queued %d; want 2", n)
		}
		schWantTexts(t, s, ann, "URGENT: roads closed", 1)
		if got := s.TextsContaining(ann, "Sunrise service"); got != 0 {
			t.Fatalf("sent in quiet hours: %d", got)
		}
		if occ, due, ok := schDue(t, s, a.tenantID, held.ID); !ok || !due.Equal(day(13, 8, 0)) || occ == "" {
			t.Fatalf("held broadcast due %v (%v); want %v", due, ok, day(13, 8, 0))
		}
		if l := schList(t, s, a, "/api/v1/messages/scheduled", "scheduled"); len(l) != 1 || l[0].ID != held.ID {
			t.Fatalf("a held broadcast is still scheduled: %+v", l)
		}
		// 22:30: the recurring one is held too.
		if n := schMove(t, s, day(12, 22, 30).Add(10*time.Second), a); n != 1 {
			t.Fatalf("tick at 22:30 queued %d; want 1", n)
		}
		s.SettleQueue(t)
		if _, due, ok := schDue(t, s, a.tenantID, rec.ID); !ok || !due.Equal(day(13, 8, 0)) {
			t.Fatalf("held recurring due %v (%v); want %v", due, ok, day(13, 8, 0))
		}
		for _, hm := range [][2]int{{23, 0}, {23, 59}} {
			if n := schMove(t, s, day(12, hm[0], hm[1]), a); n != 0 {
				t.Fatalf("tick at %02d:%02d queued %d", hm[0], hm[1], n)
			}
		}
		for _, hm := range [][2]int{{3, 0}, {7, 59}} {
			if n := schMove(t, s, day(13, hm[0], hm[1]), a); n != 0 {
				t.Fatalf("tick at %02d:%02d queued %d", hm[0], hm[1], n)
			}
		}
		if s.TextsContaining(ann, "Sunrise service")+s.TextsContaining(ann, "Compline") != 0 {
			t.Fatal("sent during quiet hours")
		}
		// 08:00: both go, once; the recurring one's next is tonight at 22:30.
		if n := schMove(t, s, day(13, 8, 0), a); n != 2 {
			t.Fatalf("tick at 08:00 queued %d; want 2", n)
		}
		schWantTexts(t, s, ann, "Sunrise service", 1)
		schWantTexts(t, s, ann, "Compline", 1)
		g := schDecode(t, s.Do(t, "GET", "/api/v1/recurring/"+rec.ID, a.access, nil), http.StatusOK)
		if g.NextAt == nil || !g.NextAt.Equal(day(13, 22, 30)) || len(g.Runs) != 1 || g.Runs[0].Occurrence != "2027-01-12T22:30" {
			t.Fatalf("recurring after its held occurrence: next %v runs %+v", g.NextAt, g.Runs)
		}
		if n := schTick(t, s); n != 0 {
			t.Fatalf("tick after release queued %d", n)
		}
		wantStatus(t, s.Do(t, "DELETE", "/api/v1/recurring/"+rec.ID, a.access, nil), http.StatusNoContent)

		// The church moves its quiet hours to 23:00–06:00.
		r := s.Do(t, "PUT", "/api/v1/settings", a.access, map[string]any{"quiet_hours_start": "25:00"})
		wantStatus(t, r, http.StatusBadRequest)
		wantField(t, r, "quiet_hours_start")
		r = s.Do(t, "PUT", "/api/v1/settings", a.access, map[string]any{"quiet_hours_end": "6am"})
		wantField(t, r, "quiet_hours_end")
		r = s.Do(t, "PUT", "/api/v1/settings", a.access, map[string]any{"quiet_hours_start": "23:00", "quiet_hours_end": "06:00"})
		wantStatus(t, r, http.StatusOK)
		var set members.Settings
		if r.Decode(t, &set); set.QuietHoursStart != "23:00" || set.QuietHoursEnd != "06:00" {
			t.Fatalf("settings: %s", r.Raw)
		}
		late := schDecode(t, s.Do(t, "POST", "/api/v1/messages", a.access, map[string]any{"text": "Late notice",
			"audience": all, "send_at": day(13, 22, 15).Format(time.RFC3339)}), http.StatusCreated)
		early := schDecode(t, s.Do(t, "POST", "/api/v1/messages", a.access, map[string]any{"text": "Early notice",
			"audience": all, "send_at": day(14, 5, 0).Format(time.RFC3339)}), http.StatusCreated)
		if n := schMove(t, s, day(13, 22, 15), a); n != 1 {
			t.Fatalf("tick at 22:15 queued %d", n)
		}
		schWantTexts(t, s, ann, "Late notice", 1) // 22:15 is no longer quiet
		if n := schMove(t, s, day(14, 5, 0), a); n != 1 {
			t.Fatalf("tick at 05:00 queued %d", n)
		}
		s.SettleQueue(t)
		if s.TextsContaining(ann, "Early notice") != 0 {
			t.Fatal("sent at 05:00, inside 23:00–06:00")
		}
		if _, due, ok := schDue(t, s, a.tenantID, early.ID); !ok || !due.Equal(day(14, 6, 0)) {
			t.Fatalf("early notice due %v (%v); want 06:00", due, ok)
		}
		if _, _, ok := schDue(t, s, a.tenantID, late.ID); ok {
			t.Fatal("a sent broadcast is still due")
		}
		if n := schMove(t, s, day(14, 6, 0), a); n != 1 {
			t.Fatalf("tick at 06:00 queued %d", n)
		}
		schWantTexts(t, s, ann, "Early notice", 1)

		// A reply in a live conversation at 23:30 goes at once.
		schSetClock(s, day(14, 23, 30))
		schRelogin(t, s, a)
		conv := textIn(t, s, a.tenantID, "in-quiet-1", ann, "+13125551021", "Can someone drive me Sunday?")
		rr := s.Do(t, "POST", "/api/v1/conversations/"+conv+"/messages", a.access, map[string]any{"text": "Yes, pickup at 9:30"})
		wantStatus(t, rr, http.StatusCreated)
		deadline := time.Now().Add(10 * time.Second)
		for s.TextsContaining(ann, "pickup at 9:30") == 0 {
			if time.Now().After(deadline) {
				t.Fatal("a reply in a conversation was held by quiet hours")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
