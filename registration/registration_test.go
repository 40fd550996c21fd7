package registration_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/numbers"
	"github.com/steeple-sms/steeple/registration"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

// TestRegistrationApproved: the whole 10DLC path driven by the provider's
// webhooks: brand verified, campaign created and provisioned, the church's
// number assigned, and a number bought afterwards assigned too. Another
// church sees none of it.
func TestRegistrationApproved(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		c, other := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"}), s.Church(t, testkit.ChurchOptions{Name: "Other Church"})
		n1 := c.API(s).BuyNumber(t, "312")
		otherNum := other.API(s).BuyNumber(t, "415")
		if v := getReg(t, s, c); v.Status != "not_submitted" || v.BrandID != "" || len(v.Reasons) != 0 {
			t.Fatalf("before submitting: %s", v.raw)
		}

		v := submit(t, s, c, profile())
		if !strings.HasSuffix(v.Status, "_pending") || v.BrandID == "" || len(v.Reasons) != 0 {
			t.Fatalf("submitted: %s", v.raw)
		}
		if _, ok := v.Profile["ein"]; ok || v.Profile["ein_last4"] != "5093" || v.Profile["legal_name"] != "Grace Chapel of Springfield" {
			t.Errorf("profile as shown: %v", v.Profile)
		}
		for _, f := range einForms {
			if strings.Contains(v.raw, f) {
				t.Errorf("the answer shows the EIN: %s", v.raw)
			}
		}
		if r := s.Do(t, "POST", "/api/v1/registration", c.Token, profile()); r.Status != http.StatusConflict {
			t.Errorf("resubmitting while pending: %d %s; want 409", r.Status, r.Raw)
		}
		v = waitReg(t, s, c, "provisioned", map[string]string{n1: registration.NumberAssigned})
		if v.CampID == "" || len(v.Reasons) != 0 {
			t.Errorf("provisioned: %s", v.raw)
		}

		// What the provider got: the brand as the church described it, the
		// campaign under that brand, the number assigned to the campaign,
		// webhooks pointing at Steeple.
		hook := s.URL + "/webhooks/telnyx"
		sb := simBrand(s, v.BrandID)
		if sb == nil || sb.Status != "OK" || sb.DisplayName != c.Name || sb.EntityType != telnyx.EntityNonProfit ||
			sb.WebhookURL != hook || sb.Submissions != 1 {
			t.Errorf("the provider's brand: %+v", sb)
		}
		if pb, err := telnyx.New(telnyx.Config{BaseURL: s.SimURL + "/v2", APIKey: "test"}).GetBrand(ctx, v.BrandID); err != nil ||
			pb.EIN != einForms[0] || pb.CompanyName != "Grace Chapel of Springfield" || pb.State != "IL" {
			t.Errorf("the brand's data at the provider: %+v, %v", pb, err)
		}
		sc := simCampaign(s, v.CampID)
		if sc == nil || sc.BrandID != v.BrandID || sc.CampaignStatus != "MNO_PROVISIONED" || sc.WebhookURL != hook || sc.Submissions != 1 {
			t.Errorf("the provider's campaign: %+v", sc)
		}
		if len(s.Sim.Brands()) != 1 || len(s.Sim.Campaigns()) != 1 {
			t.Errorf("the provider has %d brands and %d campaigns; want one each", len(s.Sim.Brands()), len(s.Sim.Campaigns()))
		}
		if a := simAssignment(s, n1); a == nil || a.CampaignID != v.CampID || a.AssignmentStatus != "ASSIGNED" {
			t.Errorf("the provider's assignment of %s: %+v", n1, a)
		}
		for kind, id := range map[string]string{registration.KindBrand: v.BrandID, registration.KindCampaign: v.CampID} {
			if owner, err := s.Tenancy.Registry.ProviderObjectOwner(ctx, kind, id); err != nil || owner != c.ID {
				t.Errorf("registry %s %s owned by %q (%v)", kind, id, owner, err)
			}
		}
		// Nothing waits on the provider: the poller stops looking (at
		// most one more look, when an older webhook's sync finished last).
		if polled(t, s, c) {
			s.Clock.Add(registration.DefaultConfig().PollEvery)
			if _, err := s.Registration.PollDue(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if polled(t, s, c) {
			t.Error("the poller still looks at a registration with nothing pending")
		}
		if r := s.Do(t, "POST", "/api/v1/registration", c.Token, profile()); r.Status != http.StatusConflict {
			t.Errorf("resubmitting once provisioned: %d %s; want 409", r.Status, r.Raw)
		}

		// A number bought now is assigned as it becomes the church's.
		n2 := c.API(s).BuyNumber(t, "773")
		waitReg(t, s, c, "provisioned", map[string]string{n1: registration.NumberAssigned, n2: registration.NumberAssigned})
		if a := simAssignment(s, n2); a == nil || a.CampaignID != v.CampID {
			t.Errorf("the provider's assignment of %s: %+v", n2, a)
		}
		r := s.Do(t, "GET", "/api/v1/numbers", c.Token, nil)
		if !strings.Contains(r.Raw, `"campaign_state":"assigned"`) {
			t.Errorf("the numbers list does not show the assignment: %s", r.Raw)
		}

		// The other church: nothing submitted, its number untouched.
		ov := getReg(t, s, other)
		if ov.Status != "not_submitted" || ov.BrandID != "" || len(ov.Numbers) != 1 || ov.Numbers[0].Number != otherNum ||
			ov.Numbers[0].CampaignState != "" {
			t.Errorf("the other church's registration: %s", ov.raw)
		}
		if simAssignment(s, otherNum) != nil {
			t.Error("the other church's number was assigned to a campaign")
		}
	})
}

