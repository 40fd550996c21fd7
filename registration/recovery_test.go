package registration_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/registration"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

// TestInterruptedStepsRecovered: a process that dies between a provider
// call and recording its result leaves the registration part-way. The next
// look (the poller, or a webhook) finishes it from what the registry or
// the provider holds — never creating a second brand or campaign — or, if
// nothing was recorded at all, fails it so the church can submit again.
func TestInterruptedStepsRecovered(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		n := c.API(s).BuyNumber(t, "312")
		submit(t, s, c, profile())
		done := waitReg(t, s, c, "provisioned", map[string]string{n: registration.NumberAssigned})
		h, err := s.Tenancy.Manager.Acquire(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Release()
		exec := func(query string, args ...any) {
			t.Helper()
			if _, err := h.ExecContext(ctx, query, args...); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
		}
		forget := func(kind string) {
			t.Helper()
			if _, err := s.Tenancy.Registry.DB().ExecContext(ctx, `DELETE FROM provider_objects WHERE tenant_id = $1 AND kind = $2`,
				c.ID, kind); err != nil {
				t.Fatal(err)
			}
		}
		sync := func(want string) *regView {
			t.Helper()
			if err := s.Registration.Sync(ctx, h); err != nil {
				t.Fatalf("Sync: %v", err)
			}
			v := getReg(t, s, c)
			if v.Status != want || v.BrandID != done.BrandID || (want == "provisioned" && v.CampID != done.CampID) {
				t.Fatalf("after Sync: %s; want %s with brand %s and campaign %s", v.raw, want, done.BrandID, done.CampID)
			}
			if len(s.Sim.Brands()) != 1 || len(s.Sim.Campaigns()) != 1 {
				t.Fatalf("the provider has %d brands and %d campaigns; want one each", len(s.Sim.Brands()), len(s.Sim.Campaigns()))
			}
			return v
		}

		// Died after creating the campaign, before recording it anywhere:
		// found at the provider by its referenceId.
		forget(registration.KindCampaign)
		exec(`UPDATE registration SET status = 'brand_pending', campaign_id = '' WHERE id = 1`)
		sync("provisioned")
		if s.RegistryCount(t, `SELECT count(*) FROM provider_objects WHERE tenant_id = $1 AND kind = 'campaign' AND provider_id = $2`, c.ID, done.CampID) != 1 {
			t.Fatal("the adopted campaign is not in the registry's index")
		}
		// Died after recording it in the registry only.
		exec(`UPDATE registration SET status = 'brand_pending', campaign_id = '' WHERE id = 1`)
		sync("provisioned")
		// Died after recording the brand in the registry only.
		exec(`UPDATE registration SET status = 'brand_pending', brand_id = '', campaign_id = '' WHERE id = 1`)
		sync("provisioned")

		// Died before anything of the brand was recorded: pending while a
		// submission could still be under way, then failed with a reason.
		d := s.Church(t, testkit.ChurchOptions{Name: "Hope Fellowship"})
		hd, err := s.Tenancy.Manager.Acquire(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer hd.Release()
		if err := s.Store.SubmitRegistration(ctx, hd, store.BrandProfile{LegalName: "Hope Fellowship Inc", EIN: "274615093",
			EINLast4: "5093", Street: "2 Elm St", City: "Springfield", State: "IL", PostalCode: "62701",
			Website: "https://hope.example.org", ContactEmail: "office@hope.example.org", ContactPhone: "+13125550198"},
			steeple.RegBrandPending); err != nil {
			t.Fatal(err)
		}
		syncD := func() *regView {
			t.Helper()
			if err := s.Registration.Sync(ctx, hd); err != nil {
				t.Fatalf("Sync: %v", err)
			}
			return getReg(t, s, d)
		}
		if v := syncD(); v.Status != "brand_pending" {
			t.Fatalf("a submission a moment old: %s; want still brand_pending", v.raw)
		}
		s.Clock.Add(registration.DefaultConfig().SubmitTimeout + time.Minute)
		d.Relogin(t, s)
		if v := syncD(); v.Status != "brand_failed" || len(v.Reasons) != 1 || !strings.Contains(v.Reasons[0], "submit again") {
			t.Fatalf("an interrupted submission: %s; want brand_failed, asking to submit again", v.raw)
		}
		submit(t, s, d, profile("legal_name", "Hope Fellowship Inc"))
		waitReg(t, s, d, "provisioned", nil)
		if len(s.Sim.Brands()) != 2 {
			t.Fatalf("the provider has %d brands; want one per church", len(s.Sim.Brands()))
		}
	})
}

// A number an operator attaches to a provisioned church (bought outside
// Steeple) is assigned to the church's campaign like one it bought.
func TestAttachedNumberJoinsTheCampaign(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		n := c.API(s).BuyNumber(t, "312")
		submit(t, s, c, profile())
		v := waitReg(t, s, c, "provisioned", map[string]string{n: registration.NumberAssigned})
		const attached = "+13125550166"
		s.Sim.AddNumber(attached)
		if err := s.Numbers.Attach(context.Background(), c.ID, attached); err != nil {
			t.Fatalf("attach: %v", err)
		}
		waitReg(t, s, c, "provisioned", map[string]string{n: registration.NumberAssigned, attached: registration.NumberAssigned})
		if a := simAssignment(s, attached); a == nil || a.CampaignID != v.CampID || a.AssignmentStatus != "ASSIGNED" {
			t.Fatalf("the provider's assignment of the attached number: %+v", a)
		}
	})
}

