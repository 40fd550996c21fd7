package telnyxsim_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

// rawCall makes one request with a bearer key and decodes the JSON answer.
func rawCall(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer KEY_TEST")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s answered %s", method, url, raw)
		}
	}
	return resp.StatusCode, out
}

func mustScriptRegistration(t *testing.T, sim *telnyxsim.Sim, kind string, o telnyxsim.RegistrationOutcome) {
	t.Helper()
	if err := sim.ScriptRegistration(kind, o); err != nil {
		t.Fatal(err)
	}
}

const brandJSON = `{"entityType":"NON_PROFIT","displayName":"Grace Chapel","companyName":"Grace Chapel Inc.",
"ein":"12-3456789","country":"US","email":"office@grace.example","vertical":"NGO","webhookURL":%q}`

func TestTenDLCWireShape(t *testing.T) {
	e := newEnv(t)
	mustScriptRegistration(t, e.sim, telnyxsim.RegistrationBrand, telnyxsim.RegistrationOutcome{Delay: time.Millisecond})
	hook := e.hooks.srv.URL + "/brand"
	status, b := rawCall(t, "POST", e.base+"/v2/10dlc/brand", strings.Replace(brandJSON, "%q", `"`+hook+`"`, 1))
	if status != 200 || b["data"] != nil || b["status"] != "REGISTRATION_PENDING" || b["tcrBrandId"] != nil ||
		b["failureReasons"] != nil || b["identityStatus"] != nil || b["displayName"] != "Grace Chapel" ||
		b["webhookURL"] != hook || b["entityType"] != "NON_PROFIT" || !uuidRe.MatchString(b["brandId"].(string)) {
		t.Fatalf("create answer %d %v", status, b)
	}
	id := b["brandId"].(string)
	e.waitIdle(t)
	_, b = rawCall(t, "GET", e.base+"/v2/10dlc/brand/"+id, "")
	if b["status"] != "OK" || b["identityStatus"] != "VERIFIED" || len(b["tcrBrandId"].(string)) != 7 {
		t.Fatalf("get answer %v", b)
	}

	// The webhook uses the message envelope and signature (verified by the receiver).
	body := e.hooks.bodies[0]
	for _, want := range []string{`{"data":{"event_type":"10dlc.brand.update","id":"`, `"record_type":"event"},"meta":{"attempt":1,"delivered_to":"` + hook + `"}}`,
		`"type":"TCR_BRAND_UPDATE"`, `"brandId":"` + id + `"`} {
		if !strings.Contains(body, want) {
			t.Fatalf("webhook body lacks %s: %s", want, body)
		}
	}
	if !occurredAtRe.MatchString(body) {
		t.Fatalf("occurred_at: %s", body)
	}
	ws := e.sim.Webhooks()
	if len(ws) != 1 || ws[0].EventType != telnyx.Event10DLCBrandUpdate || ws[0].MessageID != id || !ws[0].OK || ws[0].URL != hook {
		t.Fatalf("recorded %+v", ws)
	}

	// Campaign and assignment answers are bare objects too.
	status, c := rawCall(t, "POST", e.base+"/v2/10dlc/campaignBuilder",
		`{"brandId":"`+id+`","usecase":"MIXED","description":"Church updates","sample1":"Hi. Reply STOP to opt out.","helpKeywords":"HELP"}`)
	if status != 200 || c["data"] != nil || c["campaignStatus"] != "TCR_PENDING" || c["brandId"] != id ||
		c["sample1"] != "Hi. Reply STOP to opt out." || c["helpKeywords"] != "HELP" || c["autoRenewal"] != true ||
		c["tcrCampaignId"] != nil || c["brandDisplayName"] != "Grace Chapel" {
		t.Fatalf("campaign answer %d %v", status, c)
	}
	status, a := rawCall(t, "POST", e.base+"/v2/10dlc/phone_number_campaigns",
		`{"phoneNumber":"+13125550100","campaignId":"`+c["campaignId"].(string)+`"}`)
	if status != 200 || a["data"] != nil || a["assignmentStatus"] != "PENDING_ASSIGNMENT" || a["phoneNumber"] != "+13125550100" {
		t.Fatalf("assignment answer %d %v", status, a)
	}
	// %2B is the same number as a literal +.
	if status, a = rawCall(t, "GET", e.base+"/v2/10dlc/phone_number_campaigns/%2B13125550100", ""); status != 200 || a["phoneNumber"] != "+13125550100" {
		t.Fatalf("get assignment %d %v", status, a)
	}
	e.waitIdle(t)
}

