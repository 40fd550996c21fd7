// End-to-end tests of the webhook path: provider events in through
// POST /webhooks/telnyx, applied by the job queue to exactly one church,
// read back through the API, with the Telnyx simulator as the provider.
// Every test runs on SQLite and PostgreSQL. TestCoreIsolation (200
// churches) runs first; the others then run in parallel (at most
// GOMAXPROCS at a time, go test's default): most of their time is
// PostgreSQL creating and dropping databases, not CPU.
package webhooks_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
	"github.com/steeple-sms/steeple/tenancy"
	"github.com/steeple-sms/steeple/webhooks"
)

// waitRecipient waits until a member's recipient status in a broadcast is
// want and returns the broadcast as it then stands.
func waitRecipient(t *testing.T, s *testkit.Server, c *testkit.Church, broadcastID, memberID string, want steeple.RecipientStatus) *testkit.BroadcastView {
	t.Helper()
	var v *testkit.BroadcastView
	testkit.Eventually(t, 15*time.Second, func() string {
		v = c.API(s).GetBroadcast(t, broadcastID)
		r := v.Recipient(memberID)
		if r == nil {
			return fmt.Sprintf("member %s is not a recipient of %s: %+v", memberID, broadcastID, v.Recipients)
		}
		if r.Status != want {
			return fmt.Sprintf("%s's recipient %s is %q (%s %s); want %q", c.Name, memberID, r.Status, r.ErrorCode, r.ErrorDetail, want)
		}
		return ""
	})
	// Read again: one answer's counts and recipient list come from two
	// reads, so the counts in the answer that first showed the status may
	// predate it.
	return c.API(s).GetBroadcast(t, broadcastID)
}

// waitConversationWith waits until the church has a conversation with
// phone holding at least n messages, and returns its thread.
func waitConversationWith(t *testing.T, s *testkit.Server, c *testkit.Church, phone string, n int) *testkit.Thread {
	t.Helper()
	var th *testkit.Thread
	testkit.Eventually(t, 15*time.Second, func() string {
		for _, cv := range c.API(s).Conversations(t, "") {
			if cv.Phone == phone {
				th = c.API(s).Thread(t, cv.ID)
				if len(th.Messages) >= n {
					return ""
				}
				return fmt.Sprintf("%s's conversation with %s has %d messages; want %d", c.Name, phone, len(th.Messages), n)
			}
		}
		return fmt.Sprintf("%s has no conversation with %s", c.Name, phone)
	})
	// Read again: an answer's conversation and its messages come from two
	// reads, so the conversation in the answer that first showed the
	// messages may predate them (unread count, flag).
	return c.API(s).Thread(t, th.ID)
}

// churchConversations lists a church's conversations through the store
// (no token needed), at most 100.
func churchConversations(t testing.TB, s *testkit.Server, tenantID string) []*store.Conversation {
	t.Helper()
	var out []*store.Conversation
	s.WithHandle(t, tenantID, func(h *tenancy.Handle) {
		cs, _, err := s.Store.Conversations(context.Background(), h, store.ConversationQuery{Limit: 100})
		if err != nil {
			t.Fatalf("conversations of %s: %v", tenantID, err)
		}
		out = cs
	})
	return out
}

// inbound has the simulator deliver a text from a phone to a church's number.
func inbound(t *testing.T, s *testkit.Server, from, to, text string, media ...telnyxsim.Media) {
	t.Helper()
	err := s.Sim.Inbound(context.Background(), telnyxsim.InboundMessage{From: from, To: to, Text: text, Media: media,
		WebhookURL: s.URL + "/webhooks/telnyx"})
	if err != nil {
		t.Fatalf("inbound %q from %s to %s: %v", text, from, to, err)
	}
}

// storedEvents is how many event ids the registry keeps and how many
// webhook jobs were ever queued (River keeps finished jobs).
func storedEvents(t testing.TB, s *testkit.Server) (events, jobs int) {
	t.Helper()
	return s.RegistryCount(t, `SELECT COUNT(*) FROM webhook_events`), s.JobCount(t, webhooks.EventArgs{}.Kind())
}

