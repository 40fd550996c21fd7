package webhooks_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/webhooks"
)

// Every way a webhook can be refused (or ignored) writes nothing: no
// conversation in any church, no event id, no queued job. Then the same
// valid event posted three times (and eight times at once) has one effect;
// the same text under a new event id is stored once; ten texts at once
// from a new contact make one conversation; 256 KiB exactly is accepted.
func TestRejectedWebhooksWriteNothing(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		k := newSigner(t)
		s := testkit.NewServer(t, b, k.options(nil))
		a := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100"})
		other := s.Church(t, testkit.ChurchOptions{Name: "Hope Fellowship", Number: "+13125550200"})
		p := testkit.Phone(7)
		s.AddMember(t, a.ID, testkit.MemberOptions{FirstName: "Ann", Phone: p, OptedIn: true})
		s.AddMember(t, other.ID, testkit.MemberOptions{FirstName: "Ann", Phone: p, OptedIn: true})

		eventID, msgID := newUUID(), newUUID()
		valid := eventBody(t, eventID, telnyx.EventMessageReceived, time.Now(),
			inboundPayload(msgID, p, a.Number, "Is the pantry open Saturday?", ""))
		now := time.Now()
		otherKey := newSigner(t)
		forged := make([]byte, 64)
		_, _ = rand.Read(forged)
		stamp := strconv.FormatInt(now.Unix(), 10)
		tampered := bytes.Replace(valid, []byte("Saturday"), []byte("Saturdax"), 1)
		huge := sizedInbound(t, 256<<10+1, p, a.Number) // one byte over 256 KiB
		malformed := []byte(`{"data":{"event_type":"message.received","id":"` + newUUID() + `"`)
		noID := []byte(`{"data":{"event_type":"message.received","payload":{}}}`)
		otherType := eventBody(t, newUUID(), "call.initiated", now, map[string]any{"call_control_id": "v3:abc"})
		payloadNotObject := eventBody(t, newUUID(), telnyx.EventMessageReceived, now, "hello")
		payloadNoID := eventBody(t, newUUID(), telnyx.EventMessageFinalized, now, map[string]any{"to": []any{}})
		brandNotObject := eventBody(t, newUUID(), telnyx.Event10DLCBrandUpdate, now, []any{1, 2})

		cases := []struct {
			name    string
			headers map[string]string
			body    []byte
			status  int
			outcome string // the counter's outcome label
			typ     string // the counter's type label
		}{
			{"forged signature", map[string]string{telnyx.HeaderSignature: base64.StdEncoding.EncodeToString(forged),
				telnyx.HeaderTimestamp: stamp}, valid, http.StatusUnauthorized, webhooks.OutcomeBadSignature, ""},
			{"signed with another key", otherKey.headers(now, valid), valid, http.StatusUnauthorized, webhooks.OutcomeBadSignature, ""},
			{"body changed after signing", k.headers(now, valid), tampered, http.StatusUnauthorized, webhooks.OutcomeBadSignature, ""},
			{"signature of another timestamp", map[string]string{telnyx.HeaderSignature: k.headers(now, valid)[telnyx.HeaderSignature],
				telnyx.HeaderTimestamp: strconv.FormatInt(now.Unix()-1, 10)}, valid, http.StatusUnauthorized, webhooks.OutcomeBadSignature, ""},
			{"stale timestamp (-301 s)", k.headers(now.Add(-301*time.Second), valid), valid, http.StatusUnauthorized, webhooks.OutcomeStale, ""},
			// (+330, not +301: the cases run seconds after now on a loaded
			// machine, which brings a future stamp closer.)
			{"future timestamp (+330 s)", k.headers(now.Add(330*time.Second), valid), valid, http.StatusUnauthorized, webhooks.OutcomeStale, ""},
			{"no headers", nil, valid, http.StatusUnauthorized, webhooks.OutcomeBadSignature, ""},
			{"no signature header", map[string]string{telnyx.HeaderTimestamp: stamp}, valid, http.StatusUnauthorized, webhooks.OutcomeBadSignature, ""},
			{"no timestamp header", map[string]string{telnyx.HeaderSignature: k.headers(now, valid)[telnyx.HeaderSignature]}, valid,
				http.StatusUnauthorized, webhooks.OutcomeStale, ""},
			{"malformed JSON, validly signed", k.headers(now, malformed), malformed, http.StatusBadRequest, webhooks.OutcomeMalformed, ""},
			{"no event id, validly signed", k.headers(now, noID), noID, http.StatusBadRequest, webhooks.OutcomeMalformed, ""},
			{"message payload not an object, validly signed", k.headers(now, payloadNotObject), payloadNotObject,
				http.StatusBadRequest, webhooks.OutcomeMalformed, telnyx.EventMessageReceived},
			{"receipt payload without a message id, validly signed", k.headers(now, payloadNoID), payloadNoID,
				http.StatusBadRequest, webhooks.OutcomeMalformed, telnyx.EventMessageFinalized},
			{"10DLC payload not an object, validly signed", k.headers(now, brandNotObject), brandNotObject,
				http.StatusBadRequest, webhooks.OutcomeMalformed, telnyx.Event10DLCBrandUpdate},
			{"oversized body, validly signed", k.headers(now, huge), huge, http.StatusRequestEntityTooLarge, webhooks.OutcomeTooLarge, ""},
			{"unknown event type, validly signed", k.headers(now, otherType), otherType, http.StatusOK, webhooks.OutcomeIgnored, "other"},
		}
		want := map[[2]string]float64{}
		for _, c := range cases {
			code, outcome := postWebhook(t, s, c.headers, c.body)
			if code != c.status {
				t.Errorf("%s: answered %d %q; want %d", c.name, code, outcome, c.status)
			}
			if c.status == http.StatusOK && outcome != c.outcome {
				t.Errorf("%s: outcome %q; want %q", c.name, outcome, c.outcome)
			}
			want[[2]string{c.typ, c.outcome}]++
		}
		for l, n := range want {
			if got := metric(t, s, l[0], l[1]); got != n {
				t.Errorf("steeple_webhook_events_total{type=%q,outcome=%q} = %v; want %v", l[0], l[1], got, n)
			}
		}
		if got := metric(t, s, telnyx.EventMessageReceived, webhooks.OutcomeAccepted); got != 0 {
			t.Errorf("%v events accepted; want none", got)
		}
		if ev, jobs := storedEvents(t, s); ev != 0 || jobs != 0 {
			t.Fatalf("after refusals the registry holds %d event ids and %d webhook jobs; want none", ev, jobs)
		}
		// Nothing could have been applied without a job, but look anyway,
		// after giving a stray job time to run.
		time.Sleep(200 * time.Millisecond)
		for _, c := range []*testkit.Church{a, other} {
			if cs := churchConversations(t, s, c.ID); len(cs) != 0 {
				t.Fatalf("%s has conversations after refused webhooks: %+v", c.Name, cs)
			}
		}

		// The same event three times: accepted once, one text. With the
		// church's connection free it is applied on arrival: its id is
		// kept, no job is queued.
		var outcomes []string
		for i := 0; i < 3; i++ {
			code, outcome := k.post(t, s, valid)
			if code != http.StatusOK {
				t.Fatalf("post %d of the valid event: %d %q", i+1, code, outcome)
			}
			outcomes = append(outcomes, outcome)
		}
		if strings.Join(outcomes, ",") != "accepted,duplicate,duplicate" {
			t.Fatalf("the same event three times answered %v; want accepted, duplicate, duplicate", outcomes)
		}
		waitMetric(t, s, telnyx.EventMessageReceived, webhooks.OutcomeApplied, 1)
		th := waitConversationWith(t, s, a, p, 1)
		if len(th.Messages) != 1 || th.Unread != 1 || th.Messages[0].Body != "Is the pantry open Saturday?" {
			t.Fatalf("after one event sent three times the thread is %+v (unread %d); want one text, unread 1", th.Messages, th.Unread)
		}
		if ev, jobs := storedEvents(t, s); ev != 1 || jobs != 0 {
			t.Fatalf("registry holds %d event ids and %d webhook jobs; want 1 and 0", ev, jobs)
		}
		if got := metric(t, s, telnyx.EventMessageReceived, webhooks.OutcomeDuplicate); got != 2 {
			t.Fatalf("duplicates counted %v; want 2", got)
		}

		// The same text under a new event id (a provider re-sending the
		// message itself) is accepted but stored once.
		again := eventBody(t, newUUID(), telnyx.EventMessageReceived, time.Now(),
			inboundPayload(msgID, p, a.Number, "Is the pantry open Saturday?", ""))
		k.mustAccept(t, s, again)
		waitMetric(t, s, telnyx.EventMessageReceived, webhooks.OutcomeDuplicate, 3)
		th = a.API(s).Thread(t, th.ID)
		if len(th.Messages) != 1 || th.Unread != 1 {
			t.Fatalf("the same provider message under a new event id changed the thread: %+v (unread %d)", th.Messages, th.Unread)
		}
		if cs := churchConversations(t, s, other.ID); len(cs) != 0 {
			t.Fatalf("%s has conversations: %+v", other.Name, cs)
		}

		// The same event delivered concurrently (a provider retrying while
		// the first attempt is in flight) is still accepted once.
		burst := eventBody(t, newUUID(), telnyx.EventMessageReceived, time.Now(),
			inboundPayload(newUUID(), testkit.Phone(7), a.Number, "Burst", ""))
		answers := make([]string, 8)
		var wg sync.WaitGroup
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, outcome := k.post(t, s, burst)
				answers[i] = strconv.Itoa(code) + " " + outcome
			}()
		}
		wg.Wait()
		sort.Strings(answers)
		if strings.Join(answers, ",") != "200 accepted,"+strings.Repeat("200 duplicate,", 6)+"200 duplicate" {
			t.Fatalf("one event posted 8 times at once answered %v; want one accepted, 7 duplicates", answers)
		}
		// Ten different texts at once from one new contact: one
		// conversation holding all ten, ten unread.
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if code, outcome := k.post(t, s, eventBody(t, newUUID(), telnyx.EventMessageReceived, time.Now(),
					inboundPayload(newUUID(), testkit.Phone(6), a.Number, fmt.Sprintf("Text %d", i), ""))); code != http.StatusOK {
					t.Errorf("text %d: %d %s", i, code, outcome)
				}
			}()
		}
		wg.Wait()
		th = waitConversationWith(t, s, a, testkit.Phone(6), 10)
		if len(th.Messages) != 10 || th.Unread != 10 {
			t.Fatalf("ten texts at once from one contact: %d messages, unread %d; want 10 and 10", len(th.Messages), th.Unread)
		}
		if cs := a.API(s).Conversations(t, ""); len(cs) != 2 {
			t.Fatalf("%s has %d conversations; want 2 (Ann, the new contact)", a.Name, len(cs))
		}
		// (Texts finding no connection free at once were queued instead.)
		if ev, _ := storedEvents(t, s); ev != 13 {
			t.Fatalf("registry holds %d event ids; want 13", ev)
		}

		// A body of exactly 256 KiB is within the limit.
		k.mustAccept(t, s, sizedInbound(t, 256<<10, testkit.Phone(8), a.Number))
		if th := waitConversationWith(t, s, a, testkit.Phone(8), 1); len(th.Messages[0].Body) < 250<<10 {
			t.Fatalf("the 256 KiB text was stored with %d bytes", len(th.Messages[0].Body))
		}
	})
}

