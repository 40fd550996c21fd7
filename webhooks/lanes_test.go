package webhooks_test

import (
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/webhooks"
)

// A queued STOP does not wait for a worker behind queued receipts: with
// one event worker stuck applying a receipt for a church whose connections
// are all held, another church's member's STOP that had to be queued is
// applied within moments, on the members' lane.
func TestQueuedStopNotBehindReceipts(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		k := newSigner(t) // the simulator's own receipts are refused: this test posts them
		opts := k.options(nil)
		opts.Tune = func(tu *app.Tuning) {
			tu.Queue.EventWorkers = 1
			tu.Webhooks.LateWait = -1 // the lane applies the STOP, not its webhook's wait
		}
		opts.AcquireTimeout = 30 * time.Second // the stuck receipt waits its church's connection this long
		s := testkit.NewServer(t, b, opts)
		busy := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100"})
		quiet := s.Church(t, testkit.ChurchOptions{Name: "Hope Church", Number: "+13125550101", QuietHoursOff: true})
		ann := s.AddMember(t, busy.ID, testkit.MemberOptions{FirstName: "Ann", Phone: testkit.Phone(1), OptedIn: true})
		dee := s.AddMember(t, quiet.ID, testkit.MemberOptions{FirstName: "Dee", Phone: testkit.Phone(2), OptedIn: true})
		bid, x := broadcastToOne(t, s, busy, ann, testkit.Phone(1))
		at := time.Now().Add(-time.Second).UTC().Truncate(time.Millisecond)

		// The busy church's receipt finds no connection, outwaits its drain
		// and is queued; the one event worker takes it and waits.
		_, releaseBusy := s.HoldConnections(t, busy.ID)
		defer releaseBusy()
		k.mustAccept(t, s, eventBody(t, newUUID(), telnyx.EventMessageFinalized, at,
			receiptPayload(x, "delivered", x.WebhookURL, at, at)))
		kind := webhooks.EventArgs{}.Kind()
		testkit.WaitUntil(t, 10*time.Second, func() bool { return s.JobCount(t, kind, "running") == 1 },
			"the receipt being applied by the event worker")

		// Dee's STOP finds no connection within the webhook's wait and is queued.
		_, releaseQuiet := s.HoldConnections(t, quiet.ID)
		k.mustAccept(t, s, eventBody(t, newUUID(), telnyx.EventMessageReceived, time.Now(),
			inboundPayload(newUUID(), testkit.Phone(2), quiet.Number, "STOP", "")))
		if n := s.RegistryCount(t, `SELECT COUNT(*) FROM river_job WHERE kind = $1 AND queue = $2`, kind, jobs.QueueMembers); n != 1 {
			t.Fatalf("%d members' texts queued; want the STOP (it must not have been applied on arrival)", n)
		}
		releaseQuiet()
		began := time.Now()
		testkit.WaitUntil(t, 8*time.Second, func() bool { return s.Member(t, quiet.ID, dee).Consent.Status == steeple.ConsentOptedOut },
			"Dee opted out while the event worker is stuck")
		t.Logf("queued STOP applied %v after its church's connections came free", time.Since(began).Round(time.Millisecond))
		// (The STOP's own job may not be marked completed yet.)
		if n := s.RegistryCount(t, `SELECT COUNT(*) FROM river_job WHERE kind = $1 AND state = 'running' AND queue = $2`, kind, jobs.QueueEvents); n != 1 {
			t.Fatalf("%d receipts being applied once the STOP was applied; want the one still waiting (1)", n)
		}
		releaseBusy()
		waitRecipient(t, s, busy, bid, ann, steeple.RecipientDelivered)
	})
}