// metric reads steeple_webhook_events_total{type, outcome}.
func metric(t testing.TB, s *testkit.Server, eventType, outcome string) float64 {
	t.Helper()
	mfs, err := s.Metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "steeple_webhook_events_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			if got["type"] == eventType && got["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// waitMetric waits until a counter reaches want. The event is applied by a
// queue worker: with CI's browser tests beside it on two cores that has
// taken over 15 s (on PostgreSQL), so the wait is 30 s.
func waitMetric(t testing.TB, s *testkit.Server, eventType, outcome string, want float64) {
	t.Helper()
	testkit.Eventually(t, 30*time.Second, func() string {
		if got := metric(t, s, eventType, outcome); got != want {
			return fmt.Sprintf("steeple_webhook_events_total{type=%q,outcome=%q} = %v; want %v", eventType, outcome, got, want)
		}
		return ""
	})
}

// signer signs webhooks with a key of the test's own; servers built with
// its options verify with it (and refuse the simulator's own webhooks).
type signer struct {
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func newSigner(t testing.TB) *signer {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &signer{pub: pub, priv: priv}
}

// options configures a server to verify with this key; extra tweaks the
// rest of the webhook configuration.
func (k *signer) options(extra func(*webhooks.Config)) testkit.ServerOptions {
	return testkit.ServerOptions{Webhooks: func(c *webhooks.Config) {
		c.PublicKey = k.pub
		if extra != nil {
			extra(c)
		}
	}}
}

// headers signs body as sent at ts.
func (k *signer) headers(ts time.Time, body []byte) map[string]string {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	return map[string]string{telnyx.HeaderSignature: telnyx.Sign(k.priv, stamp, body), telnyx.HeaderTimestamp: stamp}
}

// post sends body signed now and returns the answer's status and outcome.
func (k *signer) post(t testing.TB, s *testkit.Server, body []byte) (int, string) {
	t.Helper()
	return postWebhook(t, s, k.headers(time.Now(), body), body)
}

// mustAccept posts body signed now and fails unless it is accepted.
func (k *signer) mustAccept(t testing.TB, s *testkit.Server, body []byte) {
	t.Helper()
	if code, outcome := k.post(t, s, body); code != http.StatusOK || outcome != webhooks.OutcomeAccepted {
		t.Fatalf("webhook answered %d %q; want 200 accepted", code, outcome)
	}
}

// postWebhook posts body to /webhooks/telnyx with the given headers and
// returns the status and the "status" field of the answer (the outcome),
// or the error code for a refusal.
func postWebhook(t testing.TB, s *testkit.Server, headers map[string]string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/webhooks/telnyx", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post webhook: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var answer struct {
		Status string `json:"status"`
		Error  struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(raw, &answer)
	if answer.Status != "" {
		return resp.StatusCode, answer.Status
	}
	return resp.StatusCode, answer.Error.Code
}

// newUUID returns a random UUID-shaped id, as Telnyx uses for events and messages.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// telnyxTime formats a time as Telnyx does.
func telnyxTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000+00:00") }

// eventBody is a webhook envelope as Telnyx posts it.
func eventBody(t testing.TB, eventID, eventType string, occurred time.Time, payload any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"data": map[string]any{"event_type": eventType, "id": eventID, "occurred_at": telnyxTime(occurred),
			"payload": payload, "record_type": "event"},
		"meta": map[string]any{"attempt": 1, "delivered_to": "https://steeple.example/webhooks/telnyx"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// inboundPayload is a message.received payload.
func inboundPayload(msgID, from, to, text, autoresponse string, media ...map[string]any) map[string]any {
	typ := "SMS"
	if len(media) > 0 {
		typ = "MMS"
	}
	if media == nil {
		media = []map[string]any{}
	}
	p := map[string]any{"record_type": "message", "id": msgID, "direction": "inbound", "type": typ,
		"from": map[string]any{"phone_number": from, "carrier": "T-MOBILE USA, INC.", "line_type": "Wireless"},
		"to":   []map[string]any{{"phone_number": to, "status": "webhook_delivered"}},
		"text": text, "media": media, "errors": []any{}, "received_at": telnyxTime(time.Now())}
	if autoresponse != "" {
		p["autoresponse_type"] = autoresponse
	}
	return p
}

// receiptPayload is a message.sent or message.finalized payload for a text
// the simulator accepted: status is the to[] status ("sent", "delivered",
// "delivery_failed"…), webhookURL the URL the payload names.
func receiptPayload(m telnyxsim.SentMessage, status, webhookURL string, sentAt, completedAt time.Time, errs ...map[string]any) map[string]any {
	if errs == nil {
		errs = []map[string]any{}
	}
	p := map[string]any{"record_type": "message", "id": m.ID, "direction": "outbound", "type": m.Type,
		"from": map[string]any{"phone_number": m.From, "carrier": "TELNYX LLC", "line_type": "VoIP"},
		"to":   []map[string]any{{"phone_number": m.To, "status": status}},
		"text": m.Text, "media": []any{}, "errors": errs, "webhook_url": webhookURL,
		"sent_at": telnyxTime(sentAt)}
	if !completedAt.IsZero() {
		p["completed_at"] = telnyxTime(completedAt)
	}
	return p
}

// counter reads an unlabelled counter of the server's (0 if absent).
func counter(t testing.TB, s *testkit.Server, name string) float64 {
	t.Helper()
	mfs, err := s.Metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

// waitApplied waits until applied members' texts have been applied and
// jobs webhook jobs are left (those of texts applied after their answer
// are taken back).
func waitApplied(t *testing.T, s *testkit.Server, applied float64, jobs int) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, func() string {
		if got := metric(t, s, telnyx.EventMessageReceived, webhooks.OutcomeApplied); got != applied {
			return fmt.Sprintf("%v texts applied; want %v", got, applied)
		}
		if n := s.JobCount(t, webhooks.EventArgs{}.Kind()); n != jobs {
			return fmt.Sprintf("%d webhook jobs; want %d", n, jobs)
		}
		return ""
	})
}
