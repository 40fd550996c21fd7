package telnyx_test

// 10DLC validation, injected faults, the wire format and webhook payload decoding.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple/telnyx"
)

func TestTenDLCValidationAndFaults(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	var te *telnyx.Error

	req := churchBrand("")
	req.DisplayName = ""
	if _, err := e.client.CreateBrand(ctx, req); !errors.As(err, &te) || te.Status != 422 || te.Code != "10015" || te.Pointer != "/displayName" {
		t.Fatalf("missing displayName: %v", err)
	}
	req = churchBrand("")
	req.EntityType = "CHURCH"
	if _, err := e.client.CreateBrand(ctx, req); !errors.As(err, &te) || te.Pointer != "/entityType" {
		t.Fatalf("bad entityType: %v", err)
	}
	if _, err := e.client.GetBrand(ctx, "no-such-brand"); !errors.As(err, &te) || te.Status != 404 || te.Code != "10005" {
		t.Fatalf("unknown brand: %v", err)
	}
	if _, err := e.client.UpdateBrand(ctx, "no-such-brand", churchBrand("")); !errors.As(err, &te) || te.Status != 404 {
		t.Fatalf("update unknown brand: %v", err)
	}
	if _, err := e.client.GetCampaign(ctx, "no-such-campaign"); !errors.As(err, &te) || te.Status != 404 {
		t.Fatalf("unknown campaign: %v", err)
	}
	b := e.registeredBrand(t)
	creq := churchCampaign(b.BrandID, "")
	creq.Description = ""
	if _, err := e.client.CreateCampaign(ctx, creq); !errors.As(err, &te) || te.Status != 422 || te.Pointer != "/description" {
		t.Fatalf("missing description: %v", err)
	}
	creq = churchCampaign(b.BrandID, "")
	creq.SampleMessages = []string{"1", "2", "3", "4", "5", "6"}
	if _, err := e.client.CreateCampaign(ctx, creq); err == nil || !strings.Contains(err.Error(), "at most 5") {
		t.Fatalf("six samples: %v", err)
	}
	if _, err := e.client.AssignNumberToCampaign(ctx, "2175550100", "x"); !errors.As(err, &te) || te.Pointer != "/phoneNumber" {
		t.Fatalf("non-E.164 number: %v", err)
	}

	// Outage mode and injected failures cover the 10DLC endpoints too.
	e.sim.SetDown(true)
	if _, err := e.client.GetBrand(ctx, b.BrandID); !errors.As(err, &te) || te.Status != 503 || !telnyx.Retryable(err) {
		t.Fatalf("down: %v", err)
	}
	e.sim.SetDown(false)
	e.sim.FailNext(1, http.StatusTooManyRequests, "10011")
	if _, err := e.client.GetBrand(ctx, b.BrandID); !errors.As(err, &te) || te.Status != 429 || !telnyx.Retryable(err) {
		t.Fatalf("injected 429: %v", err)
	}
	if _, err := e.client.GetBrand(ctx, b.BrandID); err != nil {
		t.Fatal(err)
	}
}

