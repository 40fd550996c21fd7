package telnyx_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

// step is the registration delay the tests run with: fast, but long enough
// that every pending state is observable.
const step = 5 * time.Millisecond

// hookSink is a webhook endpoint that verifies every signature with the sim's
// key and keeps the accepted events by request path.
type hookSink struct {
	t   *testing.T
	sim *telnyxsim.Sim
	srv *httptest.Server
	mu  sync.Mutex
	got map[string][]telnyx.Event
}

func newHookSink(t *testing.T, sim *telnyxsim.Sim) *hookSink {
	h := &hookSink{t: t, sim: sim, got: map[string][]telnyx.Event{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := telnyx.VerifySignature(sim.PublicKey(), r.Header.Get(telnyx.HeaderSignature),
			r.Header.Get(telnyx.HeaderTimestamp), body, time.Now()); err != nil {
			t.Errorf("webhook signature: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		hook, err := telnyx.ParseWebhook(body)
		if err != nil {
			t.Errorf("webhook body: %v", err)
			return
		}
		h.mu.Lock()
		h.got[r.URL.Path] = append(h.got[r.URL.Path], hook.Data)
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookSink) url(path string) string { return h.srv.URL + path }

func (h *hookSink) events(path string) []telnyx.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]telnyx.Event(nil), h.got[path]...)
}

func (h *hookSink) total() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, evs := range h.got {
		n += len(evs)
	}
	return n
}

type regEnv struct {
	sim    *telnyxsim.Sim
	client *telnyx.Client
	hooks  *hookSink
}

func newRegEnv(t *testing.T) *regEnv {
	t.Helper()
	sim := telnyxsim.New(telnyxsim.Options{WebhookBackoff: time.Millisecond})
	base, stop, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	for _, kind := range []string{telnyxsim.RegistrationBrand, telnyxsim.RegistrationCampaign, telnyxsim.RegistrationAssignment} {
		setOutcome(t, sim, kind, telnyxsim.RegistrationOutcome{Result: telnyxsim.Approve})
	}
	return &regEnv{sim: sim, hooks: newHookSink(t, sim),
		client: telnyx.New(telnyx.Config{BaseURL: base + "/v2", APIKey: "KEY_TEST"})}
}

func setOutcome(t *testing.T, sim *telnyxsim.Sim, kind string, o telnyxsim.RegistrationOutcome) {
	t.Helper()
	if o.Delay == 0 {
		o.Delay = step
	}
	if err := sim.ScriptRegistration(kind, o); err != nil {
		t.Fatal(err)
	}
}

func (e *regEnv) waitIdle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := e.sim.WaitIdle(ctx); err != nil {
		t.Fatalf("registrations still running: %v", err)
	}
}

func churchBrand(webhook string) telnyx.BrandRequest {
	return telnyx.BrandRequest{DisplayName: "Grace Chapel", CompanyName: "Grace Chapel of Springfield",
		EIN: "12-3456789", Street: "1 Church St", City: "Springfield", State: "IL", PostalCode: "62701",
		Email: "office@grace.example", Phone: "+12175550100", Website: "https://grace.example", WebhookURL: webhook}
}

func churchCampaign(brandID, webhook string) telnyx.CampaignRequest {
	return telnyx.CampaignRequest{
		BrandID: brandID, Usecase: telnyx.UsecaseMixed,
		SubUsecases: []string{telnyx.UsecaseAccountNotification, telnyx.UsecaseCustomerCare},
		Description: "Grace Chapel texts its members service reminders, event news and pastoral care replies.",
		SampleMessages: []string{"Grace Chapel: Sunday service is at 10am. Reply STOP to opt out.",
			"Grace Chapel: Youth group meets Wednesday at 7pm. Reply HELP for help, STOP to opt out."},
		MessageFlow:     "Members opt in on the membership form or by texting JOIN to the church number.",
		HelpMessage:     "Grace Chapel: call (217) 555-0100 for help. Reply STOP to opt out.",
		OptinMessage:    "Grace Chapel: you are subscribed to church updates. Reply STOP to opt out.",
		OptoutMessage:   "Grace Chapel: you are unsubscribed and will receive no more texts.",
		HelpKeywords:    []string{"HELP", "INFO"},
		OptinKeywords:   []string{"START", "JOIN"},
		OptoutKeywords:  []string{"STOP", "QUIT"},
		SubscriberOptin: true, SubscriberOptout: true, SubscriberHelp: true, TermsAndConditions: true,
		WebhookURL: webhook,
	}
}

