package registration_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

// TestDailyCapCountsChurchDay: an unregistered church's daily cap counts
// the church's own day (America/Chicago here), not UTC's. A text held at
// 23:30 in Chicago goes at 00:30 Chicago time, though UTC's day has not
// changed; a text held at 17:30 stays held at 18:30, though UTC's day has.
func TestDailyCapCountsChurchDay(t *testing.T) {
	t.Parallel()
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Messaging: func(c *messaging.Config) {
			c.UnregisteredDailyCap, c.CapRecheck = 2, 300*time.Millisecond
		}})
		s.Clock.Set(time.Date(2026, 1, 14, 23, 30, 0, 0, chicago)) // 05:30 UTC on the 15th
		c := s.Church(t, testkit.ChurchOptions{Name: "Midnight Chapel"})
		c.API(s).BuyNumber(t, "312")
		const members = 3
		for i := 0; i < members; i++ {
			r := s.Do(t, "POST", "/api/v1/members", c.Token, map[string]any{"first_name": fmt.Sprintf("M%d", i), "last_name": "Tester",
				"phone": memberPhone(i), "consent": map[string]any{"opted_in": true, "wording": "Yes, text me"}})
			if r.Status != http.StatusCreated {
				t.Fatalf("create member: %d %s", r.Status, r.Raw)
			}
		}
		held := func(id, prefix string, queued int) func() string {
			return func() string {
				if k := c.API(s).GetBroadcast(t, id).Message.Counts; k["queued"] != queued || k["sending"] != 0 || len(s.SentWhere(func(m telnyxsim.SentMessage) bool { return strings.HasPrefix(m.Text, prefix) })) != members-queued {
					return fmt.Sprintf("counts %v, %d texts sent; want %d queued", k, len(s.SentWhere(func(m telnyxsim.SentMessage) bool { return strings.HasPrefix(m.Text, prefix) })), queued)
				}
				return ""
			}
		}

		late := c.API(s).BroadcastAll(t, "Late evening")
		testkit.Eventually(t, 10*time.Second, held(late, "Late", 1))
		s.Clock.Add(time.Hour) // 00:30 in Chicago, still the 15th in UTC
		c.Relogin(t, s)
		testkit.Eventually(t, 10*time.Second, held(late, "Late", 0))

		s.Clock.Set(time.Date(2026, 1, 20, 17, 30, 0, 0, chicago)) // 23:30 UTC
		c.Relogin(t, s)
		evening := c.API(s).BroadcastAll(t, "Evening")
		testkit.Eventually(t, 10*time.Second, held(evening, "Evening", 1))
		s.Clock.Add(time.Hour) // 18:30 in Chicago, the 21st in UTC
		c.Relogin(t, s)
		time.Sleep(2 * time.Second) // several rechecks
		if msg := held(evening, "Evening", 1)(); msg != "" {
			t.Fatalf("UTC's midnight lifted the cap: %s", msg)
		}
		s.Clock.Set(time.Date(2026, 1, 21, 0, 30, 0, 0, chicago))
		c.Relogin(t, s)
		testkit.Eventually(t, 10*time.Second, held(evening, "Evening", 0))
	})
}
