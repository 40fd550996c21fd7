package httpapi_test

import (
	"context"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// A recurring message through the API across the clocks changing: daily
// at 02:30 in Chicago the night they spring forward (fires at 03:30, not
// skipped), daily at 01:30 in London the night they fall back (fires
// once); and in Chicago, where the fall-back night's 01:30 is the first of
// the two, daily, weekly and both monthly kinds at 01:30 that night fire
// once, with nothing in the repeated hour.
func TestRecurringAcrossDSTChanges(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		chi := chicagoLoc(t)
		lon, err := time.LoadLocation("Europe/London")
		if err != nil {
			t.Fatal(err)
		}
		schSetClock(s, time.Date(2027, 3, 12, 12, 0, 0, 0, chi))
		a := schChurch(t, s, "Grace Chapel", "owner@grace.example.org", "+13125551031", "00:00", "00:00")
		r := s.Do(t, "POST", "/api/v1/signup", "", map[string]any{
			"church": map[string]string{"name": "St Mary's", "timezone": "Europe/London"},
			"admin":  map[string]string{"name": "Vicar", "email": "vicar@stmarys.example.org", "password": pw2}})
		wantStatus(t, r, http.StatusCreated)
		s.VerifyEmail(t, r)
		l := &account{tenantID: r.TenantID(t), email: "vicar@stmarys.example.org", password: pw2, access: r.Tokens(t).AccessToken}
		if err := s.Tenancy.Registry.AssignNumber(context.Background(), l.tenantID, "+13125551032"); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, s.Do(t, "PUT", "/api/v1/settings", l.access, map[string]any{"quiet_hours_start": "00:00", "quiet_hours_end": "00:00"}), http.StatusOK)
		const ann, bea = "+13122001031", "+13122001032"
		schMember(t, s, a, "Ann", ann)
		schMember(t, s, l, "Bea", bea)

		daily := map[string]any{"frequency": "daily"}
		drive := func(c *account, phone, text string, rule map[string]any, want []time.Time, loc *time.Location) {
			t.Helper()
			rule = maps.Clone(rule)
			rule["time"] = want[0].In(loc).Format("15:04")
			v := schDecode(t, s.Do(t, "POST", "/api/v1/recurring", c.access, map[string]any{"name": "Night prayer",
				"rule":    rule,
				"message": map[string]any{"text": text, "audience": map[string]any{"all": true}}}), http.StatusCreated)
			if v.Timezone != loc.String() {
				t.Fatalf("timezone %s; want %s", v.Timezone, loc)
			}
			wantTimes(t, text+": upcoming", v.Upcoming[:len(want)], want)
			for i, at := range want {
				if n := schMove(t, s, at.Add(-time.Minute), c); n != 0 {
					t.Fatalf("%s: a minute before occurrence %d the tick queued %d", text, i, n)
				}
				if n := schMove(t, s, at.Add(30*time.Second), c); n != 1 {
					t.Fatalf("%s: occurrence %d (%v): tick queued %d", text, i, at.In(loc), n)
				}
				schWantTexts(t, s, phone, text, i+1)
				// An hour on (the repeated hour, after falling back): nothing.
				if n := schMove(t, s, at.Add(time.Hour+time.Minute), c); n != 0 {
					t.Fatalf("%s: an hour after occurrence %d the tick queued %d", text, i, n)
				}
				g := schDecode(t, s.Do(t, "GET", "/api/v1/recurring/"+v.ID, c.access, nil), http.StatusOK)
				if i+1 < len(want) && (g.NextAt == nil || !g.NextAt.Equal(want[i+1])) {
					t.Fatalf("%s: after occurrence %d next is %v; want %v", text, i, g.NextAt, want[i+1].In(loc))
				}
			}
			s.SettleQueue(t)
			if n := s.TextsContaining(phone, text); n != len(want) {
				t.Fatalf("%s: %d texts over %d days", text, n, len(want))
			}
			wantStatus(t, s.Do(t, "DELETE", "/api/v1/recurring/"+v.ID, c.access, nil), http.StatusNoContent)
		}
		// Chicago springs forward at 02:00 on Sunday 14 March 2027.
		drive(a, ann, "Chicago compline", daily, []time.Time{
			time.Date(2027, 3, 13, 2, 30, 0, 0, chi),
			time.Date(2027, 3, 14, 8, 30, 0, 0, time.UTC), // 03:30 CDT
			time.Date(2027, 3, 15, 2, 30, 0, 0, chi),
		}, chi)
		// London falls back at 02:00 BST on Sunday 31 October 2027.
		schMove(t, s, time.Date(2027, 10, 29, 12, 0, 0, 0, lon), a, l)
		second := time.Date(2027, 10, 31, 1, 30, 0, 0, lon) // either 01:30; the test takes the one the rule picks
		drive(l, bea, "London compline", daily, []time.Time{
			time.Date(2027, 10, 30, 1, 30, 0, 0, lon),
			second,
			time.Date(2027, 11, 1, 1, 30, 0, 0, lon),
		}, lon)
		// Chicago falls back at 02:00 CDT on Sunday 7 November 2027: 01:30
		// that night is first 06:30 UTC (CDT), then 07:30 UTC (CST). Every
		// kind of rule at 01:30 fires once, at the first; a tick in the
		// repeated hour finds nothing.
		fallBack := time.Date(2027, 11, 7, 6, 30, 0, 0, time.UTC)
		if got := time.Date(2027, 11, 7, 1, 30, 0, 0, chi); !got.Equal(fallBack) {
			t.Fatalf("Go reads 01:30 on the fall-back night in Chicago as %v; the test expects the first (CDT)", got.UTC())
		}
		schMove(t, s, time.Date(2027, 11, 5, 12, 0, 0, 0, chi), a, l)
		kinds := []struct {
			text string
			rule map[string]any
			next time.Time // after the fall-back night
		}{
			{"Vigil daily", map[string]any{"frequency": "daily"}, time.Date(2027, 11, 8, 1, 30, 0, 0, chi)},
			{"Vigil weekly", map[string]any{"frequency": "weekly", "weekdays": []string{"sunday"}}, time.Date(2027, 11, 14, 1, 30, 0, 0, chi)},
			{"Vigil monthly by date", map[string]any{"frequency": "monthly", "day_of_month": 7}, time.Date(2027, 12, 7, 1, 30, 0, 0, chi)},
			{"Vigil monthly by weekday", map[string]any{"frequency": "monthly", "ordinal": "first", "weekday": "sunday"},
				time.Date(2027, 12, 5, 1, 30, 0, 0, chi)},
		}
		ids := make([]string, len(kinds))
		for i, k := range kinds {
			rule := maps.Clone(k.rule)
			rule["time"] = "01:30"
			v := schDecode(t, s.Do(t, "POST", "/api/v1/recurring", a.access, map[string]any{"name": k.text, "rule": rule,
				"message": map[string]any{"text": k.text, "audience": map[string]any{"all": true}}}), http.StatusCreated)
			ids[i] = v.ID
		}
		if n := schMove(t, s, time.Date(2027, 11, 6, 1, 30, 30, 0, chi), a); n != 1 {
			t.Fatalf("Saturday 01:30: the tick queued %d; want the daily one", n)
		}
		s.SettleQueue(t) // fired on Saturday, not a day late
		if n := schMove(t, s, fallBack.Add(-time.Minute), a); n != 0 {
			t.Fatalf("a minute before 01:30 CDT the tick queued %d", n)
		}
		if n := schMove(t, s, fallBack.Add(30*time.Second), a); n != len(kinds) {
			t.Fatalf("01:30 CDT on the fall-back night: the tick queued %d; want every kind", n)
		}
		s.SettleQueue(t)
		for _, m := range []time.Duration{time.Hour + time.Minute, time.Hour + 30*time.Minute} { // 01:31 and 02:00 CST
			if n := schMove(t, s, fallBack.Add(m), a); n != 0 {
				t.Fatalf("in the repeated hour (%v) the tick queued %d", fallBack.Add(m).In(chi), n)
			}
		}
		s.SettleQueue(t)
		for i, k := range kinds {
			want := 1
			if i == 0 {
				want = 2 // Saturday and Sunday
			}
			if n := s.TextsContaining(ann, k.text); n != want {
				t.Fatalf("%s: %d texts by Sunday 02:00 CST; want %d", k.text, n, want)
			}
			g := schDecode(t, s.Do(t, "GET", "/api/v1/recurring/"+ids[i], a.access, nil), http.StatusOK)
			if g.NextAt == nil || !g.NextAt.Equal(k.next) {
				t.Fatalf("%s: next %v; want %v", k.text, g.NextAt, k.next.In(chi))
			}
		}
	})
}