// registeredBrand creates a brand and waits for it to be OK.
func (e *regEnv) registeredBrand(t *testing.T) *telnyx.Brand {
	t.Helper()
	ctx := context.Background()
	b, err := e.client.CreateBrand(ctx, churchBrand(e.hooks.url("/brand")))
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 3*time.Second, func() string {
		b, err = e.client.GetBrand(ctx, b.BrandID)
		if err != nil {
			t.Fatalf("brand OK: %v", err)
		}
		if !(err == nil && b.Status == telnyx.BrandStatusOK) {
			return "waiting for brand OK"
		}
		return ""
	})
	return b
}

// provisionedCampaign creates a campaign for a registered brand and waits for
// MNO_PROVISIONED.
func (e *regEnv) provisionedCampaign(t *testing.T) *telnyx.Campaign {
	t.Helper()
	ctx := context.Background()
	b := e.registeredBrand(t)
	c, err := e.client.CreateCampaign(ctx, churchCampaign(b.BrandID, e.hooks.url("/campaign")))
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 3*time.Second, func() string {
		c, err = e.client.GetCampaign(ctx, c.CampaignID)
		if err != nil {
			t.Fatalf("campaign provisioned: %v", err)
		}
		if !(err == nil && c.Ready()) {
			return "waiting for campaign provisioned"
		}
		return ""
	})
	return c
}

// ownNumber orders phone for the sim account.
func (e *regEnv) ownNumber(t *testing.T, phone string) {
	t.Helper()
	if _, err := e.client.OrderNumbers(context.Background(), telnyx.NumberOrderRequest{PhoneNumbers: []string{phone}}); err != nil {
		t.Fatal(err)
	}
}

