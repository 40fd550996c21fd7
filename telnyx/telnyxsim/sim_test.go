package telnyxsim_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

// testClock is a sim clock that tests move by hand. It starts at the real
// time so that webhook signatures verify against time.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// receiver is a webhook endpoint that verifies every signature with the
// telnyx package and keeps the events it accepted.
type receiver struct {
	t      *testing.T
	sim    *telnyxsim.Sim
	srv    *httptest.Server
	mu     sync.Mutex
	status int // answer for every request (default 200)
	hooks  []*telnyx.Webhook
	bodies []string
}

func newReceiver(t *testing.T, sim *telnyxsim.Sim) *receiver {
	rc := &receiver{t: t, sim: sim, status: http.StatusOK}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	err := telnyx.VerifySignature(rc.sim.PublicKey(), r.Header.Get("telnyx-signature-ed25519"),
		r.Header.Get("telnyx-timestamp"), body, time.Now())
	if err != nil {
		rc.t.Errorf("webhook signature: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	hook, err := telnyx.ParseWebhook(body)
	if err != nil {
		rc.t.Errorf("webhook body: %v", err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.status/100 == 2 {
		rc.hooks = append(rc.hooks, hook)
		rc.bodies = append(rc.bodies, string(body))
	}
	w.WriteHeader(rc.status)
}

func (rc *receiver) setStatus(code int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.status = code
}

func (rc *receiver) events() []*telnyx.Webhook {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*telnyx.Webhook(nil), rc.hooks...)
}

// lastOf returns the latest accepted event of eventType, or nil.
func (rc *receiver) lastOf(eventType string) *telnyx.Webhook {
	hooks := rc.events()
	for i := len(hooks) - 1; i >= 0; i-- {
		if hooks[i].Data.EventType == eventType {
			return hooks[i]
		}
	}
	return nil
}

func (rc *receiver) types() []string {
	var out []string
	for _, h := range rc.events() {
		out = append(out, h.Data.EventType)
	}
	return out
}

// env is a simulator on a real listener, a client pointed at it, and a
// webhook receiver.
type env struct {
	sim    *telnyxsim.Sim
	base   string
	client *telnyx.Client
	clock  *testClock
	hooks  *receiver
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clock := &testClock{t: time.Now()}
	sim := telnyxsim.New(telnyxsim.Options{Clock: clock.Now, WebhookBackoff: time.Millisecond})
	base, stop, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return &env{
		sim: sim, base: base, clock: clock, hooks: newReceiver(t, sim),
		client: telnyx.New(telnyx.Config{BaseURL: base + "/v2", APIKey: "KEY_TEST"}),
	}
}

func (e *env) waitIdle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.sim.WaitIdle(ctx); err != nil {
		t.Fatalf("webhooks still pending: %v", err)
	}
}

func (e *env) send(t *testing.T, to, text string) (*telnyx.Message, error) {
	t.Helper()
	return e.client.SendMessage(context.Background(), telnyx.SendMessageRequest{
		From: "+13125550100", To: to, Text: text, WebhookURL: e.hooks.srv.URL + "/hook"})
}

var (
	uuidRe        = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	occurredAtRe  = regexp.MustCompile(`"occurred_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00"`)
	envelopeKeyRe = regexp.MustCompile(`^\{"data":\{"event_type":"[a-z.]+","id":"[^"]+","occurred_at":"[^"]+","payload":\{.*\},"record_type":"event"\},"meta":\{"attempt":\d+,"delivered_to":"[^"]+"\}\}$`)
)

func TestSendDeliversSignedSentThenFinalized(t *testing.T) {
	e := newEnv(t)
	text := strings.Repeat("a", 161)
	m, err := e.send(t, "+13125550199", text)
	if err != nil {
		t.Fatal(err)
	}
	if !uuidRe.MatchString(m.ID) || m.Status() != telnyx.StatusQueued || m.Parts != 2 || m.Encoding != "GSM-7" ||
		m.Direction != "outbound" || m.RecordType != "message" || m.Type != telnyx.TypeSMS || m.Cost == nil ||
		m.Cost.Amount != "0.0080" || m.ReceivedAt.IsZero() {
		t.Fatalf("answer %+v", m)
	}
	e.waitIdle(t)

	if got := e.hooks.types(); strings.Join(got, ",") != "message.sent,message.finalized" {
		t.Fatalf("events %v", got)
	}
	hooks := e.hooks.events()
	if hooks[0].Data.ID == hooks[1].Data.ID || !uuidRe.MatchString(hooks[0].Data.ID) {
		t.Fatalf("event ids %q %q", hooks[0].Data.ID, hooks[1].Data.ID)
	}
	for i, want := range []string{telnyx.StatusSent, telnyx.StatusDelivered} {
		h := hooks[i]
		p, err := h.Data.MessagePayload()
		if err != nil {
			t.Fatal(err)
		}
		if p.ID != m.ID || p.Status() != want || p.Text != text || p.Parts != 2 || len(p.Errors) != 0 ||
			h.Data.RecordType != "event" || h.Meta.Attempt != 1 || h.Meta.DeliveredTo != e.hooks.srv.URL+"/hook" {
			t.Fatalf("event %d: %+v payload %+v", i, h, p)
		}
		body := e.hooks.bodies[i]
		if !occurredAtRe.MatchString(body) || !envelopeKeyRe.MatchString(body) {
			t.Fatalf("envelope shape: %s", body)
		}
	}
	if p, _ := hooks[1].Data.MessagePayload(); p.CompletedAt == nil || p.SentAt == nil {
		t.Fatalf("finalized without sent_at/completed_at: %+v", p)
	}

	msgs := e.sim.Messages()
	if len(msgs) != 1 || msgs[0].ID != m.ID || msgs[0].Text != text || msgs[0].WebhookURL != e.hooks.srv.URL+"/hook" ||
		!msgs[0].ReceivedAt.Equal(e.clock.Now()) || e.sim.CountTo("+13125550199") != 1 || e.sim.CountTo("+13125550198") != 0 {
		t.Fatalf("recorded %+v", msgs)
	}
	if ws := e.sim.Webhooks(); len(ws) != 2 || !ws[0].OK || ws[0].MessageID != m.ID {
		t.Fatalf("Webhooks() = %+v", ws)
	}
}

func TestFailureOutcomes(t *testing.T) {
	tests := []struct {
		name    string
		outcome telnyxsim.Outcome
		events  string
		status  string
		code    string
	}{
		{"delivery failed", telnyxsim.Outcome{Kind: telnyxsim.Fail, Code: "40008"}, "message.sent,message.finalized", telnyx.StatusDeliveryFailed, "40008"},
		{"default code", telnyxsim.Outcome{Kind: telnyxsim.Fail}, "message.sent,message.finalized", telnyx.StatusDeliveryFailed, "40008"},
		{"sending failed", telnyxsim.Outcome{Kind: telnyxsim.Fail, Code: "40010", Status: telnyx.StatusSendingFailed}, "message.finalized", telnyx.StatusSendingFailed, "40010"},
		{"delayed delivery", telnyxsim.Outcome{Kind: telnyxsim.Deliver, Delay: 20 * time.Millisecond}, "message.sent,message.finalized", telnyx.StatusDelivered, ""},
		{"never finalized", telnyxsim.Outcome{Kind: telnyxsim.NeverFinalize}, "message.sent", telnyx.StatusSent, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.sim.SetOutcome("+13125550199", tt.outcome)
			if _, err := e.send(t, "+13125550199", "hello"); err != nil {
				t.Fatal(err)
			}
			e.waitIdle(t)
			if got := strings.Join(e.hooks.types(), ","); got != tt.events {
				t.Fatalf("events %s, want %s", got, tt.events)
			}
			hooks := e.hooks.events()
			p, _ := hooks[len(hooks)-1].Data.MessagePayload()
			if p.Status() != tt.status {
				t.Fatalf("status %q, want %q", p.Status(), tt.status)
			}
			if tt.code != "" && (len(p.Errors) != 1 || p.Errors[0].Code != tt.code || p.Errors[0].Title == "") {
				t.Fatalf("errors %+v, want code %s", p.Errors, tt.code)
			}
			// Other destinations keep the default outcome.
			e.hooks.mu.Lock()
			e.hooks.hooks = nil
			e.hooks.mu.Unlock()
			if _, err := e.send(t, "+13125550177", "hello"); err != nil {
				t.Fatal(err)
			}
			e.waitIdle(t)
			hooks = e.hooks.events()
			if p, _ := hooks[len(hooks)-1].Data.MessagePayload(); p.Status() != telnyx.StatusDelivered {
				t.Fatalf("default outcome changed: %q", p.Status())
			}
		})
	}
}

func TestWebhookRetriesThenFailover(t *testing.T) {
	e := newEnv(t)
	primary := newReceiver(t, e.sim)
	primary.setStatus(http.StatusInternalServerError)
	e.sim.SetOutcome("*", telnyxsim.Outcome{Kind: telnyxsim.NeverFinalize})
	m, err := e.client.SendMessage(context.Background(), telnyx.SendMessageRequest{
		From: "+13125550100", To: "+13125550199", Text: "hi",
		WebhookURL: primary.srv.URL, WebhookFailoverURL: e.hooks.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	e.waitIdle(t)
	ws := e.sim.Webhooks()
	if len(ws) != 4 {
		t.Fatalf("%d attempts, want 3 on the primary and 1 on the failover: %+v", len(ws), ws)
	}
	for i, w := range ws {
		wantURL, wantOK := primary.srv.URL, false
		if i == 3 {
			wantURL, wantOK = e.hooks.srv.URL, true
		}
		if w.URL != wantURL || w.OK != wantOK || w.Attempt != i+1 || w.EventID != ws[0].EventID || w.MessageID != m.ID {
			t.Fatalf("attempt %d: %+v", i, w)
		}
	}
	if hooks := e.hooks.events(); len(hooks) != 1 || hooks[0].Meta.Attempt != 4 || hooks[0].Meta.DeliveredTo != e.hooks.srv.URL {
		t.Fatalf("failover got %+v", hooks)
	}
}

func TestSendValidation(t *testing.T) {
	e := newEnv(t)
	media := func(n int) []string {
		var out []string
		for i := 0; i < n; i++ {
			out = append(out, "https://media.test/x.jpg")
		}
		return out
	}
	tests := []struct {
		name string
		req  telnyx.SendMessageRequest
		code string
	}{
		{"missing to", telnyx.SendMessageRequest{From: "+13125550100", Text: "hi"}, "40310"},
		{"to not E.164", telnyx.SendMessageRequest{From: "+13125550100", To: "3125550199", Text: "hi"}, "40310"},
		{"to too short", telnyx.SendMessageRequest{From: "+13125550100", To: "+1312", Text: "hi"}, "40310"},
		{"bad from", telnyx.SendMessageRequest{From: "not a sender!", To: "+13125550199", Text: "hi"}, "40305"},
		{"no content", telnyx.SendMessageRequest{From: "+13125550100", To: "+13125550199"}, "40316"},
		{"11 media", telnyx.SendMessageRequest{From: "+13125550100", To: "+13125550199", MediaURLs: media(11)}, "40317"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.SendMessage(context.Background(), tt.req)
			var te *telnyx.Error
			if !errors.As(err, &te) || te.Status != http.StatusBadRequest || te.Code != tt.code || telnyx.Retryable(err) {
				t.Fatalf("err = %v, want 400 code %s", err, tt.code)
			}
			if (tt.code == "40310") != telnyx.IsInvalidTo(err) {
				t.Fatalf("IsInvalidTo = %v", telnyx.IsInvalidTo(err))
			}
		})
	}
	m, err := e.client.SendMessage(context.Background(), telnyx.SendMessageRequest{
		From: "Grace", To: "+13125550199", MediaURLs: media(10)})
	if err != nil || m.Type != telnyx.TypeMMS || len(m.Media) != 10 {
		t.Fatalf("10 media from an alphanumeric sender: %+v %v", m, err)
	}
	if len(e.sim.Messages()) != 1 {
		t.Fatalf("rejected sends were recorded: %+v", e.sim.Messages())
	}
}

func TestOptOutBlocksSends(t *testing.T) {
	e := newEnv(t)
	e.sim.OptOut("+13125550199")
	_, err := e.send(t, "+13125550199", "hi")
	var te *telnyx.Error
	if !telnyx.IsOptOut(err) || !errors.As(err, &te) || te.Status != 400 || te.Title != "Blocked due to STOP message" {
		t.Fatalf("err = %v, want 40300", err)
	}
	if e.sim.CountTo("+13125550199") != 0 {
		t.Fatal("a blocked send was recorded")
	}
	e.sim.OptIn("+13125550199")
	if _, err := e.send(t, "+13125550199", "hi"); err != nil {
		t.Fatal(err)
	}
}

func TestInboundStopCreatesProviderBlock(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	member, ours := "+13125550199", "+13125550100"
	in := func(text string) *telnyx.MessagePayload {
		t.Helper()
		if err := e.sim.Inbound(ctx, telnyxsim.InboundMessage{From: member, To: ours, Text: text, WebhookURL: e.hooks.srv.URL}); err != nil {
			t.Fatal(err)
		}
		h := e.hooks.lastOf(telnyx.EventMessageReceived)
		if h == nil {
			t.Fatal("no message.received event")
		}
		p, err := h.Data.MessagePayload()
		if err != nil {
			t.Fatal(err)
		}
		if p.Direction != "inbound" || p.From.PhoneNumber != member || p.To[0].PhoneNumber != ours ||
			p.Status() != telnyx.StatusWebhookDelivered || p.Text != text || p.ReceivedAt == nil || p.Parts != 1 {
			t.Fatalf("payload %+v", p)
		}
		return p
	}
	if p := in("See you Sunday"); p.AutoresponseType != "" {
		t.Fatalf("plain text matched keyword %q", p.AutoresponseType)
	}
	if p := in(" Stop  all "); p.AutoresponseType != telnyx.AutoresponseStop {
		t.Fatalf("autoresponse_type %q", p.AutoresponseType)
	}
	if _, err := e.send(t, member, "Service at 10"); !telnyx.IsOptOut(err) {
		t.Fatalf("send after STOP: %v, want 40300", err)
	}
	if p := in("UNSTOP"); p.AutoresponseType != telnyx.AutoresponseStart {
		t.Fatalf("autoresponse_type %q", p.AutoresponseType)
	}
	if _, err := e.send(t, member, "Welcome back"); err != nil {
		t.Fatal(err)
	}
	e.waitIdle(t)
	for _, kw := range []string{"STOP", "stopall", "UNSUBSCRIBE", "cancel", "END", "Quit"} {
		e.sim.OptIn(member)
		in(kw)
		if !e.sim.OptedOut(member) {
			t.Fatalf("%q did not block", kw)
		}
	}
	if p := in("help"); p.AutoresponseType != telnyx.AutoresponseHelp {
		t.Fatalf("autoresponse_type %q", p.AutoresponseType)
	}

	// MMS inbound carries its media.
	err := e.sim.Inbound(ctx, telnyxsim.InboundMessage{From: member, To: ours, WebhookURL: e.hooks.srv.URL,
		Media: []telnyxsim.Media{{URL: "https://media.test/1.jpg", ContentType: "image/jpeg", Size: 2048, HashSHA256: "ab12"}}})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := e.hooks.lastOf(telnyx.EventMessageReceived).Data.MessagePayload()
	if p.Type != telnyx.TypeMMS || len(p.Media) != 1 || p.Media[0].Size != 2048 || p.Media[0].ContentType != "image/jpeg" {
		t.Fatalf("mms payload %+v", p)
	}

	// Nowhere to deliver, and a receiver that keeps failing.
	if err := e.sim.Inbound(ctx, telnyxsim.InboundMessage{From: member, To: ours, Text: "hi"}); !errors.Is(err, telnyxsim.ErrNoWebhookURL) {
		t.Fatalf("no URL: %v", err)
	}
	e.hooks.setStatus(http.StatusServiceUnavailable)
	if err := e.sim.Inbound(ctx, telnyxsim.InboundMessage{From: member, To: ours, Text: "hi", WebhookURL: e.hooks.srv.URL}); err == nil {
		t.Fatal("a failing receiver must surface an error")
	}
}
