package messaging_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// "Send a test to me" texts only the signed-in admin's own phone, which
// must be set first (PATCH /api/v1/me); members get nothing.
func TestSendTestToMe(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		t.Parallel()
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c := s.Church(t, testkit.ChurchOptions{Name: "Test Church", Email: "owner@testsend.example.org", Number: "+13125550930"})
		o := s.Church(t, testkit.ChurchOptions{Name: "Other Test Church", Email: "owner@othertest.example.org", Number: "+13125550931"})
		ids := importMembers(t, s, c, membersCSV("Ts", 6500, 6503)).ids()
		id := c.API(s).Broadcast(t, map[string]any{"text": "Hi {first_name}, picnic at {church_name}", "audience": map[string]any{"member_ids": ids}})

		r := s.Do(t, "POST", "/api/v1/messages/"+id+"/test", c.Token, nil)
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Raw, `"phone"`) {
			t.Fatalf("test without a phone: %d %s", r.Status, r.Raw)
		}
		if r := s.Do(t, "PATCH", "/api/v1/me", c.Token, map[string]any{"phone": "not a phone"}); r.Status != http.StatusBadRequest {
			t.Fatalf("bad phone: %d %s", r.Status, r.Raw)
		}
		r = s.Do(t, "PATCH", "/api/v1/me", c.Token, map[string]any{"phone": "(312) 555-0177"})
		if r.Status != http.StatusOK || !strings.Contains(r.Raw, `"phone":"+13125550177"`) {
			t.Fatalf("set phone: %d %s", r.Status, r.Raw)
		}
		if r := s.Do(t, "GET", "/api/v1/me", c.Token, nil); !strings.Contains(r.Raw, `"phone":"+13125550177"`) {
			t.Fatalf("me: %s", r.Raw)
		}
		before := len(s.Sim.Messages())
		r = s.Do(t, "POST", "/api/v1/messages/"+id+"/test", c.Token, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("test: %d %s", r.Status, r.Raw)
		}
		var res struct{ To, From, Text, Status string }
		testkit.DecodeJSON(t, r.Raw, &res)
		msgs := s.Sim.Messages()[before:]
		if res.Status != "sent" || res.To != "+13125550177" || len(msgs) != 1 || msgs[0].To != "+13125550177" ||
			msgs[0].From != c.Number || !strings.HasSuffix(msgs[0].Text, "picnic at Test Church") {
			t.Fatalf("test answer %+v; simulator got %+v", res, msgs)
		}
		// Another church's broadcast is not found, and tests go nowhere else.
		if r := s.Do(t, "PATCH", "/api/v1/me", o.Token, map[string]any{"phone": "+13125550178"}); r.Status != http.StatusOK {
			t.Fatalf("other phone: %d", r.Status)
		}
		if r := s.Do(t, "POST", "/api/v1/messages/"+id+"/test", o.Token, nil); r.Status != http.StatusNotFound {
			t.Fatalf("other church's test: %d %s", r.Status, r.Raw)
		}
		if n := len(s.Sim.Messages()); n != before+1 {
			t.Fatalf("%d texts after the test; want %d", n, before+1)
		}
		// Cleared, the phone is gone again.
		if r := s.Do(t, "PATCH", "/api/v1/me", c.Token, map[string]any{"phone": ""}); r.Status != http.StatusOK || !strings.Contains(r.Raw, `"phone":""`) {
			t.Fatalf("clear: %d %s", r.Status, r.Raw)
		}
	})
}
