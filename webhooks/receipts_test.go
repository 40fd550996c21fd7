package webhooks_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/numbers"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
	"github.com/steeple-sms/steeple/tenancy"
	"github.com/steeple-sms/steeple/webhooks"
)

// refusedSimWebhook returns the exact body the simulator posted for a
// message's event. The servers of these tests trust only the test's key,
// so the simulator's own deliveries were refused (checked): the test
// re-signs and posts the body when it wants the event to arrive.
func refusedSimWebhook(t *testing.T, s *testkit.Server, messageID, eventType string) []byte {
	t.Helper()
	if err := s.Sim.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	var body []byte
	for _, w := range s.Sim.Webhooks() {
		if w.MessageID != messageID || w.EventType != eventType {
			continue
		}
		if w.StatusCode != http.StatusUnauthorized {
			t.Fatalf("the simulator's %s for %s was answered %d; want 401 (this server trusts only the test's key)",
				eventType, messageID, w.StatusCode)
		}
		if body == nil {
			body = w.Body
		}
	}
	if body == nil {
		t.Fatalf("the simulator posted no %s for %s", eventType, messageID)
	}
	return body
}

// broadcastToOne broadcasts to a church whose one member is memberID, at
// phone, and returns the broadcast's id and the text the simulator
// accepted, once the simulator has posted its webhooks for it.
func broadcastToOne(t *testing.T, s *testkit.Server, c *testkit.Church, memberID, phone string) (string, telnyxsim.SentMessage) {
	t.Helper()
	bid := c.API(s).BroadcastAll(t, "Service at 10 tomorrow")
	waitRecipient(t, s, c, bid, memberID, steeple.RecipientSent)
	if err := s.Sim.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	return bid, onlySentTo(t, s, phone)
}

// onlySentTo returns the one text the simulator accepted for a phone.
func onlySentTo(t *testing.T, s *testkit.Server, to string) telnyxsim.SentMessage {
	t.Helper()
	got := s.SentTo(to)
	if len(got) != 1 {
		t.Fatalf("the simulator accepted %d texts for %s; want 1: %+v", len(got), to, got)
	}
	return got[0]
}

// buyNumber buys a number through the API and waits until the church may
// send from it.
func buyNumber(t *testing.T, s *testkit.Server, c *testkit.Church, number string) {
	t.Helper()
	if r := s.Do(t, "POST", "/api/v1/numbers", c.Token, map[string]any{"number": number}); r.Status != http.StatusAccepted {
		t.Fatalf("%s orders %s: %d %s", c.Name, number, r.Status, r.Raw)
	}
	testkit.Eventually(t, 15*time.Second, func() string {
		r := s.Do(t, "GET", "/api/v1/numbers", c.Token, nil)
		var body struct {
			Numbers []tenancy.Number `json:"numbers"`
		}
		testkit.DecodeJSON(t, r.Raw, &body)
		for _, n := range body.Numbers {
			if n.E164 == number && n.State == steeple.NumberActive {
				return ""
			}
		}
		return fmt.Sprintf("%s does not have %s yet: %s", c.Name, number, r.Raw)
	})
	c.Number = number
}