// TestBrandRejected: the brand fails vetting; the church sees the
// provider's reasons, corrects its profile and resubmits the same brand,
// which then goes all the way.
func TestBrandRejected(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		n := c.API(s).BuyNumber(t, "312")
		reasons := []string{"EIN does not match the IRS record for the legal company name.", "Website unreachable."}
		testkit.ScriptRegistration(t, s.Sim, telnyxsim.RegistrationBrand, telnyxsim.RegistrationOutcome{Result: telnyxsim.Reject, Reasons: reasons})
		first := submit(t, s, c, profile("legal_name", "Grace Chapel"))
		v := waitReg(t, s, c, "brand_failed", nil)
		// The provider gives its reasons as one string (see telnyx.FailureReasons).
		if strings.Join(v.Reasons, "; ") != strings.Join(reasons, "; ") || v.BrandID != first.BrandID || v.CampID != "" {
			t.Fatalf("failed brand: %s; want reasons %q", v.raw, reasons)
		}
		if len(s.Sim.Campaigns()) != 0 {
			t.Error("a campaign was created for a failed brand")
		}
		waitUnpolled(t, s, c, "a registration waiting on the church")
		// A correction with a mistake: refused, nothing changes.
		if r := s.Do(t, "POST", "/api/v1/registration", c.Token, profile("ein", "27-46150")); r.Status != http.StatusBadRequest {
			t.Errorf("invalid correction: %d %s; want 400", r.Status, r.Raw)
		}
		if v := getReg(t, s, c); v.Status != "brand_failed" || strings.Join(v.Reasons, "; ") != strings.Join(reasons, "; ") {
			t.Errorf("after an invalid correction: %s", v.raw)
		}

		testkit.ScriptRegistration(t, s.Sim, telnyxsim.RegistrationBrand, telnyxsim.RegistrationOutcome{Result: telnyxsim.Approve})
		v = submit(t, s, c, profile("legal_name", "Grace Chapel of Springfield Inc."))
		if !strings.HasSuffix(v.Status, "_pending") || len(v.Reasons) != 0 || v.BrandID != first.BrandID ||
			v.Profile["legal_name"] != "Grace Chapel of Springfield Inc." {
			t.Errorf("resubmitted: %s", v.raw)
		}
		v = waitReg(t, s, c, "provisioned", map[string]string{n: registration.NumberAssigned})
		sb := simBrand(s, first.BrandID)
		if len(s.Sim.Brands()) != 1 || sb == nil || sb.Submissions != 2 || sb.Status != "OK" {
			t.Errorf("the provider's brands: %+v; want the one brand resubmitted", s.Sim.Brands())
		}
		pb, err := telnyx.New(telnyx.Config{BaseURL: s.SimURL + "/v2", APIKey: "test"}).GetBrand(context.Background(), first.BrandID)
		if err != nil || pb.CompanyName != "Grace Chapel of Springfield Inc." {
			t.Errorf("the corrected brand at the provider: %+v, %v", pb, err)
		}
		if len(v.Reasons) != 0 {
			t.Errorf("reasons left after success: %q", v.Reasons)
		}
	})
}

