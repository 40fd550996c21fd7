package webhooks_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
	"github.com/steeple-sms/steeple/tenancy"
	"github.com/steeple-sms/steeple/webhooks"
)

// Delivery receipts are applied while the provider waits for its answer:
// in a server with no event workers at all, a broadcast's texts still
// become delivered, and no final receipt went through the queue. (The
// simulator reports the final outcome 2 s after message.sent, by when the
// send worker has recorded each message id.)
func TestReceiptsAppliedOnArrival(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Tune: func(tu *app.Tuning) { tu.Queue.EventWorkers = 0 }})
		s.Sim.SetOutcome("*", telnyxsim.Outcome{Kind: telnyxsim.Deliver, Delay: 2 * time.Second})
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100"})
		var ids []string
		for i := 1; i <= 3; i++ {
			ids = append(ids, s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Ann", Phone: testkit.Phone(i), OptedIn: true}))
		}
		bid := c.API(s).BroadcastAll(t, "Service at 10 tomorrow")
		for _, id := range ids {
			waitRecipient(t, s, c, bid, id, steeple.RecipientDelivered)
		}
		if got := metric(t, s, telnyx.EventMessageFinalized, webhooks.OutcomeApplied); got != 3 {
			t.Fatalf("%v final receipts applied; want 3", got)
		}
		var queued int
		if err := s.Tenancy.Registry.DB().QueryRowContext(context.Background(),
			`SELECT COUNT(*) FROM river_job WHERE kind = 'webhook_event'`).Scan(&queued); err != nil {
			t.Fatal(err)
		}
		// message.sent may race the worker's own record of the id and be
		// queued (it would wait there: no event workers); none of the final
		// receipts may be.
		if sent := metric(t, s, telnyx.EventMessageSent, webhooks.OutcomeApplied) + metric(t, s, telnyx.EventMessageSent, webhooks.OutcomeOutOfOrder); queued != 3-int(sent) {
			t.Fatalf("%d receipts queued, %v message.sent applied on arrival; want every other one of the 6 applied on arrival", queued, sent)
		}
	})
}

// A member's STOP is applied while the provider waits for its answer: in a
// server with no event workers, the member is opted out by the time the
// webhook has been answered, and Steeple's confirmation (the provider
// answers only the bare keyword) is sent: send jobs are not event workers.
// The next broadcast skips them.
func TestStopAppliedOnArrival(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Tune: func(tu *app.Tuning) { tu.Queue.EventWorkers = 0 }})
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100", QuietHoursOff: true})
		dee := s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Dee", Phone: testkit.Phone(1), OptedIn: true})
		eli := s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Eli", Phone: testkit.Phone(2), OptedIn: true})
		inbound(t, s, testkit.Phone(1), c.Number, " Stop. 🙏")
		// No waiting: the webhook's answer came after the STOP was applied.
		wantConsent(t, s, c, dee, steeple.ConsentOptedOut, steeple.ConsentSourceKeyword)
		if got := metric(t, s, telnyx.EventMessageReceived, webhooks.OutcomeApplied); got != 1 {
			t.Fatalf("%v texts applied; want 1", got)
		}
		th := waitConversationWith(t, s, c, testkit.Phone(1), 1)
		if answers := waitAnswers(t, s, c, th.ID, 1); answers[0].Purpose != store.KeywordStop {
			t.Fatalf("answer %+v; want the STOP confirmation", answers[0])
		}
		bid := c.API(s).BroadcastAll(t, "Picnic on Saturday")
		v := waitRecipient(t, s, c, bid, eli, steeple.RecipientDelivered)
		if r := v.Recipient(dee); r != nil && r.Status != steeple.RecipientSkipped {
			t.Fatalf("Dee in a broadcast after STOP: %+v", r)
		}
	})
}