// A number bought by a provisioned church joins the campaign even if the
// process dies right after recording the purchase: completing the order
// schedules the church's registration poll in the same transaction.
func TestBoughtNumberJoinsTheCampaignAfterACrash(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		n := c.API(s).BuyNumber(t, "312")
		submit(t, s, c, profile())
		waitReg(t, s, c, "provisioned", map[string]string{n: registration.NumberAssigned})
		waitUnpolled(t, s, c, "a provisioned church with every number assigned")
		// The purchase of a second number, recorded — then the process dies
		// before asking for the campaign assignment.
		const second = "+13125550167"
		pid := s.Sim.AddNumber(second)
		o, err := s.Tenancy.Registry.CreateNumberOrder(ctx, c.ID, second)
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range [][2]string{{"placing", "ordered"}, {"ordered", "active"}} {
			if ok, err := s.Tenancy.Registry.AdvanceNumberOrder(ctx, o, step[0], step[1], ""); err != nil || !ok {
				t.Fatalf("advance %v: %v %v", step, ok, err)
			}
		}
		o.ProviderNumberID = pid
		if err := s.Tenancy.Registry.CompleteNumberOrder(ctx, o); err != nil {
			t.Fatal(err)
		}
		if !polled(t, s, c) {
			t.Fatal("completing the purchase did not schedule the church's registration poll")
		}
		if k, err := s.Registration.PollDue(ctx); err != nil || k != 1 {
			t.Fatalf("PollDue: %d %v; want the church", k, err)
		}
		waitReg(t, s, c, "provisioned", map[string]string{n: registration.NumberAssigned, second: registration.NumberAssigned})
	})
}

// A suspended church's registration still follows the provider (by the
// poller here, webhooks being off) rather than being dropped, but no
// campaign — billed — is created for it until it is resumed; then it goes
// on to provisioned.
func TestSuspendedChurchRegistrationFollowsTheProvider(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		s.Sim.SendRegistrationWebhooks(false)
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		n := c.API(s).BuyNumber(t, "312")
		// The brand is verified only after the church is suspended (by
		// default 50 ms after it is made: a slow submission could see it
		// verified and make the campaign before the suspension).
		testkit.ScriptRegistration(t, s.Sim, telnyxsim.RegistrationBrand, telnyxsim.RegistrationOutcome{Result: telnyxsim.Approve, Delay: 2 * time.Second})
		v := submit(t, s, c, profile())
		setStatus := func(to, from steeple.TenantStatus) {
			t.Helper()
			if _, err := s.Tenancy.Registry.SetStatus(ctx, c.ID, to, from); err != nil {
				t.Fatal(err)
			}
		}
		pollOnce := func() {
			t.Helper()
			s.Clock.Add(registration.DefaultConfig().PollEvery)
			if _, err := s.Registration.PollDue(ctx); err != nil {
				t.Fatal(err)
			}
		}
		setStatus(steeple.TenantSuspended, steeple.TenantActive)
		testkit.Eventually(t, 15*time.Second, func() string {
			if b := simBrand(s, v.BrandID); b == nil || b.Status != "OK" {
				return "the brand is not verified yet"
			}
			return ""
		})
		pollOnce()
		if !polled(t, s, c) {
			t.Fatal("a suspended church's registration is no longer polled")
		}
		if n := len(s.Sim.Campaigns()); n != 0 {
			t.Fatalf("%d campaigns created for a suspended church", n)
		}
		setStatus(steeple.TenantActive, steeple.TenantSuspended)
		testkit.Eventually(t, 15*time.Second, func() string {
			pollOnce()
			if polled(t, s, c) {
				return "still polled"
			}
			return ""
		})
		c.Relogin(t, s)
		if v := getReg(t, s, c); v.Status != "provisioned" || v.campaignState(n) != registration.NumberAssigned {
			t.Fatalf("after the suspension: %s; want provisioned with the number assigned", v.raw)
		}
	})
}

// A number the provider refuses to assign to the campaign is shown failed,
// with the provider's reasons, and keeps the conservative limits.
func TestFailedAssignmentShowsItsReasons(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		testkit.ScriptRegistration(t, s.Sim, telnyxsim.RegistrationAssignment, telnyxsim.RegistrationOutcome{Result: telnyxsim.Reject,
			Reasons: []string{"Number is ported out", "Carrier rejected the assignment"}})
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		n := c.API(s).BuyNumber(t, "312")
		submit(t, s, c, profile())
		v := waitReg(t, s, c, "provisioned", map[string]string{n: registration.NumberFailed})
		for _, x := range v.Numbers {
			if x.Number == n && (!strings.Contains(x.CampaignReasons, "ported out") || !strings.Contains(x.CampaignReasons, "Carrier rejected")) {
				t.Fatalf("the failed number's reasons: %q; want the provider's", x.CampaignReasons)
			}
		}
	})
}
