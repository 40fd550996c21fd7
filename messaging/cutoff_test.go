package messaging_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
)

// TestProviderAnswerOutlivesTheJob: a send job cut off by its timeout while
// the provider is answering still acts on the answer and records it.
// Left 'sending', the text would be sent again by the job's retry; and a
// block the provider reported would not be recorded as the member's
// opt-out.
func TestProviderAnswerOutlivesTheJob(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Tenancy: wallClock,
			Messaging: func(c *messaging.Config) {
				// A pace that never keeps a job waiting for its slot: the
				// job's timeout must fall during the provider call.
				c.JobTimeout, c.PerNumberRate = time.Second, 50
			}})
		c := s.Church(t, testkit.ChurchOptions{Name: "Slow Creek Chapel", Email: "owner@slowcreek.example.org", Number: "+13125550830"})
		ann := c.API(s).CreateMember(t, "Ann", testkit.Phone(31))
		ben := c.API(s).CreateMember(t, "Ben", testkit.Phone(32))
		s.Sim.OptOut(testkit.Phone(32))
		// Each answer comes after the job's timeout has cut it off.
		s.Sim.SetSendDelay(2500 * time.Millisecond)

		for _, who := range []struct{ name, member, status, code string }{
			{"Ann", ann, "sent", ""},
			{"Ben (blocked at the provider)", ben, "skipped", "40300"},
		} {
			id := c.API(s).Broadcast(t, map[string]any{"text": "Vespers at six", "audience": map[string]any{"member_ids": []string{who.member}}})
			var got recipientOutcome
			look := func() bool {
				got = recipientsByMember(c.API(s).GetBroadcast(t, id))[who.member]
				return (got.Status == "delivered" || string(got.Status) == who.status) && got.Code == who.code
			}
			testkit.WaitUntil(t, 20*time.Second, look, func() string {
				return fmt.Sprintf("%s: recipient %s %s %q; want %s %s recorded by the job the provider answered",
					who.name, got.Status, got.Code, got.Detail, who.status, who.code)
			})
		}
		// Ann's retried job, had there been one (1 s after the cut, then
		// the provider's 2.5 s), would have texted her again.
		time.Sleep(4 * time.Second)
		if n := s.Sim.CountTo(testkit.Phone(31)); n != 1 {
			t.Errorf("Ann got %d texts; want 1", n)
		}
		if m := c.API(s).GetMember(t, ben); m.Consent.Status != "opted_out" || m.Consent.Source != "provider" {
			t.Errorf("Ben, blocked at the provider: consent %+v; want opted_out from provider", m.Consent)
		}
	})
}
