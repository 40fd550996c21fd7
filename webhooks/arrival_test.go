package webhooks_test

import (
	"context"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
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