func TestTenDLCApprovePath(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	const phone = "+12175550142"
	e.ownNumber(t, phone)

	b, err := e.client.CreateBrand(ctx, churchBrand(e.hooks.url("/brand")))
	if err != nil {
		t.Fatal(err)
	}
	if b.BrandID == "" || b.Status != telnyx.BrandStatusPending || b.Ready() || b.TCRBrandID != "" ||
		b.EntityType != telnyx.EntityNonProfit || b.Country != "US" || b.Vertical != telnyx.VerticalNGO ||
		b.EIN != "12-3456789" || b.WebhookURL != e.hooks.url("/brand") {
		t.Fatalf("created brand %+v", b)
	}
	e.waitIdle(t)
	if b, err = e.client.GetBrand(ctx, b.BrandID); err != nil {
		t.Fatal(err)
	}
	if !b.Ready() || b.IdentityStatus != telnyx.IdentityVerified || !strings.HasPrefix(b.TCRBrandID, "B") ||
		len(b.FailureReasons) != 0 {
		t.Fatalf("vetted brand %+v", b)
	}
	hooks := e.hooks.events("/brand")
	if len(hooks) != 1 || hooks[0].EventType != telnyx.Event10DLCBrandUpdate || hooks[0].RecordType != "event" {
		t.Fatalf("brand webhooks %+v", hooks)
	}
	bp, err := hooks[0].BrandUpdatePayload()
	if err != nil {
		t.Fatal(err)
	}
	if bp.BrandID != b.BrandID || bp.TCRBrandID != b.TCRBrandID || bp.Type != telnyx.BrandEventTCRUpdate ||
		bp.EventType != "BRAND_ADD" || bp.Status != "success" || bp.Failed() || bp.BrandName != "Grace Chapel" ||
		bp.IdentityStatus != telnyx.IdentityVerified {
		t.Fatalf("brand payload %+v", bp)
	}

	c, err := e.client.CreateCampaign(ctx, churchCampaign(b.BrandID, e.hooks.url("/campaign")))
	if err != nil {
		t.Fatal(err)
	}
	if c.CampaignID == "" || c.BrandID != b.BrandID || c.CampaignStatus != telnyx.CampaignTCRPending || c.Ready() ||
		c.Usecase != telnyx.UsecaseMixed || c.OptoutKeywords != "STOP,QUIT" || c.TCRBrandID != b.TCRBrandID ||
		!reflect.DeepEqual(c.SampleMessages(), churchCampaign("", "").SampleMessages) || !c.SubscriberOptout {
		t.Fatalf("created campaign %+v", c)
	}
	testkit.Eventually(t, 3*time.Second, func() string {
		c, err = e.client.GetCampaign(ctx, c.CampaignID)
		if err != nil {
			t.Fatalf("campaign provisioned: %v", err)
		}
		if !(err == nil && c.Ready()) {
			return "waiting for campaign provisioned"
		}
		return ""
	})
	e.waitIdle(t)
	if !strings.HasPrefix(c.TCRCampaignID, "C") || c.Failed() {
		t.Fatalf("provisioned campaign %+v", c)
	}
	var types []string
	for _, ev := range e.hooks.events("/campaign") {
		p, err := ev.CampaignUpdatePayload()
		if err != nil || ev.EventType != telnyx.Event10DLCCampaignUpdate || p.CampaignID != c.CampaignID || p.Rejected() {
			t.Fatalf("campaign event %+v payload %+v err %v", ev, p, err)
		}
		types = append(types, p.Type+"/"+p.EventType+p.Status)
		if p.Type == telnyx.CampaignEventVerified && (!p.Provisioned() || p.BrandID != b.BrandID || !p.IsTMobileRegistered) {
			t.Fatalf("VERIFIED payload %+v", p)
		}
	}
	want := "TCR_EVENT/CAMPAIGN_ADD,TELNYX_REVIEW/ACCEPTED,TCR_EVENT/MNO_CAMPAIGN_OPERATION_REVIEW,VERIFIED/"
	if strings.Join(types, ",") != want {
		t.Fatalf("campaign events %v, want %s", types, want)
	}

	a, err := e.client.AssignNumberToCampaign(ctx, phone, c.CampaignID)
	if err != nil {
		t.Fatal(err)
	}
	if a.PhoneNumber != phone || a.CampaignID != c.CampaignID || a.AssignmentStatus != telnyx.AssignmentPending || a.Ready() {
		t.Fatalf("assignment %+v", a)
	}
	e.waitIdle(t)
	if a, err = e.client.GetNumberCampaign(ctx, phone); err != nil {
		t.Fatal(err)
	}
	if !a.Ready() || a.BrandID != b.BrandID || a.TCRCampaignID != c.TCRCampaignID || a.TCRBrandID != b.TCRBrandID ||
		len(a.FailureReasons) != 0 {
		t.Fatalf("assigned %+v", a)
	}
	// Number events go to the campaign's webhook.
	evs := e.hooks.events("/campaign")
	np, err := evs[len(evs)-1].NumberUpdatePayload()
	if err != nil || evs[len(evs)-1].EventType != telnyx.Event10DLCNumberUpdate || np.PhoneNumber != phone ||
		np.CampaignID != c.CampaignID || np.Type != telnyx.NumberEventAssignment || np.Status != "success" || np.Failed() {
		t.Fatalf("number event %+v payload %+v err %v", evs[len(evs)-1], np, err)
	}
	if got := e.sim.Assignments(); len(got) != 1 || got[0].AssignmentStatus != telnyx.AssignmentAssigned {
		t.Fatalf("sim assignments %+v", got)
	}
}