// A member's text whose church's connection does not come while the
// provider waits is queued, and its wait for the connection goes on after
// the answer: once the connection comes the STOP is applied, with no event
// worker at all, its confirmation is sent, and its queued job is taken
// back (deleted, so no worker applies it again).
func TestStopAppliedOnceItsConnectionComes(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Tune: func(tu *app.Tuning) { tu.Queue.EventWorkers = 0 }})
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100", QuietHoursOff: true})
		dee := s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Dee", Phone: testkit.Phone(1), OptedIn: true})
		kind := webhooks.EventArgs{}.Kind()

		_, release := s.HoldConnections(t, c.ID)
		defer release()
		began := time.Now()
		inbound(t, s, testkit.Phone(1), c.Number, " Stop. 🙏") // not the bare keyword: Steeple answers it
		if waited := time.Since(began); waited < 900*time.Millisecond {
			t.Fatalf("the STOP was answered after %v, while every connection of its church was held", waited)
		}
		if got := metric(t, s, telnyx.EventMessageReceived, webhooks.OutcomeApplied); got != 0 {
			t.Fatalf("%v texts applied while every connection was held; want 0", got)
		}
		if n := s.JobCount(t, kind, "available"); n != 1 {
			t.Fatalf("%d webhook jobs waiting once the STOP was answered; want 1", n)
		}
		release()
		waitApplied(t, s, 1, 0) // the STOP's job taken back
		wantConsent(t, s, c, dee, steeple.ConsentOptedOut, steeple.ConsentSourceKeyword)
		th := waitConversationWith(t, s, c, testkit.Phone(1), 1)
		if answers := waitAnswers(t, s, c, th.ID, 1); answers[0].Purpose != store.KeywordStop {
			t.Fatalf("answer %+v; want the STOP confirmation", answers[0])
		}
	})
}

// A receipt whose church has no connection free at once is handed to the
// church's drain, which takes the connection once it comes free and
// applies the receipt while its webhook waits: with no event workers, the
// text is delivered when the webhook has been answered, and nothing was
// queued.
func TestReceiptDrainedWhenNoConnectionFree(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		k := newSigner(t) // the simulator's own receipts are refused: this test posts them
		opts := k.options(nil)
		opts.Tune = func(tu *app.Tuning) { tu.Queue.EventWorkers = 0 }
		s := testkit.NewServer(t, b, opts)
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100"})
		ann := s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Ann", Phone: testkit.Phone(1), OptedIn: true})
		bid, x := broadcastToOne(t, s, c, ann, testkit.Phone(1))
		at := time.Now().Add(-time.Second).UTC().Truncate(time.Millisecond)

		_, release := s.HoldConnections(t, c.ID)
		const held = 400 * time.Millisecond
		go func() { time.Sleep(held); release() }()
		began := time.Now()
		if code, outcome := k.post(t, s, eventBody(t, newUUID(), telnyx.EventMessageFinalized, at,
			receiptPayload(x, "delivered", x.WebhookURL, at, at))); code != 200 || outcome != webhooks.OutcomeAccepted {
			t.Fatalf("receipt: %d %q", code, outcome)
		}
		if waited := time.Since(began); waited < held/2 {
			t.Fatalf("the receipt was answered after %v, while every connection was held for %v", waited, held)
		}
		if r := c.API(s).GetBroadcast(t, bid).Recipient(ann); r.Status != steeple.RecipientDelivered {
			t.Fatalf("Ann once the receipt was answered: %+v; want delivered", r)
		}
		if _, jobs := storedEvents(t, s); jobs != 0 {
			t.Fatalf("%d webhook jobs queued; want none", jobs)
		}
	})
}