func TestTenDLCWebhookFailover(t *testing.T) {
	e := newEnv(t)
	failover := newReceiver(t, e.sim)
	e.hooks.setStatus(http.StatusInternalServerError)
	mustScriptRegistration(t, e.sim, telnyxsim.RegistrationBrand, telnyxsim.RegistrationOutcome{Result: telnyxsim.Reject,
		Reasons: []string{"Invalid EIN"}, Delay: time.Millisecond})
	_, err := e.client.CreateBrand(context.Background(), telnyx.BrandRequest{DisplayName: "Grace", Email: "o@g.example",
		WebhookURL: e.hooks.srv.URL + "/p", WebhookFailoverURL: failover.srv.URL + "/f"})
	if err != nil {
		t.Fatal(err)
	}
	e.waitIdle(t)
	var attempts []int
	for _, w := range e.sim.Webhooks() {
		attempts = append(attempts, w.Attempt)
	}
	got := failover.events()
	if len(got) != 1 || len(attempts) != 4 || attempts[3] != 4 || got[0].Meta.Attempt != 4 {
		t.Fatalf("attempts %v, failover got %d", attempts, len(got))
	}
	p, err := got[0].Data.BrandUpdatePayload()
	if err != nil || !p.Failed() || p.Type != "REGISTRATION" || p.Reasons[0].Description != "Invalid EIN" {
		t.Fatalf("payload %+v %v", p, err)
	}
}

func TestTenDLCCampaignTCRRejectionAndResubmission(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, kind := range []string{telnyxsim.RegistrationBrand, telnyxsim.RegistrationCampaign} {
		mustScriptRegistration(t, e.sim, kind, telnyxsim.RegistrationOutcome{Delay: time.Millisecond})
	}
	b, err := e.client.CreateBrand(ctx, telnyx.BrandRequest{DisplayName: "Grace", Email: "o@g.example"})
	if err != nil {
		t.Fatal(err)
	}
	e.waitIdle(t)
	mustScriptRegistration(t, e.sim, telnyxsim.RegistrationCampaign, telnyxsim.RegistrationOutcome{Result: telnyxsim.Reject,
		RejectAt: "TCR_FAILED", Delay: time.Millisecond})
	hook := e.hooks.srv.URL + "/c"
	c, err := e.client.CreateCampaign(ctx, telnyx.CampaignRequest{BrandID: b.BrandID, Usecase: "MIXED", Description: "d", WebhookURL: hook})
	if err != nil {
		t.Fatal(err)
	}
	e.waitIdle(t)
	if c, err = e.client.GetCampaign(ctx, c.CampaignID); err != nil || c.CampaignStatus != "TCR_FAILED" || c.TCRCampaignID != "" ||
		len(c.FailureReasons) != 1 {
		t.Fatalf("TCR rejection %+v %v", c, err)
	}
	p, _ := e.hooks.lastOf(telnyx.Event10DLCCampaignUpdate).Data.CampaignUpdatePayload()
	if p.Type != "REGISTRATION" || p.Status != "failed" || len(p.Reasons) != 1 || !p.Rejected() {
		t.Fatalf("payload %+v", p)
	}

	// Still rejecting: the resubmission restarts at TCR and fails there again.
	if c, err = e.client.UpdateCampaign(ctx, c.CampaignID, telnyx.CampaignUpdate{SampleMessages: []string{"new"}}); err != nil ||
		c.CampaignStatus != "TCR_PENDING" {
		t.Fatalf("resubmitted %+v %v", c, err)
	}
	e.waitIdle(t)
	mustScriptRegistration(t, e.sim, telnyxsim.RegistrationCampaign, telnyxsim.RegistrationOutcome{Delay: time.Millisecond})
	if _, err = e.client.UpdateCampaign(ctx, c.CampaignID, telnyx.CampaignUpdate{}); err != nil {
		t.Fatal(err)
	}
	e.waitIdle(t)
	got := e.sim.Campaigns()
	if len(got) != 1 || got[0].CampaignStatus != "MNO_PROVISIONED" || got[0].Submissions != 3 || got[0].TCRCampaignID == "" {
		t.Fatalf("campaigns %+v", got)
	}
	// Updating a provisioned campaign only edits it.
	if c, err = e.client.UpdateCampaign(ctx, c.CampaignID, telnyx.CampaignUpdate{SampleMessages: []string{"newer"}}); err != nil ||
		c.CampaignStatus != "MNO_PROVISIONED" || c.Sample1 != "newer" || e.sim.Pending() != 0 {
		t.Fatalf("edit %+v %v", c, err)
	}
}

