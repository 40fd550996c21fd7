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
	"strings"
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

// church is a signed-up church with a number and its owner's access token.
type church struct {
	id, name, token, number string
}

// newChurch signs a church up through the API and gives it a number
// (none when number is "").
func newChurch(t *testing.T, s *testkit.Server, name, number string) *church {
	t.Helper()
	email := "owner@" + strings.ToLower(strings.ReplaceAll(name, " ", "-")) + ".example.org"
	r := s.Signup(t, name, email, "correct horse battery")
	var body struct {
		Tenant      struct{ ID string } `json:"tenant"`
		AccessToken string              `json:"access_token"`
	}
	decodeJSON(t, r.Raw, &body)
	if number != "" {
		if err := s.Tenancy.Registry.AssignNumber(context.Background(), body.Tenant.ID, number); err != nil {
			t.Fatalf("assign %s to %s: %v", number, name, err)
		}
	}
	return &church{id: body.Tenant.ID, name: name, token: body.AccessToken, number: number}
}

func decodeJSON(t testing.TB, raw string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		t.Fatalf("decode %q: %v", raw, err)
	}
}

// phone is the i-th test phone number (i < 10,000), in E.164.
func phone(i int) string { return fmt.Sprintf("+1312200%04d", i) }

// createMember adds a member; optedIn records that consent was collected
// (otherwise the member starts opted out). It returns the member's id. It
// goes through the store, not the API, which would also queue a welcome
// text: those are not what these tests are about, and they wait for the
// church's quiet hours, which depend on the time of day the test runs.
func createMember(t *testing.T, s *testkit.Server, c *church, first, phone string, optedIn bool) string {
	t.Helper()
	consent := steeple.Consent{Status: steeple.ConsentOptedOut, Source: steeple.ConsentSourceAdmin}
	if optedIn {
		consent = steeple.Consent{Status: steeple.ConsentOptedIn, Source: steeple.ConsentSourceAdmin, Wording: "Yes, text me"}
	}
	var id string
	withHandle(t, s, c.id, func(h *tenancy.Handle) {
		m, err := s.Store.CreateMember(context.Background(), h, store.MemberInput{FirstName: first, LastName: "Tester", Phone: phone}, consent)
		if err != nil {
			t.Fatalf("create member %s in %s: %v", first, c.name, err)
		}
		id = m.ID
	})
	return id
}

// getMember is GET /api/v1/members/{id}.
func getMember(t *testing.T, s *testkit.Server, c *church, id string) *steeple.Member {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/members/"+id, c.token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("get member %s: %d %s", id, r.Status, r.Raw)
	}
	var m steeple.Member
	decodeJSON(t, r.Raw, &m)
	return &m
}

// broadcastView is GET /api/v1/messages/{id}.
type broadcastView struct {
	Message    store.Broadcast         `json:"message"`
	Recipients []store.RecipientStatus `json:"recipients"`
}

// recipient returns a member's recipient row, or nil when the member is not one.
func (v *broadcastView) recipient(memberID string) *store.RecipientStatus {
	for i := range v.Recipients {
		if v.Recipients[i].MemberID == memberID {
			return &v.Recipients[i]
		}
	}
	return nil
}

// broadcastAll texts every member who may be texted and returns the id.
func broadcastAll(t *testing.T, s *testkit.Server, c *church, text string) string {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/messages", c.token, map[string]any{"text": text, "audience": map[string]any{"all": true}})
	if r.Status != http.StatusCreated {
		t.Fatalf("broadcast from %s: %d %s", c.name, r.Status, r.Raw)
	}
	var b struct{ ID string }
	decodeJSON(t, r.Raw, &b)
	return b.ID
}

func getBroadcast(t *testing.T, s *testkit.Server, c *church, id string) *broadcastView {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/messages/"+id, c.token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("get broadcast %s: %d %s", id, r.Status, r.Raw)
	}
	var v broadcastView
	decodeJSON(t, r.Raw, &v)
	return &v
}

// waitRecipient waits until a member's recipient status in a broadcast is
// want and returns the broadcast as it then stands.
func waitRecipient(t *testing.T, s *testkit.Server, c *church, broadcastID, memberID, want string) *broadcastView {
	t.Helper()
	var v *broadcastView
	eventually(t, 15*time.Second, func() string {
		v = getBroadcast(t, s, c, broadcastID)
		r := v.recipient(memberID)
		if r == nil {
			return fmt.Sprintf("member %s is not a recipient of %s: %+v", memberID, broadcastID, v.Recipients)
		}
		if r.Status != want {
			return fmt.Sprintf("%s's recipient %s is %q (%s %s); want %q", c.name, memberID, r.Status, r.ErrorCode, r.ErrorDetail, want)
		}
		return ""
	})
	// Read again: one answer's counts and recipient list come from two
	// reads, so the counts in the answer that first showed the status may
	// predate it.
	return getBroadcast(t, s, c, broadcastID)
}

