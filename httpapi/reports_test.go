package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
)

func TestWeeklyReport(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		a := signup(t, s, "Grace Chapel", "owner@grace.example.org", pw1)
		other := signup(t, s, "Other Church", "owner@other.example.org", pw2)
		const number = "+13125559001"
		if err := s.Tenancy.Registry.AssignNumber(ctx, a.tenantID, number); err != nil {
			t.Fatal(err)
		}
		postMember(t, s, a.access, "Ann", "Arbor", "+13125550501", true)
		postMember(t, s, a.access, "Bob", "Barker", "+13125550502", true)
		postMember(t, s, a.access, "Cy", "Cedar", "+13125550503", true)
		// 200 GSM-7 characters: two parts each.
		sendBroadcast(t, s, a.access, map[string]any{"text": strings.Repeat("a", 200), "audience": map[string]any{"all": true}})
		textIn(t, s, a.tenantID, "in-1", "+13125550501", number, "See you Sunday!")
		textIn(t, s, a.tenantID, "in-2", "+13125550502", number, "STOP")

		r := s.Do(t, "GET", "/api/v1/reports/weekly", a.access, nil)
		wantStatus(t, r, http.StatusOK)
		var rep messaging.WeeklyReport
		r.Decode(t, &rep)
		if len(rep.Weeks) != 12 || rep.Timezone != "America/Chicago" {
			t.Fatalf("report: %d weeks in %q", len(rep.Weeks), rep.Timezone)
		}
		for i, w := range rep.Weeks[:11] {
			if w.Texts+w.Parts+w.OptOuts+w.Replies != 0 {
				t.Errorf("week %d (%s) has activity: %+v", i, w.Start, w)
			}
		}
		cur := rep.Weeks[11]
		if cur.Start.Weekday() != 0 || cur.End.Sub(cur.Start).Hours() < 167 || !cur.Start.Before(s.Clock.Now()) || !cur.End.After(s.Clock.Now()) {
			t.Fatalf("current week %s – %s does not hold now (%s)", cur.Start, cur.End, s.Clock.Now())
		}
		if cur.Texts != 3 || cur.Parts != 6 || cur.OptOuts != 1 || cur.Replies != 1 {
			t.Fatalf("current week: %+v; want 3 texts, 6 parts, 1 opt-out, 1 reply", cur)
		}
		if want := float64(cur.Delivered) / 3; cur.DeliveryRate < want-0.001 || cur.DeliveryRate > want+0.001 {
			t.Fatalf("delivery rate %v with %d of 3 delivered", cur.DeliveryRate, cur.Delivered)
		}
		if rep.Month.Parts != 6 {
			t.Fatalf("month: %+v; want 6 parts", rep.Month)
		}

		for _, path := range []string{"/api/v1/reports/weekly.csv", "/api/v1/reports/weekly?format=csv"} {
			r = s.Do(t, "GET", path, a.access, nil)
			wantStatus(t, r, http.StatusOK)
			if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
				t.Fatalf("%s: content type %q", path, r.Header.Get("Content-Type"))
			}
			lines := strings.Split(strings.TrimSpace(r.Raw), "\n")
			if len(lines) != 13 || !strings.HasPrefix(lines[0], "week_start,") {
				t.Fatalf("%s: %d lines: %s", path, len(lines), r.Raw)
			}
			f := strings.Split(lines[12], ",")
			if f[0] != cur.Start.Format("2006-01-02") || f[2] != "3" || f[3] != "6" || f[7] != "1" || f[8] != "1" {
				t.Fatalf("%s: last row %q", path, lines[12])
			}
		}
		wantStatus(t, s.Do(t, "GET", "/api/v1/reports/weekly?format=pdf", a.access, nil), http.StatusBadRequest)

		// A week later the texts are in the week before; 12 weeks later they
		// have left the report, while this month's usage is the quota's.
		weekly := func() messaging.WeeklyReport {
			var rep messaging.WeeklyReport
			in := login(t, s, a.email, a.password, a.tenantID) // the old access token has expired
			wantStatus(t, in, http.StatusOK)
			r := s.Do(t, "GET", "/api/v1/reports/weekly", in.Tokens(t).AccessToken, nil)
			wantStatus(t, r, http.StatusOK)
			r.Decode(t, &rep)
			return rep
		}
		s.Clock.Add(7 * 24 * time.Hour)
		moved := weekly()
		if w := moved.Weeks[10]; w.Texts != 3 || w.Parts != 6 || w.Replies != 1 || w.OptOuts != 1 || !w.Start.Equal(cur.Start) {
			t.Fatalf("a week later, week 10: %+v; want last week's activity", w)
		}
		if w := moved.Weeks[11]; w.Texts+w.Replies+w.OptOuts != 0 {
			t.Fatalf("a week later, the new week has activity: %+v", w)
		}
		s.Clock.Add(11 * 7 * 24 * time.Hour)
		for i, w := range weekly().Weeks {
			if w.Texts+w.Replies+w.OptOuts != 0 {
				t.Fatalf("12 weeks later, week %d still has activity: %+v", i, w)
			}
		}

		// Another church sees none of it.
		in := login(t, s, other.email, other.password, other.tenantID)
		wantStatus(t, in, http.StatusOK)
		r = s.Do(t, "GET", "/api/v1/reports/weekly", in.Tokens(t).AccessToken, nil)
		wantStatus(t, r, http.StatusOK)
		rep = messaging.WeeklyReport{}
		r.Decode(t, &rep)
		if w := rep.Weeks[11]; w.Texts+w.OptOuts+w.Replies+rep.Month.Parts != 0 {
			t.Fatalf("other church's report: %+v %+v", w, rep.Month)
		}
	})
}
