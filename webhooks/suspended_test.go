package webhooks_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/inbox"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/webhooks"
)

// A suspended church is not served, but its members still count: a STOP
// texted meanwhile is recorded (the member is skipped once the church is
// back) and receipts are applied; nothing is answered or sent while it is
// suspended, not even the confirmation Steeple would otherwise send.
func TestSuspendedChurchRecordsWhatMembersSay(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		k := newSigner(t)
		opt := k.options(nil)
		opt.Inbox = func(c *inbox.Config) { c.ProviderConfirmsKeywords = false }
		s := testkit.NewServer(t, b, opt)
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100"})
		ann := s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Ann", Phone: testkit.Phone(1), OptedIn: true})
		ben := s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Ben", Phone: testkit.Phone(2), OptedIn: true})
		first := c.API(s).BroadcastAll(t, "Service at 10 tomorrow")
		waitRecipient(t, s, c, first, ann, steeple.RecipientSent)
		waitRecipient(t, s, c, first, ben, steeple.RecipientSent)
		if err := s.Sim.WaitIdle(context.Background()); err != nil {
			t.Fatal(err)
		}
		toAnn := onlySentTo(t, s, testkit.Phone(1))

		ctx := context.Background()
		setStatus := func(to, from steeple.TenantStatus) {
			t.Helper()
			if _, err := s.Tenancy.Registry.SetStatus(ctx, c.ID, to, from); err != nil {
				t.Fatal(err)
			}
		}
		setStatus(steeple.TenantSuspended, steeple.TenantActive)
		now := time.Now()
		k.mustAccept(t, s, eventBody(t, newUUID(), telnyx.EventMessageReceived, now,
			inboundPayload(newUUID(), testkit.Phone(1), c.Number, "STOP", "")))
		k.mustAccept(t, s, eventBody(t, newUUID(), telnyx.EventMessageReceived, now,
			inboundPayload(newUUID(), testkit.Phone(2), c.Number, "HELP", "")))
		k.mustAccept(t, s, eventBody(t, newUUID(), telnyx.EventMessageFinalized, now,
			receiptPayload(toAnn, "delivered", toAnn.WebhookURL, now.Add(-time.Second), now)))
		waitMetric(t, s, telnyx.EventMessageReceived, webhooks.OutcomeApplied, 2)
		waitMetric(t, s, telnyx.EventMessageFinalized, webhooks.OutcomeApplied, 1)
		if got := metric(t, s, telnyx.EventMessageReceived, webhooks.OutcomeUnavailable); got != 0 {
			t.Fatalf("%v inbound texts dropped for the suspended church; want 0", got)
		}
		// Nothing answered: no text, no send job, no intent to send.
		if err := s.Sim.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
		if a, b := len(s.SentTo(testkit.Phone(1))), len(s.SentTo(testkit.Phone(2))); a != 1 || b != 1 {
			t.Fatalf("texts to Ann and Ben while suspended: %d and %d; want only the broadcast each", a, b)
		}
		if n := s.RegistryCount(t, `SELECT count(*) FROM river_job WHERE kind = 'send_reply'`); n != 0 {
			t.Fatalf("%d answers queued for a suspended church", n)
		}
		if n := s.RegistryCount(t, `SELECT count(*) FROM dispatch_intents`); n != 0 {
			t.Fatalf("%d dispatch intents left for a suspended church", n)
		}

		setStatus(steeple.TenantActive, steeple.TenantSuspended)
		wantConsent(t, s, c, ann, steeple.ConsentOptedOut, steeple.ConsentSourceKeyword)
		if r := c.API(s).GetBroadcast(t, first).Recipient(ann); r.Status != steeple.RecipientDelivered {
			t.Fatalf("Ann's receipt while suspended: %+v; want delivered", r)
		}
		th := waitConversationWith(t, s, c, testkit.Phone(2), 1)
		if n := len(th.Only(store.DirectionOutbound)); n != 0 {
			t.Fatalf("Ben's HELP while suspended was answered %d times; want never", n)
		}
		second := c.API(s).BroadcastAll(t, "Choir practice moved to 7")
		v := waitRecipient(t, s, c, second, ben, steeple.RecipientSent)
		if r := v.Recipient(ann); r != nil && r.Status != steeple.RecipientSkipped {
			t.Fatalf("Ann after a STOP texted while suspended: %+v; want skipped", r)
		}
		if err := s.Sim.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(s.SentTo(testkit.Phone(1))); n != 1 {
			t.Fatalf("Ann got %d texts; want only the first broadcast", n)
		}
	})
}

// A START texted while the church is suspended opts the member in at once
// but sends nothing; once the church is resumed, the member gets the
// welcome text (which answers START), once.
func TestStartWhileSuspendedWelcomesAfterResume(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Welcome: true,
			Inbox:     func(c *inbox.Config) { c.ProviderConfirmsKeywords = false },
			Messaging: func(c *messaging.Config) { c.SweepAge = 0 }})
		s.Sim.SetKeywordHandling(false)
		c := s.Church(t, testkit.ChurchOptions{Name: "Hope Fellowship", Number: "+13125550300"})
		noQuietHours(t, s, c)
		dee := s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Dee", Phone: testkit.Phone(7), OptedIn: false}) // not opted in: no welcome yet
		const before = 0

		ctx := context.Background()
		if _, err := s.Tenancy.Registry.SetStatus(ctx, c.ID, steeple.TenantSuspended, steeple.TenantActive); err != nil {
			t.Fatal(err)
		}
		inbound(t, s, testkit.Phone(7), c.Number, "START")
		waitMetric(t, s, telnyx.EventMessageReceived, webhooks.OutcomeApplied, 1)
		if n, err := s.Messaging.Sweep(ctx); n != 0 || err != nil {
			t.Fatalf("sweep while suspended: %d, %v; want nothing sent", n, err)
		}
		if err := s.Sim.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
		if n := s.Sim.CountTo(testkit.Phone(7)); n != before {
			t.Fatalf("Dee got %d texts while the church was suspended; want none new", n-before)
		}

		if _, err := s.Tenancy.Registry.SetStatus(ctx, c.ID, steeple.TenantActive, steeple.TenantSuspended); err != nil {
			t.Fatal(err)
		}
		wantConsent(t, s, c, dee, steeple.ConsentOptedIn, steeple.ConsentSourceKeyword)
		// (The sweep may also take an earlier answer's intent: its age is 0.)
		if n, err := s.Messaging.Sweep(ctx); n < 1 || err != nil {
			t.Fatalf("sweep after resuming: %d, %v; want the welcome queued", n, err)
		}
		testkit.Eventually(t, 15*time.Second, func() string {
			got := s.SentTo(testkit.Phone(7))
			if len(got) != before+1 || !strings.Contains(got[before].Text, "Welcome to Hope Fellowship") {
				return fmt.Sprintf("texts to Dee after resuming: %+v; want the welcome text", got[before:])
			}
			return ""
		})
		if err := s.Sim.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
		if n := s.Sim.CountTo(testkit.Phone(7)); n != before+1 {
			t.Fatalf("Dee got %d texts after resuming; want one welcome", n-before)
		}
	})
}
