package registration_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/registration"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

// TestFailedAssignmentRetried: a number the provider refused to assign to
// the campaign is tried again after a backoff (not before), its reasons
// shown meanwhile, and is assigned once the provider accepts; a number
// refused every time stops being tried after AssignAttempts, saying so.
func TestFailedAssignmentRetried(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Registration: func(c *registration.Config) {
			c.PollEvery, c.AssignBackoff, c.AssignAttempts = time.Minute, 5*time.Minute, 2
		}})
		ctx := context.Background()
		refuse := func() {
			testkit.ScriptRegistration(t, s.Sim, telnyxsim.RegistrationAssignment, telnyxsim.RegistrationOutcome{Result: telnyxsim.Reject,
				Reasons: []string{"Carrier rejected the assignment"}})
		}
		reasonsOf := func(v *regView, n string) string {
			for _, x := range v.Numbers {
				if x.Number == n {
					return x.CampaignReasons
				}
			}
			return ""
		}
		poll := func(c *testkit.Church) {
			t.Helper()
			if _, err := s.Registration.PollDue(ctx); err != nil {
				t.Fatal(err)
			}
			c.Relogin(t, s)
		}

		refuse()
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		n := c.API(s).BuyNumber(t, "312")
		submit(t, s, c, profile())
		v := waitReg(t, s, c, "provisioned", map[string]string{n: registration.NumberFailed})
		if r := reasonsOf(v, n); !strings.Contains(r, "Carrier rejected") || !strings.Contains(r, "try 1 of 2") {
			t.Fatalf("after the first refusal: %q", r)
		}
		testkit.ScriptRegistration(t, s.Sim, telnyxsim.RegistrationAssignment, telnyxsim.RegistrationOutcome{})
		// Before the backoff: not tried again.
		s.Clock.Add(2 * time.Minute)
		poll(c)
		if v := getReg(t, s, c); v.campaignState(n) != registration.NumberFailed {
			t.Fatalf("tried again before the backoff: %s", v.raw)
		}
		// After it: tried again, and assigned.
		s.Clock.Add(4 * time.Minute)
		poll(c)
		waitReg(t, s, c, "provisioned", map[string]string{n: registration.NumberAssigned})

		// Refused every time: two tries, then no more.
		refuse()
		m := c.API(s).BuyNumber(t, "773")
		waitReg(t, s, c, "provisioned", map[string]string{n: registration.NumberAssigned, m: registration.NumberFailed})
		s.Clock.Add(6 * time.Minute)
		poll(c)
		testkit.Eventually(t, 15*time.Second, func() string {
			if r := reasonsOf(getReg(t, s, c), m); !strings.Contains(r, "try 2 of 2; no more automatic tries") {
				return "after the second refusal: " + r
			}
			return ""
		})
		s.Clock.Add(24 * time.Hour)
		poll(c)
		if v := getReg(t, s, c); v.campaignState(m) != registration.NumberFailed || !strings.Contains(reasonsOf(v, m), "Carrier rejected") {
			t.Fatalf("after the last try: %s; want failed with the reasons", v.raw)
		}
	})
}

// Two syncs of a church that met the same refusal at once (a webhook's and
// the poller's) record one failed try, not two: counted twice, the number
// lost an automatic retry (seen as a flaky TestFailedAssignmentRetried).
func TestOneRefusalCountedOnce(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c := s.Church(t, testkit.ChurchOptions{Name: "Twice Told Chapel", Number: "+13125550860"})
		ctx := context.Background()
		retry := s.Clock.Now().Add(5 * time.Minute)
		for range 2 { // both read 0 tries before trying
			if err := s.Tenancy.Registry.FailCampaignAssignment(ctx, c.ID, c.Number, "Carrier rejected the assignment", &retry, 0); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.Tenancy.Registry.ChurchNumber(ctx, c.ID, c.Number)
		if err != nil {
			t.Fatal(err)
		}
		if n.CampaignState != registration.NumberFailed || n.CampaignAttempts != 1 {
			t.Fatalf("after one refusal recorded by two syncs: state %q, %d tries; want failed, 1", n.CampaignState, n.CampaignAttempts)
		}
	})
}
