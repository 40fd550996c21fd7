package registration_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/registration"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

// memberPhone is the i-th member's phone.
func memberPhone(i int) string { return fmt.Sprintf("+1312300%04d", i) }

// minGap is the shortest time between two texts, by the provider's clock.
func minGap(ms []telnyxsim.SentMessage) time.Duration {
	return slices.Min(gaps(ms))
}

// gaps are the times between consecutive texts.
func gaps(ms []telnyxsim.SentMessage) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(ms); i++ {
		out = append(out, ms[i].ReceivedAt.Sub(ms[i-1].ReceivedAt).Round(time.Millisecond))
	}
	return out
}

// TestLimitsFollowRegistration: before its campaign is provisioned a
// church sends at the conservative rate and at most the daily cap (the
// rest waits, queued; an answer to HELP is not held); once provisioned, a
// broadcast goes out whole at the registered rate, and the one held by the
// cap finishes the next time it looks (CapRecheck), not the next day. A
// number not assigned to the campaign stays on the conservative limits.
func TestLimitsFollowRegistration(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Messaging: func(c *messaging.Config) {
			c.PerNumberRate, c.RegisteredRate, c.UnregisteredDailyCap = 2, 100, 3
			c.CapRecheck = 2 * time.Second
		}})
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		n := c.API(s).BuyNumber(t, "312")
		const members = 5
		for i := 0; i < members; i++ {
			r := s.Do(t, "POST", "/api/v1/members", c.Token, map[string]any{"first_name": fmt.Sprintf("M%d", i), "last_name": "Tester",
				"phone": memberPhone(i), "consent": map[string]any{"opted_in": true, "wording": "Yes, text me"}})
			if r.Status != http.StatusCreated {
				t.Fatalf("create member: %d %s", r.Status, r.Raw)
			}
		}

		// Unregistered: three texts, two a second; two left queued.
		held := c.API(s).BroadcastAll(t, "Before registration")
		testkit.Eventually(t, 10*time.Second, func() string {
			if k := c.API(s).GetBroadcast(t, held).Message.Counts; k["queued"] != members-3 || k["sending"] != 0 || len(s.SentWhere(func(m telnyxsim.SentMessage) bool { return strings.HasPrefix(m.Text, "Before") })) != 3 {
				return fmt.Sprintf("counts %v, %d texts sent", k, len(s.SentWhere(func(m telnyxsim.SentMessage) bool { return strings.HasPrefix(m.Text, "Before") })))
			}
			return ""
		})
		// At 2 a second no two texts are less than ~490 ms apart.
		if g := minGap(s.SentWhere(func(m telnyxsim.SentMessage) bool { return strings.HasPrefix(m.Text, "Before") })); g < 450*time.Millisecond {
			t.Errorf("texts %v apart before registration (%v); want 2 a second", g, gaps(s.SentWhere(func(m telnyxsim.SentMessage) bool { return strings.HasPrefix(m.Text, "Before") })))
		}
		// A HELP is answered although the cap is reached.
		if err := s.Sim.Inbound(context.Background(), telnyxsim.InboundMessage{From: memberPhone(0), To: n, Text: "HELP"}); err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, 10*time.Second, func() string {
			for _, m := range s.Sim.Messages() {
				if m.To == memberPhone(0) && m.From == n && strings.Contains(m.Text, c.Name) && !strings.HasPrefix(m.Text, "Before") {
					return ""
				}
			}
			return "no answer to HELP"
		})
		// Looking again (every CapRecheck) does not let more through.
		time.Sleep(5 * time.Second)
		if k := c.API(s).GetBroadcast(t, held).Message.Counts; k["queued"] != members-3 || len(s.SentWhere(func(m telnyxsim.SentMessage) bool { return strings.HasPrefix(m.Text, "Before") })) != 3 {
			t.Fatalf("the cap let more through: %v", k)
		}

		// Registered: raised.
		submit(t, s, c, profile())
		waitReg(t, s, c, "provisioned", map[string]string{n: registration.NumberAssigned})
		after := c.API(s).BroadcastAll(t, "After registration")
		testkit.Eventually(t, 10*time.Second, func() string {
			if k := c.API(s).GetBroadcast(t, after).Message.Counts; k["queued"]+k["sending"] != 0 || len(s.SentWhere(func(m telnyxsim.SentMessage) bool { return strings.HasPrefix(m.Text, "After") })) != members {
				return fmt.Sprintf("counts %v, %d texts sent", k, len(s.SentWhere(func(m telnyxsim.SentMessage) bool { return strings.HasPrefix(m.Text, "After") })))
			}
			return ""
		})
		// At 2 a second no gap would be under ~490 ms; at 100 they are a
		// few ms (however slow the machine, not every one is long).
		if g := minGap(s.SentWhere(func(m telnyxsim.SentMessage) bool { return strings.HasPrefix(m.Text, "After") })); g > 300*time.Millisecond && !raceDetector {
			t.Errorf("texts at least %v apart once registered (%v): the rate was not raised", g, gaps(s.SentWhere(func(m telnyxsim.SentMessage) bool { return strings.HasPrefix(m.Text, "After") })))
		}
		testkit.Eventually(t, 10*time.Second, func() string {
			if k := c.API(s).GetBroadcast(t, held).Message.Counts; k["queued"]+k["sending"] != 0 || len(s.SentWhere(func(m telnyxsim.SentMessage) bool { return strings.HasPrefix(m.Text, "Before") })) != members {
				return fmt.Sprintf("the held broadcast: counts %v, %d texts sent", k, len(s.SentWhere(func(m telnyxsim.SentMessage) bool { return strings.HasPrefix(m.Text, "Before") })))
			}
			return ""
		})

		// A number not assigned to the campaign (its assignment failed)
		// keeps the conservative limits: today's cap is used up, so its
		// broadcast waits; once assigned, it goes.
		ctx := context.Background()
		if err := s.Tenancy.Registry.SetCampaignState(ctx, c.ID, n, registration.NumberFailed); err != nil {
			t.Fatal(err)
		}
		unassigned := c.API(s).BroadcastAll(t, "From an unassigned number")
		time.Sleep(3 * time.Second) // longer than CapRecheck
		if k := c.API(s).GetBroadcast(t, unassigned).Message.Counts; k["queued"] != members || len(s.SentWhere(func(m telnyxsim.SentMessage) bool { return strings.HasPrefix(m.Text, "From an unassigned") })) != 0 {
			t.Fatalf("a provisioned church's unassigned number sent uncapped: %v", k)
		}
		if err := s.Tenancy.Registry.SetCampaignState(ctx, c.ID, n, registration.NumberAssigned); err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, 10*time.Second, func() string {
			if k := c.API(s).GetBroadcast(t, unassigned).Message.Counts; k["queued"]+k["sending"] != 0 {
				return fmt.Sprintf("after the number was assigned: %v", k)
			}
			return ""
		})
	})
}