func TestTenDLCRejectThenResubmit(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()

	setOutcome(t, e.sim, telnyxsim.RegistrationBrand, telnyxsim.RegistrationOutcome{Result: telnyxsim.Reject,
		Reasons: []string{"EIN does not match the legal name"}})
	req := churchBrand(e.hooks.url("/brand"))
	b, err := e.client.CreateBrand(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	e.waitIdle(t)
	if b, err = e.client.GetBrand(ctx, b.BrandID); err != nil {
		t.Fatal(err)
	}
	if !b.Failed() || b.Ready() || b.IdentityStatus != telnyx.IdentityUnverified ||
		!reflect.DeepEqual([]string(b.FailureReasons), []string{"EIN does not match the legal name"}) {
		t.Fatalf("rejected brand %+v", b)
	}
	bp, err := e.hooks.events("/brand")[0].BrandUpdatePayload()
	if err != nil || !bp.Failed() || bp.Type != telnyx.BrandEventRegistration || len(bp.Reasons) != 1 ||
		bp.Reasons[0].Description != "EIN does not match the legal name" {
		t.Fatalf("rejection payload %+v err %v", bp, err)
	}

	// Fix the data and resubmit: vetting runs again with the current outcome.
	setOutcome(t, e.sim, telnyxsim.RegistrationBrand, telnyxsim.RegistrationOutcome{Result: telnyxsim.Approve})
	req.CompanyName = "Grace Chapel Inc."
	if b, err = e.client.UpdateBrand(ctx, b.BrandID, req); err != nil {
		t.Fatal(err)
	}
	if b.Status != telnyx.BrandStatusPending || b.CompanyName != "Grace Chapel Inc." || len(b.FailureReasons) != 0 {
		t.Fatalf("resubmitted brand %+v", b)
	}
	e.waitIdle(t)
	if b, err = e.client.GetBrand(ctx, b.BrandID); err != nil || !b.Ready() {
		t.Fatalf("brand after resubmission %+v %v", b, err)
	}
	if got := e.sim.Brands(); len(got) != 1 || got[0].Submissions != 2 {
		t.Fatalf("sim brands %+v", got)
	}

	// A campaign the carriers reject, then resubmitted with better samples.
	setOutcome(t, e.sim, telnyxsim.RegistrationCampaign, telnyxsim.RegistrationOutcome{Result: telnyxsim.Reject,
		RejectAt: telnyx.CampaignMNORejected, Reasons: []string{"Opt-out language missing from sample 2"}})
	c, err := e.client.CreateCampaign(ctx, churchCampaign(b.BrandID, e.hooks.url("/campaign")))
	if err != nil {
		t.Fatal(err)
	}
	e.waitIdle(t)
	if c, err = e.client.GetCampaign(ctx, c.CampaignID); err != nil {
		t.Fatal(err)
	}
	if c.CampaignStatus != telnyx.CampaignMNORejected || !c.Failed() || c.FailureReasons.String() != "Opt-out language missing from sample 2" {
		t.Fatalf("rejected campaign %+v", c)
	}
	evs := e.hooks.events("/campaign")
	cp, err := evs[len(evs)-1].CampaignUpdatePayload()
	if err != nil || cp.Type != telnyx.CampaignEventMNOReview || cp.Status != "REJECTED" || !cp.Rejected() ||
		cp.Description != "Opt-out language missing from sample 2" {
		t.Fatalf("rejection payload %+v err %v", cp, err)
	}

	setOutcome(t, e.sim, telnyxsim.RegistrationCampaign, telnyxsim.RegistrationOutcome{Result: telnyxsim.Approve})
	c, err = e.client.UpdateCampaign(ctx, c.CampaignID, telnyx.CampaignUpdate{SampleMessages: []string{
		"Grace Chapel: Sunday service is at 10am. Reply STOP to opt out.",
		"Grace Chapel: Youth group Wednesday 7pm. Reply STOP to opt out."}})
	if err != nil {
		t.Fatal(err)
	}
	if c.CampaignStatus != telnyx.CampaignTCRAccepted || len(c.FailureReasons) != 0 ||
		c.Sample2 != "Grace Chapel: Youth group Wednesday 7pm. Reply STOP to opt out." {
		t.Fatalf("resubmitted campaign %+v", c)
	}
	e.waitIdle(t)
	if c, err = e.client.GetCampaign(ctx, c.CampaignID); err != nil || !c.Ready() {
		t.Fatalf("campaign after resubmission %+v %v", c, err)
	}
	if got := e.sim.Campaigns(); len(got) != 1 || got[0].Submissions != 2 || got[0].CampaignStatus != telnyx.CampaignMNOProvisioned {
		t.Fatalf("sim campaigns %+v", got)
	}
}

func TestTenDLCTelnyxRejection(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	b := e.registeredBrand(t)
	setOutcome(t, e.sim, telnyxsim.RegistrationCampaign, telnyxsim.RegistrationOutcome{Result: telnyxsim.Reject})
	c, err := e.client.CreateCampaign(ctx, churchCampaign(b.BrandID, e.hooks.url("/campaign")))
	if err != nil {
		t.Fatal(err)
	}
	e.waitIdle(t)
	if c, err = e.client.GetCampaign(ctx, c.CampaignID); err != nil {
		t.Fatal(err)
	}
	if c.CampaignStatus != telnyx.CampaignTelnyxFailed || len(c.FailureReasons) != 1 {
		t.Fatalf("campaign %+v", c)
	}
	evs := e.hooks.events("/campaign")
	if p, _ := evs[len(evs)-1].CampaignUpdatePayload(); p.Type != telnyx.CampaignEventTelnyxReview || !p.Rejected() || p.Description == "" {
		t.Fatalf("payload %+v", p)
	}
}

func TestTenDLCStallStaysPending(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	setOutcome(t, e.sim, telnyxsim.RegistrationBrand, telnyxsim.RegistrationOutcome{Result: telnyxsim.Stall})
	b, err := e.client.CreateBrand(ctx, churchBrand(e.hooks.url("/brand")))
	if err != nil {
		t.Fatal(err)
	}
	e.waitIdle(t) // nothing runs for a stalled registration
	time.Sleep(5 * step)
	if b, err = e.client.GetBrand(ctx, b.BrandID); err != nil || b.Status != telnyx.BrandStatusPending {
		t.Fatalf("stalled brand %+v %v", b, err)
	}

	setOutcome(t, e.sim, telnyxsim.RegistrationBrand, telnyxsim.RegistrationOutcome{Result: telnyxsim.Approve})
	c := e.provisionedCampaign(t)
	setOutcome(t, e.sim, telnyxsim.RegistrationAssignment, telnyxsim.RegistrationOutcome{Result: telnyxsim.Stall})
	e.ownNumber(t, "+12175550143")
	if _, err := e.client.AssignNumberToCampaign(ctx, "+12175550143", c.CampaignID); err != nil {
		t.Fatal(err)
	}
	setOutcome(t, e.sim, telnyxsim.RegistrationCampaign, telnyxsim.RegistrationOutcome{Result: telnyxsim.Stall})
	c2, err := e.client.CreateCampaign(ctx, churchCampaign(c.BrandID, e.hooks.url("/campaign2")))
	if err != nil {
		t.Fatal(err)
	}
	e.waitIdle(t)
	time.Sleep(5 * step)
	if a, err := e.client.GetNumberCampaign(ctx, "+12175550143"); err != nil || a.AssignmentStatus != telnyx.AssignmentPending {
		t.Fatalf("stalled assignment %+v %v", a, err)
	}
	if c2, err = e.client.GetCampaign(ctx, c2.CampaignID); err != nil || c2.CampaignStatus != telnyx.CampaignTCRPending {
		t.Fatalf("stalled campaign %+v %v", c2, err)
	}
	if n := len(e.hooks.events("/campaign2")); n != 0 {
		t.Fatalf("a stalled campaign posted %d webhooks", n)
	}
}

func TestTenDLCCampaignNeedsRegisteredBrand(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	setOutcome(t, e.sim, telnyxsim.RegistrationBrand, telnyxsim.RegistrationOutcome{Result: telnyxsim.Stall})
	pending, err := e.client.CreateBrand(ctx, churchBrand(""))
	if err != nil {
		t.Fatal(err)
	}
	setOutcome(t, e.sim, telnyxsim.RegistrationBrand, telnyxsim.RegistrationOutcome{Result: telnyxsim.Reject})
	failed, err := e.client.CreateBrand(ctx, churchBrand(""))
	if err != nil {
		t.Fatal(err)
	}
	e.waitIdle(t)

	for _, id := range []string{pending.BrandID, failed.BrandID} {
		_, err := e.client.CreateCampaign(ctx, churchCampaign(id, ""))
		var te *telnyx.Error
		if !errors.As(err, &te) || te.Status != http.StatusUnprocessableEntity || te.Pointer != "/brandId" || telnyx.Retryable(err) {
			t.Fatalf("campaign for brand %s: %v", id, err)
		}
	}
	_, err = e.client.CreateCampaign(ctx, churchCampaign("no-such-brand", ""))
	var te *telnyx.Error
	if !errors.As(err, &te) || te.Status != http.StatusNotFound || te.Code != "10005" {
		t.Fatalf("campaign for unknown brand: %v", err)
	}
	if got := e.sim.Campaigns(); len(got) != 0 {
		t.Fatalf("refused campaigns were stored: %+v", got)
	}
}

func TestTenDLCAssignmentFailures(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	c := e.provisionedCampaign(t)

	// A number the account does not own.
	a, err := e.client.AssignNumberToCampaign(ctx, "+12175550199", c.CampaignID)
	if err != nil || a.AssignmentStatus != telnyx.AssignmentPending {
		t.Fatalf("assign: %+v %v", a, err)
	}
	e.waitIdle(t)
	if a, err = e.client.GetNumberCampaign(ctx, "+12175550199"); err != nil {
		t.Fatal(err)
	}
	if a.AssignmentStatus != telnyx.AssignmentFailed || a.Ready() || !strings.Contains(a.FailureReasons.String(), "not in your account") {
		t.Fatalf("unowned number %+v", a)
	}
	evs := e.hooks.events("/campaign")
	np, err := evs[len(evs)-1].NumberUpdatePayload()
	if err != nil || !np.Failed() || np.PhoneNumber != "+12175550199" || len(np.Reasons) != 1 ||
		!strings.Contains(np.Reasons[0].Description, "not in your account") {
		t.Fatalf("failure payload %+v err %v", np, err)
	}

	// Once owned, the same number can be assigned again.
	e.ownNumber(t, "+12175550199")
	if _, err := e.client.AssignNumberToCampaign(ctx, "+12175550199", c.CampaignID); err != nil {
		t.Fatal(err)
	}
	e.waitIdle(t)
	if a, err = e.client.GetNumberCampaign(ctx, "+12175550199"); err != nil || !a.Ready() {
		t.Fatalf("retried assignment %+v %v", a, err)
	}
	// Assigned numbers are not assigned twice.
	_, err = e.client.AssignNumberToCampaign(ctx, "+12175550199", c.CampaignID)
	var te *telnyx.Error
	if !errors.As(err, &te) || te.Status != http.StatusUnprocessableEntity || te.Pointer != "/phoneNumber" {
		t.Fatalf("double assignment: %v", err)
	}

	// A campaign that is not provisioned yet.
	setOutcome(t, e.sim, telnyxsim.RegistrationCampaign, telnyxsim.RegistrationOutcome{Result: telnyxsim.Stall})
	c2, err := e.client.CreateCampaign(ctx, churchCampaign(c.BrandID, e.hooks.url("/campaign2")))
	if err != nil {
		t.Fatal(err)
	}
	e.ownNumber(t, "+12175550198")
	if _, err := e.client.AssignNumberToCampaign(ctx, "+12175550198", c2.CampaignID); err != nil {
		t.Fatal(err)
	}
	e.waitIdle(t)
	if a, err = e.client.GetNumberCampaign(ctx, "+12175550198"); err != nil || a.AssignmentStatus != telnyx.AssignmentFailed ||
		!strings.Contains(a.FailureReasons.String(), "TCR_PENDING") {
		t.Fatalf("assignment to a pending campaign %+v %v", a, err)
	}

	// Unknown ids.
	if _, err := e.client.GetNumberCampaign(ctx, "+12175550100"); !errors.As(err, &te) || te.Status != http.StatusNotFound {
		t.Fatalf("unknown assignment: %v", err)
	}
	if _, err := e.client.AssignNumberToCampaign(ctx, "+12175550197", "no-such-campaign"); !errors.As(err, &te) || te.Status != http.StatusNotFound {
		t.Fatalf("unknown campaign: %v", err)
	}
}

func TestTenDLCWebhooksOffPollerStillSeesState(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	e.sim.SendRegistrationWebhooks(false)
	e.ownNumber(t, "+12175550144")
	c := e.provisionedCampaign(t) // polls GetBrand and GetCampaign
	if _, err := e.client.AssignNumberToCampaign(ctx, "+12175550144", c.CampaignID); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 3*time.Second, func() string {
		a, err := e.client.GetNumberCampaign(ctx, "+12175550144")
		if err != nil {
			t.Fatalf("number assigned: %v", err)
		}
		if !(err == nil && a.Ready()) {
			return "waiting for number assigned"
		}
		return ""
	})
	e.waitIdle(t)
	if n := e.hooks.total(); n != 0 {
		t.Fatalf("%d webhooks arrived while off", n)
	}
	for _, w := range e.sim.Webhooks() {
		if strings.HasPrefix(w.EventType, "10dlc.") {
			t.Fatalf("recorded %+v while off", w)
		}
	}
}