// TestCampaignRejected: the brand passes, the campaign is rejected (at
// carrier review); the church sees why and resubmits; the same campaign is
// reviewed again and provisioned, and the numbers assigned.
func TestCampaignRejected(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		n := c.API(s).BuyNumber(t, "312")
		reasons := []string{"Message flow does not describe how members opt in."}
		testkit.ScriptRegistration(t, s.Sim, telnyxsim.RegistrationCampaign, telnyxsim.RegistrationOutcome{Result: telnyxsim.Reject, Reasons: reasons,
			RejectAt: "MNO_REJECTED"})
		submit(t, s, c, profile())
		v := waitReg(t, s, c, "campaign_rejected", map[string]string{n: ""})
		if !reflect.DeepEqual(v.Reasons, reasons) || v.CampID == "" {
			t.Fatalf("rejected campaign: %s; want reasons %q", v.raw, reasons)
		}
		if sc := simCampaign(s, v.CampID); sc == nil || sc.CampaignStatus != "MNO_REJECTED" {
			t.Fatalf("the provider's campaign: %+v", sc)
		}
		if len(s.Sim.Assignments()) != 0 {
			t.Error("a number was assigned to a rejected campaign")
		}
		campaign := v.CampID

		testkit.ScriptRegistration(t, s.Sim, telnyxsim.RegistrationCampaign, telnyxsim.RegistrationOutcome{Result: telnyxsim.Approve})
		v = submit(t, s, c, profile())
		if (v.Status != "campaign_pending" && v.Status != "provisioned") || len(v.Reasons) != 0 || v.CampID != campaign {
			t.Errorf("resubmitted: %s", v.raw)
		}
		v = waitReg(t, s, c, "provisioned", map[string]string{n: registration.NumberAssigned})
		if v.CampID != campaign {
			t.Errorf("campaign %s; want the resubmitted %s", v.CampID, campaign)
		}
		sc := simCampaign(s, campaign)
		if len(s.Sim.Campaigns()) != 1 || sc.Submissions != 2 || sc.CampaignStatus != "MNO_PROVISIONED" {
			t.Errorf("the provider's campaigns: %+v", s.Sim.Campaigns())
		}
		if bs := s.Sim.Brands(); len(bs) != 1 || bs[0].Submissions != 1 {
			t.Errorf("the brand was resubmitted for a campaign rejection: %+v", bs)
		}
	})
}