// Receipts for one church that wait together for its connection are
// applied by its drain (in one transaction), each as alone: for three texts,
// a "sent" and a newer final outcome posted at once, in either order, all
// three end delivered and nothing is queued.
func TestReceiptsDrainedTogether(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		k := newSigner(t)
		opts := k.options(nil)
		opts.Tune = func(tu *app.Tuning) { tu.Queue.EventWorkers = 0 }
		s := testkit.NewServer(t, b, opts)
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100"})
		var members []string
		for i := 1; i <= 3; i++ {
			members = append(members, s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: fmt.Sprint("Member ", i), Phone: testkit.Phone(i), OptedIn: true}))
		}
		bid := c.API(s).BroadcastAll(t, "Service at 10 tomorrow")
		for _, m := range members {
			waitRecipient(t, s, c, bid, m, steeple.RecipientSent)
		}
		if err := s.Sim.WaitIdle(context.Background()); err != nil {
			t.Fatal(err)
		}
		sentAt := time.Now().Add(-2 * time.Second).UTC().Truncate(time.Millisecond)
		doneAt := sentAt.Add(time.Second)
		var bodies [][]byte
		for i := range members {
			x := onlySentTo(t, s, testkit.Phone(i+1))
			bodies = append(bodies,
				eventBody(t, newUUID(), telnyx.EventMessageFinalized, doneAt, receiptPayload(x, "delivered", x.WebhookURL, sentAt, doneAt)),
				eventBody(t, newUUID(), telnyx.EventMessageSent, sentAt, receiptPayload(x, "sent", x.WebhookURL, sentAt, time.Time{})))
		}

		_, release := s.HoldConnections(t, c.ID)
		go func() { time.Sleep(300 * time.Millisecond); release() }()
		type answer struct {
			code    int
			outcome string
		}
		answers := make(chan answer, len(bodies))
		for _, body := range bodies {
			go func() {
				code, outcome := k.post(t, s, body)
				answers <- answer{code, outcome}
			}()
		}
		for range bodies {
			if a := <-answers; a.code != 200 || a.outcome != webhooks.OutcomeAccepted {
				t.Fatalf("receipt: %d %q", a.code, a.outcome)
			}
		}
		v := c.API(s).GetBroadcast(t, bid)
		for _, m := range members {
			if r := v.Recipient(m); r.Status != steeple.RecipientDelivered {
				t.Fatalf("%s once the receipts were answered: %+v; want delivered", m, r)
			}
		}
		if _, jobs := storedEvents(t, s); jobs != 0 {
			t.Fatalf("%d webhook jobs queued; want none", jobs)
		}
	})
}

// While a church's send job holds its only connection for a whole paced
// broadcast, the church's receipts borrow that connection between two
// texts (tenancy.Handle.Lend): with no event workers, every text ends
// delivered and no receipt was queued. Without the loan they would wait
// for a connection the job keeps for seconds, and be queued.
func TestReceiptsBorrowTheSendersConnection(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{
			Tenancy: func(o *tenancy.Options) { o.Now = time.Now; o.Manager.MaxPerTenant = 1 },
			Tune:    func(tu *app.Tuning) { tu.Queue.EventWorkers = 0 },
		})
		s.Sim.SetOutcome("*", telnyxsim.Outcome{Kind: telnyxsim.Deliver, Delay: 100 * time.Millisecond})
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100"})
		// 20 a second: 50 ms between texts, short enough that the job keeps
		// its connection throughout (messaging's longPause).
		s.SetSendRate(t, c.ID, "20")
		const n = 40
		var members []string
		for i := 1; i <= n; i++ {
			members = append(members, s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: fmt.Sprint("Member ", i), Phone: testkit.Phone(i), OptedIn: true}))
		}
		bid := c.API(s).BroadcastAll(t, "Service at 10 tomorrow")
		for _, m := range members {
			waitRecipient(t, s, c, bid, m, steeple.RecipientDelivered)
		}
		if got := metric(t, s, telnyx.EventMessageFinalized, webhooks.OutcomeApplied); got != n {
			t.Fatalf("%v final receipts applied on arrival; want %d", got, n)
		}
		if _, jobs := storedEvents(t, s); jobs != 0 {
			t.Fatalf("%d receipts queued; want none", jobs)
		}
	})
}