// TestTenDLCWire pins the request bodies and the decoding of answers in the
// shapes the simulator does not produce (wrapped answers, array reasons).
func TestTenDLCWire(t *testing.T) {
	type request struct {
		method, path string
		body         map[string]any
	}
	var got []request
	answers := map[string]string{
		"/v2/10dlc/brand":                               `{"brandId":"b1","status":"REGISTRATION_FAILED","failureReasons":"Invalid EIN","identityStatus":null}`,
		"/v2/10dlc/campaignBuilder":                     `{"data":{"campaignId":"c1","campaignStatus":"TCR_PENDING","failureReasons":null}}`,
		"/v2/10dlc/campaign/c1":                         `{"campaignId":"c1","campaignStatus":"TELNYX_FAILED","failureReasons":[{"description":"a"},"b"]}`,
		"/v2/10dlc/phone_number_campaigns":              `{"phoneNumber":"+12175550100","campaignId":"c1","assignmentStatus":"PENDING_ASSIGNMENT"}`,
		"/v2/10dlc/phone_number_campaigns/+12175550100": `{"phoneNumber":"+12175550100","assignmentStatus":"ASSIGNED","failureReasons":""}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		rq := request{method: r.Method, path: r.URL.EscapedPath()}
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &rq.body); err != nil {
				t.Errorf("body %s: %v", raw, err)
			}
		}
		got = append(got, rq)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, answers[r.URL.Path])
	}))
	t.Cleanup(srv.Close)
	c := telnyx.New(telnyx.Config{BaseURL: srv.URL + "/v2", APIKey: "k"})
	ctx := context.Background()

	b, err := c.CreateBrand(ctx, telnyx.BrandRequest{DisplayName: "Grace", Email: "o@g.example", WebhookURL: "https://h/b"})
	if err != nil || b.BrandID != "b1" || !b.Failed() || b.FailureReasons.String() != "Invalid EIN" || b.IdentityStatus != "" {
		t.Fatalf("brand %+v %v", b, err)
	}
	no := false
	camp, err := c.CreateCampaign(ctx, telnyx.CampaignRequest{BrandID: "b1", Usecase: "MIXED", Description: "d",
		SubUsecases: []string{"CUSTOMER_CARE", "ACCOUNT_NOTIFICATION"}, SampleMessages: []string{"s1", "s2"},
		OptoutKeywords: []string{"STOP", "QUIT"}, SubscriberOptout: true, AutoRenewal: &no, WebhookURL: "https://h/c"})
	if err != nil || camp.CampaignID != "c1" || camp.CampaignStatus != telnyx.CampaignTCRPending || camp.FailureReasons != nil {
		t.Fatalf("wrapped campaign answer %+v %v", camp, err)
	}
	if camp, err = c.GetCampaign(ctx, "c1"); err != nil || !reflect.DeepEqual([]string(camp.FailureReasons), []string{"a", "b"}) {
		t.Fatalf("array reasons %+v %v", camp, err)
	}
	if _, err := c.AssignNumberToCampaign(ctx, "+12175550100", "c1"); err != nil {
		t.Fatal(err)
	}
	if a, err := c.GetNumberCampaign(ctx, "+12175550100"); err != nil || !a.Ready() || a.FailureReasons != nil {
		t.Fatalf("assignment %+v %v", a, err)
	}

	want := []request{
		{"POST", "/v2/10dlc/brand", map[string]any{"entityType": "NON_PROFIT", "displayName": "Grace", "country": "US",
			"email": "o@g.example", "vertical": "NGO", "webhookURL": "https://h/b"}},
		{"POST", "/v2/10dlc/campaignBuilder", map[string]any{"brandId": "b1", "usecase": "MIXED", "description": "d",
			"subUsecases": []any{"CUSTOMER_CARE", "ACCOUNT_NOTIFICATION"}, "sample1": "s1", "sample2": "s2",
			"optoutKeywords": "STOP,QUIT", "embeddedLink": false, "embeddedPhone": false, "numberPool": false,
			"ageGated": false, "directLending": false, "subscriberOptin": false, "subscriberOptout": true,
			"subscriberHelp": false, "termsAndConditions": false, "autoRenewal": false, "webhookURL": "https://h/c"}},
		{"GET", "/v2/10dlc/campaign/c1", nil},
		{"POST", "/v2/10dlc/phone_number_campaigns", map[string]any{"phoneNumber": "+12175550100", "campaignId": "c1"}},
		{"GET", "/v2/10dlc/phone_number_campaigns/+12175550100", nil},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("requests\n got %+v\nwant %+v", got, want)
	}
}

func TestTenDLCPayloadDecoding(t *testing.T) {
	body := `{"data":{"event_type":"10dlc.phone_number.update","id":"e1","occurred_at":"2024-08-07T17:22:37.328+00:00",
"payload":{"campaignId":"c1","phoneNumber":"+16715455939","status":"failed","type":"ASSIGNMENT",
"reasons":["Number is not 10DLC capable",{"fields":["phoneNumber"],"description":"Already assigned"}]},"record_type":"event"},
"meta":{"attempt":2,"delivered_to":"https://h"}}`
	w, err := telnyx.ParseWebhook([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.Data.NumberUpdatePayload()
	if err != nil {
		t.Fatal(err)
	}
	want := []telnyx.RegistrationReason{{Description: "Number is not 10DLC capable"},
		{Fields: []string{"phoneNumber"}, Description: "Already assigned"}}
	if !p.Failed() || p.PhoneNumber != "+16715455939" || !reflect.DeepEqual(p.Reasons, want) {
		t.Fatalf("payload %+v", p)
	}
	w.Data.Payload = json.RawMessage(`{"type":`)
	if _, err := w.Data.CampaignUpdatePayload(); err == nil {
		t.Fatal("bad payload decoded")
	}
}
