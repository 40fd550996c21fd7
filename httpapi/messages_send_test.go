package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// sendView is a schedule as the issue #15 additions show it.
type sendView struct {
	ID          string     `json:"id"`
	SendAt      *time.Time `json:"send_at"`
	SendAtLocal string     `json:"send_at_local"`
	NextAtLocal string     `json:"next_at_local"`
	Timezone    string     `json:"timezone"`
	Warnings    []string   `json:"warnings"`
}

// send_at without an offset is the church's own clock (America/Chicago);
// answers carry the local time beside UTC; offsets and Z still work; a
// local time the clocks skip is refused by field.
func TestSendAtLocalTime(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		loc := chicagoLoc(t)
		schSetClock(s, time.Date(2027, 1, 12, 10, 0, 0, 0, loc))
		a := schChurch(t, s, "Local Chapel", "owner@local.example.org", "+13125551101", "", "")
		schMember(t, s, a, "Ann", "+13122001101")
		all := map[string]any{"all": true}
		nine := time.Date(2027, 1, 13, 9, 0, 0, 0, loc)
		for _, raw := range []string{"2027-01-13T09:00:00", "2027-01-13T09:00", "2027-01-13T15:00:00Z", "2027-01-13T09:00:00-06:00"} {
			r := s.Do(t, "POST", "/api/v1/messages", a.access, map[string]any{"text": "Choir at nine", "audience": all, "send_at": raw})
			wantStatus(t, r, http.StatusCreated)
			var v sendView
			r.Decode(t, &v)
			if v.SendAt == nil || !v.SendAt.Equal(nine) || v.SendAtLocal != "2027-01-13T09:00:00-06:00" ||
				v.NextAtLocal != "2027-01-13T09:00:00-06:00" || v.Timezone != "America/Chicago" {
				t.Fatalf("send_at %q: %+v", raw, v)
			}
			// An edit reads a local time the same way.
			r = s.Do(t, "PATCH", "/api/v1/messages/scheduled/"+v.ID, a.access, map[string]any{"send_at": "2027-01-13T10:30"})
			wantStatus(t, r, http.StatusOK)
			r.Decode(t, &v)
			if !v.SendAt.Equal(nine.Add(90*time.Minute)) || v.SendAtLocal != "2027-01-13T10:30:00-06:00" {
				t.Fatalf("edited %q: %+v", raw, v)
			}
		}
		for _, raw := range []string{"2027-03-14T02:30", "13/01/2027 9am", "2027-01-13", ""} {
			r := s.Do(t, "POST", "/api/v1/messages", a.access, map[string]any{"text": "x", "audience": all, "send_at": raw})
			wantStatus(t, r, http.StatusBadRequest)
			wantField(t, r, "send_at")
		}
		r := s.Do(t, "POST", "/api/v1/messages", a.access, map[string]any{"text": "x", "audience": all, "send_at": 12})
		wantStatus(t, r, http.StatusBadRequest)
		wantField(t, r, "send_at")
	})
}

// A scheduled or recurring message to an audience with no one in it today
// is created, with a warning; one sent now still is refused.
func TestScheduleEmptyAudienceWarns(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		loc := chicagoLoc(t)
		schSetClock(s, time.Date(2027, 1, 12, 10, 0, 0, 0, loc))
		a := schChurch(t, s, "Empty Chapel", "owner@empty.example.org", "+13125551102", "", "")
		r := s.Do(t, "POST", "/api/v1/groups", a.access, map[string]any{"name": "Youth"})
		wantStatus(t, r, http.StatusCreated)
		var g struct{ ID string }
		r.Decode(t, &g)
		youth := map[string]any{"group_ids": []string{g.ID}}
		r = s.Do(t, "POST", "/api/v1/messages", a.access, map[string]any{"text": "Now", "audience": youth})
		wantStatus(t, r, http.StatusBadRequest)
		wantField(t, r, "audience")

		r = s.Do(t, "POST", "/api/v1/messages", a.access, map[string]any{"text": "Later", "audience": youth, "send_at": "2027-01-14T09:00"})
		wantStatus(t, r, http.StatusCreated)
		var v sendView
		r.Decode(t, &v)
		if len(v.Warnings) != 1 {
			t.Fatalf("scheduled to an empty group: %+v", v)
		}
		r = s.Do(t, "POST", "/api/v1/recurring", a.access, map[string]any{"name": "Youth night",
			"rule":    map[string]any{"frequency": "weekly", "time": "18:00", "weekdays": []string{"friday"}},
			"message": map[string]any{"text": "Youth tonight", "audience": youth}})
		wantStatus(t, r, http.StatusCreated)
		r.Decode(t, &v)
		if len(v.Warnings) != 1 || v.NextAtLocal != "2027-01-15T18:00:00-06:00" {
			t.Fatalf("recurring to an empty group: %+v", v)
		}
		// With someone in it, no warning.
		id := schMember(t, s, a, "Ann", "+13122001102")
		wantStatus(t, s.Do(t, "POST", "/api/v1/groups/"+g.ID+"/members", a.access, map[string]any{"member_ids": []string{id}}), http.StatusNoContent)
		r = s.Do(t, "POST", "/api/v1/messages", a.access, map[string]any{"text": "Later", "audience": youth, "send_at": "2027-01-14T09:00"})
		wantStatus(t, r, http.StatusCreated)
		v = sendView{}
		r.Decode(t, &v)
		if len(v.Warnings) != 0 {
			t.Fatalf("warnings with someone in the group: %+v", v)
		}
		// Unknown group ids are still refused.
		r = s.Do(t, "POST", "/api/v1/messages", a.access, map[string]any{"text": "Later",
			"audience": map[string]any{"group_ids": []string{"00000000-0000-4000-8000-000000000000"}}, "send_at": "2027-01-14T09:00"})
		if r.Status != http.StatusNotFound && r.Status != http.StatusBadRequest {
			t.Fatalf("unknown group: %d %s", r.Status, r.Raw)
		}
	})
}
