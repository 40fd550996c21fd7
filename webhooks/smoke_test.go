package webhooks_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

func TestSmokeInboundAndReply(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		r := s.Signup(t, "Grace Chapel", "owner@grace.org", "correct horse battery")
		var body struct {
			Tenant      struct{ ID string } `json:"tenant"`
			AccessToken string              `json:"access_token"`
		}
		_ = json.Unmarshal([]byte(r.Raw), &body)
		if err := s.Tenancy.Registry.AssignNumber(ctx, body.Tenant.ID, "+13125550100"); err != nil {
			t.Fatal(err)
		}
		m := s.Do(t, "POST", "/api/v1/members", body.AccessToken, map[string]any{"first_name": "Ann", "phone": "+13122000001",
			"consent": map[string]any{"opted_in": true, "wording": "yes"}})
		if m.Status != http.StatusCreated {
			t.Fatal(m.Raw)
		}
		if err := s.Sim.Inbound(ctx, telnyxsim.InboundMessage{From: "+13122000001", To: "+13125550100", Text: "Hello pastor",
			WebhookURL: s.URL + "/webhooks/telnyx"}); err != nil {
			t.Fatal(err)
		}
		var list *testkit.Response
		for i := 0; i < 100; i++ {
			list = s.Do(t, "GET", "/api/v1/conversations", body.AccessToken, nil)
			if cs, _ := list.Body["conversations"].([]any); len(cs) == 1 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Log(list.Raw)
		cs, _ := list.Body["conversations"].([]any)
		if len(cs) != 1 {
			t.Fatalf("no conversation: %s", list.Raw)
		}
		id := cs[0].(map[string]any)["id"].(string)
		rep := s.Do(t, "POST", "/api/v1/conversations/"+id+"/messages", body.AccessToken, map[string]any{"text": "Hi Ann"})
		if rep.Status != http.StatusCreated {
			t.Fatal(rep.Raw)
		}
		var th *testkit.Response
		for i := 0; i < 100; i++ {
			th = s.Do(t, "GET", "/api/v1/conversations/"+id, body.AccessToken, nil)
			if ms, _ := th.Body["messages"].([]any); len(ms) == 2 && ms[0].(map[string]any)["status"] == "delivered" {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Log(th.Raw)
		if s.Sim.CountTo("+13122000001") != 1 {
			t.Fatalf("sim count %d", s.Sim.CountTo("+13122000001"))
		}
	})
}