// A number released by church A and bought by church B (through the
// numbers API, the release's grace cut to nothing): a late receipt for A's
// old message still updates A (its webhook URL names A), not B, even
// though B now sends from that number to the same person; texts to the
// number now reach B.
func TestLateReceiptAfterNumberMoved(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		ctx := context.Background()
		k := newSigner(t)
		opts := k.options(nil)
		opts.Numbers = func(c *numbers.Config) { c.ReleaseGrace = time.Nanosecond }
		s := testkit.NewServer(t, b, opts)
		const number = "+13125550100"
		a := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		bb := s.Church(t, testkit.ChurchOptions{Name: "Hope Fellowship"})
		buyNumber(t, s, a, number)
		p := testkit.Phone(3)
		annA := s.AddMember(t, a.ID, testkit.MemberOptions{FirstName: "Ann", Phone: p, OptedIn: true})
		annB := s.AddMember(t, bb.ID, testkit.MemberOptions{FirstName: "Annie", Phone: p, OptedIn: true})

		aMsg := a.API(s).BroadcastAll(t, "Grace Chapel is moving to a new number")
		waitRecipient(t, s, a, aMsg, annA, steeple.RecipientSent)
		x := onlySentTo(t, s, p)
		if x.From != number || !strings.Contains(x.WebhookURL, "?tenant="+a.ID+"&broadcast="+aMsg) {
			t.Fatalf("A's text: %+v; want it from %s naming A in its webhook URL", x, number)
		}
		aSent := refusedSimWebhook(t, s, x.ID, telnyx.EventMessageSent)
		aFinal := refusedSimWebhook(t, s, x.ID, telnyx.EventMessageFinalized)

		// A gives the number up; once released, B buys it and texts the same
		// person from it.
		var released testkit.NumberView
		if r := a.API(s).Call(t, "DELETE", "/api/v1/numbers/"+number, nil, http.StatusOK, &released); released.State != steeple.NumberReleasing {
			t.Fatalf("A releases %s: %s", number, r.Raw)
		}
		if n, err := s.Numbers.ReleaseDue(ctx); err != nil || n != 1 {
			t.Fatalf("ReleaseDue = %d, %v; want A's number released", n, err)
		}
		if _, err := s.Tenancy.Registry.NumberOwner(ctx, number); steeple.ErrorCode(err) != steeple.ENOTFOUND {
			t.Fatalf("owner of %s after its release: %v; want none", number, err)
		}
		// While no church owns it, a text to it is counted and written nowhere.
		k.mustAccept(t, s, eventBody(t, newUUID(), telnyx.EventMessageReceived, time.Now(),
			inboundPayload(newUUID(), p, number, "Hello? Anyone there?", "")))
		waitMetric(t, s, telnyx.EventMessageReceived, webhooks.OutcomeUnrouted, 1)
		for _, c := range []*testkit.Church{a, bb} {
			if cs := churchConversations(t, s, c.ID); len(cs) != 0 {
				t.Fatalf("%s has conversations after a text to a number nobody owns: %+v", c.Name, cs)
			}
		}
		buyNumber(t, s, bb, number)
		if owner, err := s.Tenancy.Registry.NumberOwner(ctx, number); err != nil || owner != bb.ID {
			t.Fatalf("owner of %s = %q, %v; want B", number, owner, err)
		}
		bMsg := bb.API(s).BroadcastAll(t, "Welcome to Hope Fellowship")
		waitRecipient(t, s, bb, bMsg, annB, steeple.RecipientSent)
		if got := s.SentTo(p); len(got) != 2 || got[1].From != number {
			t.Fatalf("texts to %s: %+v; want A's then B's, both from %s", p, got, number)
		}
		y := s.SentTo(p)[1]
		bFinal := refusedSimWebhook(t, s, y.ID, telnyx.EventMessageFinalized)

		// A's finalized receipt arrives late: it updates A only.
		k.mustAccept(t, s, aFinal)
		av := waitRecipient(t, s, a, aMsg, annA, steeple.RecipientDelivered)
		if av.Message.Counts["delivered"] != 1 {
			t.Fatalf("A's counts %v; want 1 delivered", av.Message.Counts)
		}
		waitMetric(t, s, telnyx.EventMessageFinalized, webhooks.OutcomeApplied, 1)
		bv := bb.API(s).GetBroadcast(t, bMsg)
		if r := bv.Recipient(annB); r == nil || r.Status != steeple.RecipientSent || r.FinishedAt != nil {
			t.Fatalf("B's recipient after A's late receipt: %+v; want still sent", r)
		}
		// A's even later message.sent changes nothing: finalized stands.
		k.mustAccept(t, s, aSent)
		waitMetric(t, s, telnyx.EventMessageSent, webhooks.OutcomeOutOfOrder, 1)
		if r := a.API(s).GetBroadcast(t, aMsg).Recipient(annA); r.Status != steeple.RecipientDelivered {
			t.Fatalf("A's recipient after a late message.sent: %+v; want delivered", r)
		}
		// B's own receipt reaches B.
		k.mustAccept(t, s, bFinal)
		waitRecipient(t, s, bb, bMsg, annB, steeple.RecipientDelivered)
		waitMetric(t, s, telnyx.EventMessageFinalized, webhooks.OutcomeApplied, 2)

		// A text to the number now belongs to B.
		k.mustAccept(t, s, eventBody(t, newUUID(), telnyx.EventMessageReceived, time.Now(),
			inboundPayload(newUUID(), p, number, "Is this still Grace Chapel?", "")))
		th := waitConversationWith(t, s, bb, p, 1)
		if th.Member == nil || th.Member.ID != annB {
			t.Fatalf("B's conversation: %+v; want it with B's member", th.Conversation)
		}
		if cs := a.API(s).Conversations(t, ""); len(cs) != 0 {
			t.Fatalf("A has conversations after a text to the number it gave up: %+v", cs)
		}
		if got := metric(t, s, telnyx.EventMessageFinalized, webhooks.OutcomeUnknownID); got != 0 {
			t.Fatalf("%v receipts unknown; want 0", got)
		}
	})
}