// sizedInbound is a message.received event of exactly size bytes.
func sizedInbound(t *testing.T, size int, from, to string) []byte {
	t.Helper()
	id, msgID, at := newUUID(), newUUID(), time.Now()
	base := len(eventBody(t, id, telnyx.EventMessageReceived, at, inboundPayload(msgID, from, to, "", "")))
	body := eventBody(t, id, telnyx.EventMessageReceived, at, inboundPayload(msgID, from, to, strings.Repeat("x", size-base), ""))
	if len(body) != size {
		t.Fatalf("sized body has %d bytes; want %d", len(body), size)
	}
	return body
}

// ed25519Vector is one entry of telnyx/testdata/ed25519-vectors.json:
// signatures made by openssl and by Node's crypto, not by Go.
type ed25519Vector struct {
	Name      string `json:"name"`
	Generator string `json:"generator"`
	PublicKey string `json:"public_key"`
	Timestamp string `json:"timestamp"`
	Body      string `json:"body"`
	Signature string `json:"signature"`
}

func loadVectors(t *testing.T) map[string][]ed25519Vector {
	t.Helper()
	data, err := os.ReadFile("../telnyx/testdata/ed25519-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Vectors []ed25519Vector `json:"vectors"`
	}
	testkit.DecodeJSON(t, string(data), &doc)
	out := map[string][]ed25519Vector{}
	for _, v := range doc.Vectors {
		out[v.Generator] = append(out[v.Generator], v)
	}
	if len(out["openssl"]) == 0 || len(out["node"]) == 0 {
		t.Fatalf("vectors per generator: openssl %d, node %d; want both", len(out["openssl"]), len(out["node"]))
	}
	return out
}