func TestTenDLCControlEndpoints(t *testing.T) {
	e := newEnv(t)
	post := func(path, body string) int {
		t.Helper()
		resp, err := http.Post(e.base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for body, want := range map[string]int{
		`{"kind":"brand","result":"reject","reasons":["Invalid EIN"],"delay":"1ms"}`: 204,
		`{"kind":"campaign","result":"stall"}`:                                       204,
		`{"kind":"campaign","result":"reject","reject_at":"MNO_REJECTED"}`:           204,
		`{"kind":"campaign","reject_at":"SOMEWHERE"}`:                                400,
		`{"kind":"number","result":"approve"}`:                                       400,
		`{"kind":"brand","result":"maybe"}`:                                          400,
		`{"kind":"brand","delay":"soon"}`:                                            400,
	} {
		if got := post("/sim/registration/outcome", body); got != want {
			t.Errorf("outcome %s: %d, want %d", body, got, want)
		}
	}
	mustScriptRegistration(t, e.sim, telnyxsim.RegistrationBrand, telnyxsim.RegistrationOutcome{Result: telnyxsim.Reject,
		Reasons: []string{"Invalid EIN"}, Delay: time.Millisecond})
	if got := post("/sim/registration/webhooks", `{}`); got != 400 {
		t.Fatalf("webhooks without enabled: %d", got)
	}
	if got := post("/sim/registration/webhooks", `{"enabled":false}`); got != 204 {
		t.Fatalf("webhooks off: %d", got)
	}
	if _, err := e.client.CreateBrand(context.Background(), telnyx.BrandRequest{DisplayName: "Grace", Email: "o@g.example",
		WebhookURL: e.hooks.srv.URL}); err != nil {
		t.Fatal(err)
	}
	e.waitIdle(t)
	if n := len(e.hooks.events()); n != 0 {
		t.Fatalf("%d webhooks while off", n)
	}

	resp, err := http.Get(e.base + "/sim/registrations")
	if err != nil {
		t.Fatal(err)
	}
	var regs struct {
		Brands      []telnyxsim.Brand            `json:"brands"`
		Campaigns   []telnyxsim.Campaign         `json:"campaigns"`
		Assignments []telnyxsim.NumberAssignment `json:"assignments"`
	}
	err = json.NewDecoder(resp.Body).Decode(&regs)
	resp.Body.Close()
	if err != nil || len(regs.Brands) != 1 || regs.Brands[0].Status != "REGISTRATION_FAILED" ||
		regs.Brands[0].FailureReasons[0] != "Invalid EIN" || regs.Campaigns == nil || regs.Assignments == nil {
		t.Fatalf("registrations %+v %v", regs, err)
	}

	if got := post("/sim/reset", ``); got != 204 {
		t.Fatalf("reset: %d", got)
	}
	if len(e.sim.Brands()) != 0 {
		t.Fatal("reset kept brands")
	}
	// Reset restores the defaults: approve, webhooks on.
	if _, err := e.client.CreateBrand(context.Background(), telnyx.BrandRequest{DisplayName: "Grace", Email: "o@g.example",
		WebhookURL: e.hooks.srv.URL}); err != nil {
		t.Fatal(err)
	}
	e.waitIdle(t)
	if b := e.sim.Brands(); len(b) != 1 || b[0].Status != "OK" || len(e.hooks.events()) != 1 {
		t.Fatalf("after reset %+v, %d webhooks", b, len(e.hooks.events()))
	}
}

func TestTenDLCResetAndCloseStopLifecycles(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustScriptRegistration(t, e.sim, telnyxsim.RegistrationBrand, telnyxsim.RegistrationOutcome{Delay: 20 * time.Millisecond})
	if _, err := e.client.CreateBrand(ctx, telnyx.BrandRequest{DisplayName: "Grace", Email: "o@g.example", WebhookURL: e.hooks.srv.URL}); err != nil {
		t.Fatal(err)
	}
	e.sim.Reset()
	e.waitIdle(t)
	if len(e.sim.Brands()) != 0 || len(e.hooks.events()) != 0 {
		t.Fatalf("a lifecycle outlived Reset: %+v", e.sim.Brands())
	}

	mustScriptRegistration(t, e.sim, telnyxsim.RegistrationBrand, telnyxsim.RegistrationOutcome{Delay: time.Hour})
	if _, err := e.client.CreateBrand(ctx, telnyx.BrandRequest{DisplayName: "Grace", Email: "o@g.example"}); err != nil {
		t.Fatal(err)
	}
	if e.sim.Pending() != 1 {
		t.Fatalf("pending = %d, want the brand's lifecycle", e.sim.Pending())
	}
	done := make(chan struct{})
	go func() { e.sim.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not stop a waiting lifecycle")
	}
	if b := e.sim.Brands(); len(b) != 1 || b[0].Status != "REGISTRATION_PENDING" {
		t.Fatalf("brands %+v", b)
	}
}

func TestScriptRegistrationRejectsUnknownKinds(t *testing.T) {
	sim := telnyxsim.New(telnyxsim.Options{})
	if err := sim.ScriptRegistration("number", telnyxsim.RegistrationOutcome{}); err == nil {
		t.Fatal("unknown kind accepted")
	}
	if err := sim.ScriptRegistration(telnyxsim.RegistrationCampaign, telnyxsim.RegistrationOutcome{RejectAt: "MNO_PENDING"}); err == nil {
		t.Fatal("unknown RejectAt accepted")
	}
	for _, s := range []string{"approve", "reject", "stall"} {
		if r, err := telnyxsim.ParseRegistrationResult(s); err != nil || r.String() != s {
			t.Fatalf("%s: %v %v", s, r, err)
		}
	}
}