// TestRegistrationPolling: with every 10DLC webhook lost, the poller
// (registration_polls, moved on by the clock) follows the registration to
// the end, and stops looking once nothing waits on the provider. A stalled
// review is looked at again and again without changing.
func TestRegistrationPolling(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		every := registration.DefaultConfig().PollEvery
		poll := func() int {
			t.Helper()
			s.Clock.Add(every)
			k, err := s.Registration.PollDue(ctx)
			if err != nil {
				t.Fatalf("PollDue: %v", err)
			}
			return k
		}
		s.Sim.SendRegistrationWebhooks(false)

		// A stalled brand: polled, still pending, polled again.
		stalled := s.Church(t, testkit.ChurchOptions{Name: "Stalled Church"})
		testkit.ScriptRegistration(t, s.Sim, telnyxsim.RegistrationBrand, telnyxsim.RegistrationOutcome{Result: telnyxsim.Stall})
		submit(t, s, stalled, profile())
		if k, err := s.Registration.PollDue(ctx); err != nil || k != 0 {
			t.Fatalf("PollDue before anything is due: %d, %v", k, err)
		}
		for i := 0; i < 2; i++ {
			if k := poll(); k != 1 {
				t.Fatalf("poll %d looked at %d churches; want the stalled one", i, k)
			}
			if !polled(t, s, stalled) {
				t.Fatal("the stalled registration is no longer polled")
			}
			if k, _ := s.Registration.PollDue(ctx); k != 0 {
				t.Fatalf("a church just polled is due again at once (%d)", k)
			}
		}
		stalled.Relogin(t, s)
		if v := getReg(t, s, stalled); v.Status != "brand_pending" {
			t.Fatalf("stalled: %s", v.raw)
		}

		// An approved registration nobody hears about: the poller moves it.
		// (The vetting takes long enough that the submission's own first
		// look finds the brand still pending.)
		testkit.ScriptRegistration(t, s.Sim, telnyxsim.RegistrationBrand, telnyxsim.RegistrationOutcome{Result: telnyxsim.Approve,
			Delay: 500 * time.Millisecond})
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		n := c.API(s).BuyNumber(t, "312")
		started := time.Now()
		v := submit(t, s, c, profile())
		slow := time.Since(started) > 400*time.Millisecond
		testkit.Eventually(t, 10*time.Second, func() string {
			if sb := simBrand(s, v.BrandID); sb.Status != "OK" {
				return "brand not verified at the provider yet: " + sb.Status
			}
			return ""
		})
		switch v := getReg(t, s, c); {
		case v.Status == "campaign_pending" && slow:
			// Only the submission's own first look can have moved it,
			// when the submission took about as long as the vetting.
		case v.Status != "brand_pending":
			t.Fatalf("moved without a webhook or a poll: %s", v.raw)
		}
		poll()
		c.Relogin(t, s)
		v = getReg(t, s, c)
		if v.Status != "campaign_pending" || v.CampID == "" {
			t.Fatalf("after a poll: %s; want campaign_pending", v.raw)
		}
		testkit.Eventually(t, 10*time.Second, func() string {
			if sc := simCampaign(s, v.CampID); sc.CampaignStatus != "MNO_PROVISIONED" {
				return "campaign not provisioned at the provider yet: " + sc.CampaignStatus
			}
			return ""
		})
		if v := getReg(t, s, c); v.Status != "campaign_pending" {
			t.Fatalf("moved without a webhook or a poll: %s", v.raw)
		}
		poll()
		if v := getReg(t, s, c); v.Status != "provisioned" || v.campaignState(n) != registration.NumberPending {
			t.Fatalf("after a poll: %s; want provisioned, number pending", v.raw)
		}
		if !polled(t, s, c) {
			t.Fatal("a pending number assignment is not polled")
		}
		testkit.Eventually(t, 10*time.Second, func() string {
			if a := simAssignment(s, n); a == nil || a.AssignmentStatus != "ASSIGNED" {
				return fmt.Sprintf("number not assigned at the provider yet: %+v", a)
			}
			return ""
		})
		poll()
		c.Relogin(t, s)
		if v := getReg(t, s, c); v.Status != "provisioned" || v.campaignState(n) != registration.NumberAssigned {
			t.Fatalf("after a poll: %s; want the number assigned", v.raw)
		}
		if polled(t, s, c) {
			t.Error("the poller still looks at a finished registration")
		}
		if k := poll(); k != 1 { // the stalled church only
			t.Errorf("a poll looked at %d churches; want only the stalled one", k)
		}
	})
}