// Signatures made by openssl and by Node's crypto, posted through the real
// endpoint of a server configured with that implementation's public key and
// its clock at the vector's time: accepted; with one body byte flipped, or
// the clock 301 s on, refused. The openssl vectors are then applied in
// full. Node's sign the very same events (same ids), so they go to a second
// server over the same registry (no workers), where, once verified, they
// are recognised as events seen before.
func TestIndependentSignatureVectors(t *testing.T) {
	t.Parallel()
	vectors := loadVectors(t)
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		t.Run("openssl", func(t *testing.T) { replayVectors(t, b, vectors["openssl"], true) })
		t.Run("node", func(t *testing.T) { replayVectors(t, b, vectors["node"], false) })
	})
}

// replayVectors posts one generator's vectors; apply says this server is
// the first to see their events and applies them.
func replayVectors(t *testing.T, b *testkit.Backend, vs []ed25519Vector, apply bool) {
	pub, err := telnyx.ParsePublicKey(vs[0].PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64 // Unix seconds the server's webhook clock reads
	s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: !apply, Webhooks: func(c *webhooks.Config) {
		c.PublicKey = pub
		// The vectors' receipts name messages no church sent: with the clock
		// a second past the vector, they are past this grace at once.
		c.Now = func() time.Time { return time.Unix(clock.Load(), 0) }
		c.ReceiptGrace = 500 * time.Millisecond
	}})
	var c *testkit.Church
	var member string
	want := webhooks.OutcomeDuplicate
	if apply {
		// The vectors' church number; it also sent the finalized one's text.
		c = s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100"})
		member = s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Pat", Phone: "+13125550199", OptedIn: true})
		// The vector's text reads like a request to stop, so it gets one
		// clarification: quiet hours around now hold it, so that nothing
		// the church sends comes back as receipts signed by the simulator
		// (refused here, where the vectors' key is the provider's).
		loc, err := time.LoadLocation("America/Chicago")
		if err != nil {
			t.Fatal(err)
		}
		now := s.Clock.Now().In(loc)
		s.SetQuietHours(t, c.ID, now.Add(-time.Hour).Format("15:04"), now.Add(time.Hour).Format("15:04"))
		want = webhooks.OutcomeAccepted
	}

	messages := 0
	for _, v := range vs {
		ts, err := strconv.ParseInt(v.Timestamp, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		body := []byte(v.Body)
		headers := map[string]string{telnyx.HeaderSignature: v.Signature, telnyx.HeaderTimestamp: v.Timestamp}
		var w telnyx.Webhook
		isEvent := json.Unmarshal(body, &w) == nil && w.Data.ID != ""

		clock.Store(ts + 301)
		if code, o := postWebhook(t, s, headers, body); code != http.StatusUnauthorized {
			t.Errorf("%s with the clock 301 s later: %d %q; want 401", v.Name, code, o)
		}
		clock.Store(ts + 1)
		for _, i := range []int{0, len(body) / 2, len(body) - 1} {
			flipped := bytes.Clone(body)
			flipped[i] ^= 0x01
			if code, o := postWebhook(t, s, headers, flipped); code != http.StatusUnauthorized {
				t.Errorf("%s with byte %d flipped: %d %q; want 401", v.Name, i, code, o)
			}
		}
		code, outcome := postWebhook(t, s, headers, body)
		switch {
		case !isEvent: // {} verifies, then is refused as no event
			if code != http.StatusBadRequest {
				t.Errorf("%s: %d %q; want 400 (signature good, no event)", v.Name, code, outcome)
			}
			continue
		case code != http.StatusOK || outcome != want:
			t.Errorf("%s: %d %q; want 200 %s", v.Name, code, outcome, want)
			continue
		case !apply:
			continue
		}
		p, err := w.Data.MessagePayload()
		if err != nil {
			t.Fatal(err)
		}
		switch w.Data.EventType {
		case telnyx.EventMessageReceived:
			messages++
			waitMetric(t, s, telnyx.EventMessageReceived, webhooks.OutcomeApplied, float64(messages))
			th := waitConversationWith(t, s, c, p.From.PhoneNumber, 1)
			// (The vector's text reads like a request to stop: it is flagged,
			// and answered by the one clarification.)
			if in := th.Only(store.DirectionInbound); len(in) != 1 || in[0].Body != p.Text || in[0].Status != steeple.MessageReceived {
				t.Errorf("%s: thread %+v; want the vector's text %q", v.Name, th.Messages, p.Text)
			}
			if wantMember := p.From.PhoneNumber == "+13125550199"; wantMember != (th.Member != nil && th.Member.ID == member) {
				t.Errorf("%s: conversation member %+v; member %s expected: %v", v.Name, th.Member, member, wantMember)
			}
		case telnyx.EventMessageFinalized:
			// Routed by its number to the church, which never sent it.
			waitMetric(t, s, telnyx.EventMessageFinalized, webhooks.OutcomeUnknownID, 1)
		default:
			t.Fatalf("%s: unexpected event type %s", v.Name, w.Data.EventType)
		}
	}
	if got := metric(t, s, "", webhooks.OutcomeBadSignature) + metric(t, s, "", webhooks.OutcomeStale); got != float64(4*len(vs)) {
		t.Errorf("%v refusals counted; want %d", got, 4*len(vs))
	}
	if !apply {
		return
	}
	if messages == 0 {
		t.Fatal("no message.received vector was replayed")
	}
	if cs := c.API(s).Conversations(t, ""); len(cs) != messages {
		t.Errorf("%d conversations; want %d", len(cs), messages)
	}
}
