package registration_test

import (
	"context"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/registration"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
)

// TestUnrecordedBrandIsNotCreatedTwice: a try died after the provider
// created the church's brand and before Steeple recorded it. The brand is
// found at the provider by the church's reference (list by display name,
// then read): an interrupted submission adopts it instead of failing, and
// a resubmission after a failure takes it over instead of creating (and
// billing) a second brand. Another church's brand of the same name is not
// taken.
func TestUnrecordedBrandIsNotCreatedTwice(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		client := telnyx.New(telnyx.Config{BaseURL: s.SimURL + "/v2", APIKey: "test"})
		// What the dead try got as far as: the registration written, the
		// brand created at the provider, nothing recorded of it.
		unrecorded := func(c *testkit.Church) {
			t.Helper()
			h, err := s.Tenancy.Manager.Acquire(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Release()
			if err := s.Store.SubmitRegistration(ctx, h, store.BrandProfile{LegalName: c.Name + " Inc", EIN: "274615093",
				EINLast4: "5093", Street: "2 Elm St", City: "Springfield", State: "IL", PostalCode: "62701",
				ContactEmail: "office@example.org", ContactPhone: "+13125550198"}, steeple.RegBrandPending); err != nil {
				t.Fatal(err)
			}
			if _, err := client.CreateBrand(ctx, telnyx.BrandRequest{DisplayName: c.Name, CompanyName: c.Name + " Inc",
				EIN: "274615093", Email: "office@example.org", ReferenceID: "steeple-" + c.ID, WebhookURL: s.URL + "/webhooks/telnyx"}); err != nil {
				t.Fatal(err)
			}
		}
		// A brand of the same name that is not the church's.
		if _, err := client.CreateBrand(ctx, telnyx.BrandRequest{DisplayName: "Grace Chapel", Email: "x@example.org",
			ReferenceID: "someone-else"}); err != nil {
			t.Fatal(err)
		}

		// Interrupted: after SubmitTimeout the poller adopts the brand.
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		unrecorded(c)
		s.Clock.Add(registration.DefaultConfig().SubmitTimeout + time.Minute)
		c.Relogin(t, s)
		h, err := s.Tenancy.Manager.Acquire(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Registration.Sync(ctx, h); err != nil {
			t.Fatal(err)
		}
		h.Release()
		if v := waitReg(t, s, c, "provisioned", nil); v.BrandID == "" {
			t.Fatalf("adopted: %s", v.raw)
		}
		if n := len(s.Sim.Brands()); n != 2 {
			t.Fatalf("the provider has %d brands; want the church's and the other one", n)
		}

		// Failed without a brand recorded (as before this lookup existed),
		// then resubmitted by the church: the provider's brand is taken over.
		d := s.Church(t, testkit.ChurchOptions{Name: "Hope Fellowship"})
		unrecorded(d)
		hd, err := s.Tenancy.Manager.Acquire(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Store.AdvanceRegistration(ctx, hd, store.RegistrationChange{Status: steeple.RegBrandFailed,
			Reasons: []string{"interrupted"}}, steeple.RegBrandPending); err != nil {
			t.Fatal(err)
		}
		hd.Release()
		submit(t, s, d, profile("legal_name", "Hope Fellowship Inc"))
		waitReg(t, s, d, "provisioned", nil)
		if n := len(s.Sim.Brands()); n != 3 {
			t.Fatalf("the provider has %d brands; want one per church and the other one", n)
		}
	})
}