// TestRegistrationValidation: each invalid field is named, and nothing is
// stored or sent to the provider. A valid registration keeps the EIN only
// sealed: it appears nowhere in the church's database or the registry.
func TestRegistrationValidation(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		bad := profile("ein", "2746150", "state", "Illinois", "postal_code", "6270", "contact_email", "office-at-grace",
			"contact_phone", "12", "website", "ftp://grace.example.org", "legal_name", " ")
		r := s.Do(t, "POST", "/api/v1/registration", c.Token, bad)
		if r.Status != http.StatusBadRequest {
			t.Fatalf("invalid registration: %d %s", r.Status, r.Raw)
		}
		var body struct {
			Error struct {
				Code   string
				Fields map[string]string
			}
		}
		testkit.DecodeJSON(t, r.Raw, &body)
		for _, f := range []string{"ein", "state", "postal_code", "contact_email", "contact_phone", "website", "legal_name"} {
			if body.Error.Fields[f] == "" {
				t.Errorf("field %s not named: %s", f, r.Raw)
			}
		}
		for _, f := range []string{"city", "street"} {
			if body.Error.Fields[f] != "" {
				t.Errorf("valid field %s named: %s", f, r.Raw)
			}
		}
		for _, one := range [][]string{{"ein", "12-34567890"}, {"ein", "AB-CDEFGHI"}, {"state", "I1"}, {"postal_code", "62701-12"},
			{"contact_email", ""}, {"contact_phone", "555-01"}, {"city", ""}} {
			r := s.Do(t, "POST", "/api/v1/registration", c.Token, profile(one...))
			var body struct {
				Error struct{ Fields map[string]string }
			}
			testkit.DecodeJSON(t, r.Raw, &body)
			if r.Status != http.StatusBadRequest || body.Error.Fields[one[0]] == "" || len(body.Error.Fields) != 1 {
				t.Errorf("%s=%q: %d %s; want 400 naming only %s", one[0], one[1], r.Status, r.Raw, one[0])
			}
		}
		if v := getReg(t, s, c); v.Status != "not_submitted" {
			t.Errorf("after invalid submissions: %s", v.raw)
		}
		if len(s.Sim.Brands()) != 0 || s.RegistryCount(t, `SELECT COUNT(*) FROM provider_objects`) != 0 || polled(t, s, c) {
			t.Error("an invalid registration reached the provider or the registry")
		}
		h, err := s.Tenancy.Manager.Acquire(context.Background(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		var rows int
		err = h.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM registration`).Scan(&rows)
		h.Release()
		if err != nil || rows != 0 {
			t.Errorf("invalid registrations stored %d rows (%v)", rows, err)
		}

		// A valid one (the EIN without its dash, state in lower case).
		v := submit(t, s, c, profile("ein", "274615093", "state", "il"))
		if v.Profile["state"] != "IL" || v.Profile["ein_last4"] != "5093" {
			t.Errorf("normalised profile: %v", v.Profile)
		}
		waitReg(t, s, c, "provisioned", nil)
		wantNoEIN(t, s, b, c)
	})
}

// TestConcurrentSubmissions: submissions at once make one brand.
func TestConcurrentSubmissions(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		const tries = 4
		codes := make(chan int, tries)
		start := make(chan struct{})
		for i := 0; i < tries; i++ {
			go func() {
				<-start
				r := s.Do(t, "POST", "/api/v1/registration", c.Token, profile())
				codes <- r.Status
			}()
		}
		close(start)
		got := map[int]int{}
		for i := 0; i < tries; i++ {
			got[<-codes]++
		}
		if got[http.StatusAccepted] != 1 || got[http.StatusConflict] != tries-1 {
			t.Errorf("%d submissions at once answered %v; want one 202, the others 409", tries, got)
		}
		waitReg(t, s, c, "provisioned", nil)
		if bs := s.Sim.Brands(); len(bs) != 1 {
			t.Errorf("the provider has %d brands for one church", len(bs))
		}
	})
}

// wantNoEIN searches the church's database (every table; on SQLite also the
// raw files) and the registry for the EIN in any form.
func wantNoEIN(t *testing.T, s *testkit.Server, b *testkit.Backend, c *testkit.Church) {
	t.Helper()
	ctx := context.Background()
	h, err := s.Tenancy.Manager.Acquire(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var sealed []byte
	if err := h.QueryRowContext(ctx, `SELECT ein_cipher FROM registration WHERE id = 1`).Scan(&sealed); err != nil || len(sealed) < 9 {
		t.Fatalf("sealed EIN: %d bytes, %v", len(sealed), err)
	}
	haystacks := map[string][]byte{"church tables": testkit.DumpTables(t, h, b.Postgres())}
	h.Release()
	haystacks["registry tables"] = testkit.DumpTables(t, s.Tenancy.Registry.DB(), b.Postgres())
	if !b.Postgres() {
		for _, f := range []string{filepath.Join(b.TenantsDir(), c.ID+".db"), filepath.Join(b.TenantsDir(), c.ID+".db-wal"),
			filepath.Join(b.DataDir(), "registry.db"), filepath.Join(b.DataDir(), "registry.db-wal")} {
			raw, err := os.ReadFile(f)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			haystacks[filepath.Base(f)] = raw
		}
	}
	if !bytes.Contains(haystacks["church tables"], []byte("Grace Chapel of Springfield")) {
		t.Fatal("the church's tables do not hold the registration: wrong database?")
	}
	for where, hay := range haystacks {
		for _, f := range einForms {
			if bytes.Contains(hay, []byte(f)) {
				t.Errorf("%s contain the EIN %q in plaintext", where, f)
			}
		}
	}
}

// TestNumberMovesBetweenChurches: a number released by a registered church
// and bought by another registered church afterwards; the provider refuses
// to assign it to the new church's campaign while it still holds the old
// assignment. That refusal does not hold up the new church's other numbers.
func TestNumberMovesBetweenChurches(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		a, bb := s.Church(t, testkit.ChurchOptions{Name: "Alpha Church"}), s.Church(t, testkit.ChurchOptions{Name: "Beta Church"})
		moved := a.API(s).BuyNumber(t, "312")
		submit(t, s, a, profile())
		submit(t, s, bb, profile())
		waitReg(t, s, a, "provisioned", map[string]string{moved: registration.NumberAssigned})
		waitReg(t, s, bb, "provisioned", nil)
		if r := s.Do(t, "DELETE", "/api/v1/numbers/"+moved, a.Token, nil); r.Status != http.StatusOK {
			t.Fatalf("release: %d %s", r.Status, r.Raw)
		}
		s.Clock.Add(numbers.DefaultConfig().ReleaseGrace + time.Second)
		if k, err := s.Numbers.ReleaseDue(ctx); k != 1 || err != nil {
			t.Fatalf("ReleaseDue: %d, %v", k, err)
		}
		a.Relogin(t, s)
		bb.Relogin(t, s)
		if r := s.Do(t, "POST", "/api/v1/numbers", bb.Token, map[string]any{"number": moved}); r.Status != http.StatusAccepted {
			t.Fatalf("B orders the released number: %d %s", r.Status, r.Raw)
		}
		testkit.Eventually(t, 10*time.Second, func() string {
			if id, _ := s.Tenancy.Registry.NumberOwner(ctx, moved); id != bb.ID {
				return "not B's yet"
			}
			return ""
		})
		other := bb.API(s).BuyNumber(t, "773") // listed after the moved number
		v := waitReg(t, s, bb, "provisioned", map[string]string{other: registration.NumberAssigned})
		t.Logf("the moved number at the provider: %+v; in B's registration: %q", simAssignment(s, moved), v.campaignState(moved))
		if av := getReg(t, s, a); len(av.Numbers) != 0 {
			t.Errorf("A still lists numbers: %s", av.raw)
		}
	})
}