// eventually polls cond (which returns "" once satisfied, else what is
// still wrong) every 25 ms, failing with its last answer after timeout.
func eventually(t testing.TB, timeout time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, msg)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// thread is GET /api/v1/conversations/{id}.
type thread struct {
	store.Conversation
	Messages   []store.ConversationMessage `json:"messages"`
	NextCursor string                      `json:"next_cursor"`
}

// only returns the thread's messages in one direction.
func (th *thread) only(direction string) []store.ConversationMessage {
	var out []store.ConversationMessage
	for _, m := range th.Messages {
		if m.Direction == direction {
			out = append(out, m)
		}
	}
	return out
}

// listConversations is GET /api/v1/conversations?query.
func listConversations(t *testing.T, s *testkit.Server, c *church, query string) []store.Conversation {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/conversations"+query, c.token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list %s's conversations: %d %s", c.name, r.Status, r.Raw)
	}
	var body struct {
		Conversations []store.Conversation `json:"conversations"`
	}
	decodeJSON(t, r.Raw, &body)
	return body.Conversations
}

func getThread(t *testing.T, s *testkit.Server, c *church, id string) *thread {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/conversations/"+id, c.token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("get %s's conversation %s: %d %s", c.name, id, r.Status, r.Raw)
	}
	var th thread
	decodeJSON(t, r.Raw, &th)
	return &th
}

// waitConversationWith waits until the church has a conversation with
// phone holding at least n messages, and returns its thread.
func waitConversationWith(t *testing.T, s *testkit.Server, c *church, phone string, n int) *thread {
	t.Helper()
	var th *thread
	eventually(t, 15*time.Second, func() string {
		for _, cv := range listConversations(t, s, c, "") {
			if cv.Phone == phone {
				th = getThread(t, s, c, cv.ID)
				if len(th.Messages) >= n {
					return ""
				}
				return fmt.Sprintf("%s's conversation with %s has %d messages; want %d", c.name, phone, len(th.Messages), n)
			}
		}
		return fmt.Sprintf("%s has no conversation with %s", c.name, phone)
	})
	// Read again: an answer's conversation and its messages come from two
	// reads, so the conversation in the answer that first showed the
	// messages may predate them (unread count, flag).
	return getThread(t, s, c, th.ID)
}

// churchConversations lists a church's conversations through the store
// (no token needed), at most 100.
func churchConversations(t testing.TB, s *testkit.Server, tenantID string) []*store.Conversation {
	t.Helper()
	var out []*store.Conversation
	withHandle(t, s, tenantID, func(h *tenancy.Handle) {
		cs, _, err := s.Store.Conversations(context.Background(), h, store.ConversationQuery{Limit: 100})
		if err != nil {
			t.Fatalf("conversations of %s: %v", tenantID, err)
		}
		out = cs
	})
	return out
}

func withHandle(t testing.TB, s *testkit.Server, tenantID string, fn func(h *tenancy.Handle)) {
	t.Helper()
	h, err := s.Tenancy.Manager.Acquire(context.Background(), tenantID)
	if err != nil {
		t.Fatalf("acquire %s: %v", tenantID, err)
	}
	defer h.Release()
	fn(h)
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

// sentTo returns what the simulator accepted for a phone, oldest first.
func sentTo(s *testkit.Server, to string) []telnyxsim.SentMessage {
	var out []telnyxsim.SentMessage
	for _, m := range s.Sim.Messages() {
		if m.To == to {
			out = append(out, m)
		}
	}
	return out
}

// registryCount runs a count query on the registry database.
func registryCount(t testing.TB, s *testkit.Server, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.Tenancy.Registry.DB().QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// storedEvents is how many event ids the registry keeps and how many
// webhook jobs were ever queued (River keeps finished jobs).
func storedEvents(t testing.TB, s *testkit.Server) (events, jobs int) {
	t.Helper()
	return registryCount(t, s, `SELECT COUNT(*) FROM webhook_events`),
		registryCount(t, s, `SELECT COUNT(*) FROM river_job WHERE kind = $1`, webhooks.EventArgs{}.Kind())
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

// waitMetric waits until a counter reaches want.
func waitMetric(t testing.TB, s *testkit.Server, eventType, outcome string, want float64) {
	t.Helper()
	eventually(t, 15*time.Second, func() string {
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
