package telnyxsim_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

func TestNumberSearch(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	got, err := e.client.SearchNumbers(ctx, telnyx.NumberSearch{CountryCode: "US", NationalDestinationCode: "312",
		Features: []string{"sms", "mms"}, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d numbers, want 3", len(got))
	}
	seen := map[string]bool{}
	for _, n := range got {
		if !strings.HasPrefix(n.PhoneNumber, "+1312") || len(n.PhoneNumber) != 12 || !n.HasFeature("sms") ||
			n.RecordType != "available_phone_number" || n.Region("state") != "IL" || n.CostInformation.Currency != "USD" || seen[n.PhoneNumber] {
			t.Fatalf("number %+v", n)
		}
		seen[n.PhoneNumber] = true
	}
	again, _ := e.client.SearchNumbers(ctx, telnyx.NumberSearch{NationalDestinationCode: "312", Limit: 3})
	for i := range again {
		if again[i].PhoneNumber != got[i].PhoneNumber {
			t.Fatal("inventory is not deterministic")
		}
	}

	byCity, _ := e.client.SearchNumbers(ctx, telnyx.NumberSearch{Locality: "nashville", Limit: 5})
	if len(byCity) != 5 || byCity[0].Region("rate_center") != "NASHVILLE" {
		t.Fatalf("locality search %+v", byCity)
	}
	contains, _ := e.client.SearchNumbers(ctx, telnyx.NumberSearch{NationalDestinationCode: "512", Contains: "77", Limit: 4})
	for _, n := range contains {
		if !strings.Contains(n.PhoneNumber, "77") || !strings.HasPrefix(n.PhoneNumber, "+1512") {
			t.Fatalf("contains search %+v", n)
		}
	}
	if len(contains) == 0 {
		t.Fatal("contains search found nothing")
	}
	other, _ := e.client.SearchNumbers(ctx, telnyx.NumberSearch{NationalDestinationCode: "808", Limit: 2})
	if len(other) != 2 || !strings.HasPrefix(other[0].PhoneNumber, "+1808") {
		t.Fatalf("unlisted area code %+v", other)
	}
	if none, _ := e.client.SearchNumbers(ctx, telnyx.NumberSearch{CountryCode: "CA"}); len(none) != 0 {
		t.Fatalf("non-US search %+v", none)
	}
	if def, _ := e.client.SearchNumbers(ctx, telnyx.NumberSearch{}); len(def) != 10 {
		t.Fatalf("default limit gave %d", len(def))
	}
}

func TestNumberOrderLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.sim.SetOrderDelay(time.Minute)
	prof, err := e.client.CreateMessagingProfile(ctx, telnyx.MessagingProfileRequest{
		Name: "Grace Chapel", WhitelistedDestinations: []string{"US"}, WebhookURL: e.hooks.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if !uuidRe.MatchString(prof.ID) || !prof.Enabled || prof.WebhookAPIVersion != "2" || prof.WebhookURL != e.hooks.srv.URL {
		t.Fatalf("profile %+v", prof)
	}

	avail, _ := e.client.SearchNumbers(ctx, telnyx.NumberSearch{NationalDestinationCode: "615", Limit: 1})
	phone := avail[0].PhoneNumber
	order, err := e.client.OrderNumbers(ctx, telnyx.NumberOrderRequest{PhoneNumbers: []string{phone}, CustomerReference: "tenant-1"})
	if err != nil {
		t.Fatal(err)
	}
	if order.Status != telnyx.OrderPending || len(order.PhoneNumbers) != 1 || order.PhoneNumbers[0].PhoneNumber != phone ||
		order.PhoneNumbers[0].ID == order.ID || order.CustomerReference != "tenant-1" {
		t.Fatalf("order %+v", order)
	}
	if _, err := e.client.OrderNumbers(ctx, telnyx.NumberOrderRequest{PhoneNumbers: []string{phone}}); err == nil {
		t.Fatal("ordering an owned number twice must fail")
	}

	owned, err := e.client.ListNumbers(ctx, phone)
	if err != nil || len(owned) != 1 || owned[0].Status != telnyx.NumberPurchasePending {
		t.Fatalf("owned %+v %v", owned, err)
	}
	id := owned[0].ID
	if id == order.ID || id == order.PhoneNumbers[0].ID {
		t.Fatalf("phone-number id %q must differ from the order's ids", id)
	}
	if o, _ := e.client.GetNumberOrder(ctx, order.ID); o.Status != telnyx.OrderPending {
		t.Fatalf("order before the delay: %s", o.Status)
	}
	e.clock.Advance(time.Minute)
	if o, _ := e.client.GetNumberOrder(ctx, order.ID); o.Status != telnyx.OrderSuccess || o.PhoneNumbers[0].Status != telnyx.OrderSuccess {
		t.Fatalf("order after the delay: %+v", o)
	}
	if owned, _ = e.client.ListNumbers(ctx, phone); owned[0].Status != telnyx.NumberActive {
		t.Fatalf("number after the delay: %+v", owned[0])
	}
	for _, n := range mustSearch(t, e, "615", 5) {
		if n.PhoneNumber == phone {
			t.Fatal("an owned number is still offered")
		}
	}

	n, err := e.client.UpdateNumberMessaging(ctx, id, prof.ID)
	if err != nil || n.MessagingProfileID != prof.ID || n.PhoneNumber != phone {
		t.Fatalf("update %+v %v", n, err)
	}
	if _, err := e.client.UpdateNumberMessaging(ctx, id, "no-such-profile"); err == nil {
		t.Fatal("an unknown profile must be refused")
	}

	// Sends from the number use its profile's webhooks; inbound to it too.
	m, err := e.client.SendMessage(ctx, telnyx.SendMessageRequest{From: phone, To: "+16155550199", Text: "hi"})
	if err != nil || m.MessagingProfileID != prof.ID {
		t.Fatalf("send %+v %v", m, err)
	}
	e.waitIdle(t)
	if got := strings.Join(e.hooks.types(), ","); got != "message.sent,message.finalized" {
		t.Fatalf("profile webhooks: %s", got)
	}
	if err := e.sim.Inbound(ctx, telnyxsim.InboundMessage{From: "+16155550199", To: phone, Text: "Amen"}); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.hooks.lastOf(telnyx.EventMessageReceived).Data.MessagePayload(); p.MessagingProfileID != prof.ID || p.Text != "Amen" {
		t.Fatalf("inbound via profile: %+v", p)
	}

	var te *telnyx.Error
	if err := e.client.ReleaseNumber(ctx, order.ID); !errors.As(err, &te) || te.Status != http.StatusNotFound {
		t.Fatalf("release by order id: %v, want 404", err)
	}
	if err := e.client.ReleaseNumber(ctx, id); err != nil {
		t.Fatal(err)
	}
	if owned, _ = e.client.ListNumbers(ctx, phone); len(owned) != 0 {
		t.Fatalf("released number still listed: %+v", owned)
	}
	if err := e.client.ReleaseNumber(ctx, id); !errors.As(err, &te) || te.Status != http.StatusNotFound {
		t.Fatalf("second release: %v", err)
	}
}

func mustSearch(t *testing.T, e *env, ndc string, limit int) []telnyx.AvailableNumber {
	t.Helper()
	got, err := e.client.SearchNumbers(context.Background(), telnyx.NumberSearch{NationalDestinationCode: ndc, Limit: limit})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestControlEndpoints(t *testing.T) {
	e := newEnv(t)
	post := func(path, body string) *http.Response {
		t.Helper()
		resp, err := http.Post(e.base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	resp, err := http.Get(e.base + "/sim/public-key")
	if err != nil {
		t.Fatal(err)
	}
	var pk struct {
		PublicKey string `json:"public_key"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&pk)
	resp.Body.Close()
	if key, err := telnyx.ParsePublicKey(pk.PublicKey); err != nil || !key.Equal(e.sim.PublicKey()) || pk.PublicKey != e.sim.PublicKeyBase64() {
		t.Fatalf("public key %q: %v", pk.PublicKey, err)
	}

	if r := post("/sim/outcome", `{"to":"+13125550199","kind":"fail","code":"40006"}`); r.StatusCode != http.StatusNoContent {
		t.Fatalf("outcome: %d", r.StatusCode)
	}
	if r := post("/sim/outcome", `{"to":"+13125550199","kind":"explode"}`); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad outcome: %d", r.StatusCode)
	}
	if _, err := e.send(t, "+13125550199", "hi"); err != nil {
		t.Fatal(err)
	}
	e.waitIdle(t)
	hooks := e.hooks.events()
	if p, _ := hooks[len(hooks)-1].Data.MessagePayload(); p.Status() != telnyx.StatusDeliveryFailed || p.Errors[0].Code != "40006" {
		t.Fatalf("outcome via /sim: %+v", p)
	}

	resp, err = http.Get(e.base + "/sim/messages?to=%2B13125550199")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Data []telnyxsim.SentMessage `json:"data"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list.Data) != 1 || list.Data[0].To != "+13125550199" || list.Data[0].Parts != 1 {
		t.Fatalf("messages %+v", list.Data)
	}

	in := `{"from":"+13125550199","to":"+13125550100","text":"STOP","webhook_url":"` + e.hooks.srv.URL + `"}`
	if r := post("/sim/inbound", in); r.StatusCode != http.StatusNoContent {
		t.Fatalf("inbound: %d", r.StatusCode)
	}
	if !e.sim.OptedOut("+13125550199") {
		t.Fatal("STOP via /sim/inbound did not block")
	}
	if r := post("/sim/inbound", `{"from":"+13125550199","to":"+13125550100","text":"x"}`); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("inbound without URL: %d", r.StatusCode)
	}

	if r := post("/sim/reset", ``); r.StatusCode != http.StatusNoContent {
		t.Fatalf("reset: %d", r.StatusCode)
	}
	if len(e.sim.Messages()) != 0 || e.sim.OptedOut("+13125550199") || len(e.sim.Webhooks()) != 0 {
		t.Fatal("reset left state behind")
	}
}

func TestEncodingAndParts(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		text, encoding, want string
		parts                int
	}{
		{strings.Repeat("a", 160), "", "GSM-7", 1},
		{strings.Repeat("a", 159) + "€", "", "GSM-7", 2},
		{strings.Repeat("Ж", 70), "", "UCS-2", 1},
		{strings.Repeat("Ж", 66) + "😀" + strings.Repeat("Ж", 66), "auto", "UCS-2", 3},
		{"plain", "ucs2", "UCS-2", 1},
		{strings.Repeat("Ж", 100), "gsm7", "GSM-7", 1},
	}
	for _, tt := range tests {
		m, err := e.client.SendMessage(context.Background(), telnyx.SendMessageRequest{
			From: "+13125550100", To: "+13125550199", Text: tt.text, Encoding: tt.encoding})
		if err != nil || m.Encoding != tt.want || m.Parts != tt.parts {
			t.Fatalf("%.20q/%s: %s %d parts (%v), want %s %d", tt.text, tt.encoding, m.Encoding, m.Parts, err, tt.want, tt.parts)
		}
	}
}