// Receipts applied in occurred_at order, whatever order they arrive in;
// failures keep their error code; receipts for unknown messages or churches
// are counted and write nothing.
func TestOutOfOrderReceipts(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		k := newSigner(t)
		const grace = 300 * time.Millisecond
		s := testkit.NewServer(t, b, k.options(func(c *webhooks.Config) { c.ReceiptGrace = grace }))
		a := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100"})
		ids := map[int]string{}
		for i := 1; i <= 3; i++ {
			ids[i] = s.AddMember(t, a.ID, testkit.MemberOptions{FirstName: []string{"", "Ann", "Ben", "Cy"}[i], Phone: testkit.Phone(i), OptedIn: true})
		}
		bid := a.API(s).BroadcastAll(t, "Service at 10 tomorrow")
		for i := 1; i <= 3; i++ {
			waitRecipient(t, s, a, bid, ids[i], steeple.RecipientSent)
		}
		if err := s.Sim.WaitIdle(context.Background()); err != nil {
			t.Fatal(err)
		}
		x1, x2, x3 := onlySentTo(t, s, testkit.Phone(1)), onlySentTo(t, s, testkit.Phone(2)), onlySentTo(t, s, testkit.Phone(3))
		hook := x1.WebhookURL
		tSent := time.Now().Add(-2 * time.Second).UTC().Truncate(time.Millisecond)
		tFinal := tSent.Add(time.Second)

		// Ann: finalized (delivered) arrives before sent.
		k.mustAccept(t, s, eventBody(t, newUUID(), telnyx.EventMessageFinalized, tFinal,
			receiptPayload(x1, "delivered", hook, tSent, tFinal)))
		waitRecipient(t, s, a, bid, ids[1], steeple.RecipientDelivered)
		k.mustAccept(t, s, eventBody(t, newUUID(), telnyx.EventMessageSent, tSent,
			receiptPayload(x1, "sent", hook, tSent, time.Time{})))
		waitMetric(t, s, telnyx.EventMessageSent, webhooks.OutcomeOutOfOrder, 1)
		r := a.API(s).GetBroadcast(t, bid).Recipient(ids[1])
		if r.Status != steeple.RecipientDelivered || r.FinishedAt == nil || !r.FinishedAt.Equal(tFinal) {
			t.Fatalf("Ann after finalized then sent: %+v; want delivered, finished at %v", r, tFinal)
		}

		// Ben: a failure with errors[] keeps the code and title.
		k.mustAccept(t, s, eventBody(t, newUUID(), telnyx.EventMessageFinalized, tFinal,
			receiptPayload(x2, "delivery_failed", hook, tSent, tFinal,
				map[string]any{"code": "40008", "title": "Undeliverable", "detail": "The handset is switched off."})))
		v := waitRecipient(t, s, a, bid, ids[2], steeple.RecipientFailed)
		if r := v.Recipient(ids[2]); r.ErrorCode != "40008" || !strings.Contains(r.ErrorDetail, "Undeliverable") {
			t.Fatalf("Ben's failed recipient: %+v; want error code 40008 and its title", r)
		}

		// A receipt naming a church that does not exist is dropped and
		// counted; it does not go looking for the message elsewhere.
		k.mustAccept(t, s, eventBody(t, newUUID(), telnyx.EventMessageFinalized, tFinal,
			receiptPayload(x3, "delivered", s.URL+"/webhooks/telnyx?tenant="+newUUID(), tSent, tFinal)))
		waitMetric(t, s, telnyx.EventMessageFinalized, webhooks.OutcomeUnavailable, 1)
		if r := a.API(s).GetBroadcast(t, bid).Recipient(ids[3]); r.Status != steeple.RecipientSent {
			t.Fatalf("Cy after a receipt for another church: %+v; want still sent", r)
		}
		// Without a church in its URL a receipt goes to the sending number's owner.
		k.mustAccept(t, s, eventBody(t, newUUID(), telnyx.EventMessageSent, tSent,
			receiptPayload(x3, "sent", "", tSent, time.Time{})))
		waitMetric(t, s, telnyx.EventMessageSent, webhooks.OutcomeApplied, 1) // before the final one, so it is not out of order
		k.mustAccept(t, s, eventBody(t, newUUID(), telnyx.EventMessageFinalized, tFinal,
			receiptPayload(x3, "delivered", "", tSent, tFinal)))
		v = waitRecipient(t, s, a, bid, ids[3], steeple.RecipientDelivered)
		if c := v.Message.Counts; c["delivered"] != 2 || c["failed"] != 1 || c["sent"] != 0 {
			t.Fatalf("broadcast counts %v; want 2 delivered, 1 failed", c)
		}
		// A second final outcome for a finished text changes nothing.
		k.mustAccept(t, s, eventBody(t, newUUID(), telnyx.EventMessageFinalized, tFinal.Add(time.Second),
			receiptPayload(x1, "delivery_failed", hook, tSent, tFinal.Add(time.Second), map[string]any{"code": "40002", "title": "Blocked"})))
		waitMetric(t, s, telnyx.EventMessageFinalized, webhooks.OutcomeOutOfOrder, 1)
		if r := a.API(s).GetBroadcast(t, bid).Recipient(ids[1]); r.Status != steeple.RecipientDelivered || r.ErrorCode != "" {
			t.Fatalf("Ann after a second final receipt: %+v; want still delivered", r)
		}

		// A reply in a conversation: the same ordering holds for it.
		k.mustAccept(t, s, eventBody(t, newUUID(), telnyx.EventMessageReceived, time.Now(),
			inboundPayload(newUUID(), testkit.Phone(1), a.Number, "Thanks! See you there", "")))
		th := waitConversationWith(t, s, a, testkit.Phone(1), 1)
		if rep := s.Do(t, "POST", "/api/v1/conversations/"+th.ID+"/messages", a.Token, map[string]any{"text": "You're welcome"}); rep.Status != http.StatusCreated {
			t.Fatalf("reply: %d %s", rep.Status, rep.Raw)
		}
		var reply telnyxsim.SentMessage
		testkit.Eventually(t, 10*time.Second, func() string {
			if got := s.SentTo(testkit.Phone(1)); len(got) == 2 {
				reply = got[1]
				return ""
			}
			return "the reply has not reached the simulator"
		})
		var replyID string
		testkit.Eventually(t, 10*time.Second, func() string {
			for _, m := range a.API(s).Thread(t, th.ID).Only(store.DirectionOutbound) {
				replyID = m.ID
				if m.Status == steeple.RecipientSent {
					return ""
				}
				return "reply is " + string(m.Status)
			}
			return "no reply in the thread"
		})
		k.mustAccept(t, s, eventBody(t, newUUID(), telnyx.EventMessageFinalized, tFinal,
			receiptPayload(reply, "delivered", reply.WebhookURL, tSent, tFinal)))
		waitMetric(t, s, telnyx.EventMessageFinalized, webhooks.OutcomeApplied, 4)
		k.mustAccept(t, s, eventBody(t, newUUID(), telnyx.EventMessageSent, tSent,
			receiptPayload(reply, "sent", reply.WebhookURL, tSent, time.Time{})))
		waitMetric(t, s, telnyx.EventMessageSent, webhooks.OutcomeOutOfOrder, 2)
		for _, m := range a.API(s).Thread(t, th.ID).Messages {
			if m.ID == replyID && (m.Status != steeple.RecipientDelivered || m.FinishedAt == nil || !m.FinishedAt.Equal(tFinal)) {
				t.Fatalf("reply after finalized then sent: %+v; want delivered at %v", m, tFinal)
			}
		}

		// A receipt for a message id no church knows: retried through the
		// grace (the sender may not have recorded the id yet), then counted.
		unknown := telnyxsim.SentMessage{ID: newUUID(), From: a.Number, To: testkit.Phone(9), Text: "?", Type: "SMS"}
		now := time.Now()
		k.mustAccept(t, s, eventBody(t, newUUID(), telnyx.EventMessageFinalized, now,
			receiptPayload(unknown, "delivered", hook, now, now)))
		waitMetric(t, s, telnyx.EventMessageFinalized, webhooks.OutcomeUnknownID, 1)
		if took := time.Since(now); took < grace-50*time.Millisecond {
			t.Fatalf("an unknown message id was given up after %v; want the %v grace first", took, grace)
		}
		// One long past the grace is counted at once.
		old := now.Add(-time.Hour)
		unknown.ID = newUUID()
		k.mustAccept(t, s, eventBody(t, newUUID(), telnyx.EventMessageSent, old, receiptPayload(unknown, "sent", hook, old, time.Time{})))
		waitMetric(t, s, telnyx.EventMessageSent, webhooks.OutcomeUnknownID, 1)
		if c := a.API(s).GetBroadcast(t, bid).Message.Counts; c["delivered"] != 2 || c["failed"] != 1 {
			t.Fatalf("broadcast counts %v after unknown receipts; want unchanged", c)
		}
	})
}
