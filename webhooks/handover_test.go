package webhooks_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/tenancy"
	"github.com/steeple-sms/steeple/webhooks"
)

// Two processes share the registry (PostgreSQL: SQLite is served by one
// process). A STOP reaches the one with no connection to its church and no
// room for one; the other has just claimed a send time on the church's
// number. The STOP is handed to that one, which applies it while the
// provider waits: with no event workers anywhere, the member is opted out
// once the webhook is answered. Once the other's claim is old, the next
// STOP is taken where it arrived, and waits in the queue.
func TestTextHandedToTheProcessSendingForItsChurch(t *testing.T) {
	t.Parallel()
	b := testkit.Postgres(t)
	k := newSigner(t)
	noWorkers := func(tu *app.Tuning) { tu.Queue.EventWorkers = 0 }
	// The sending process may take its time to answer on a busy machine.
	opts := k.options(func(c *webhooks.Config) { c.LateWait, c.HandOverWait = -1, 20*time.Second })
	opts.ProcessURL, opts.Tune = true, noWorkers
	sending := testkit.NewServer(t, b, opts)
	opts.Tenancy = func(o *tenancy.Options) { o.Manager.MaxConns, o.Manager.MaxPools, o.Manager.MaxPerTenant = 1, 1, 1 }
	arriving := testkit.NewServer(t, b, opts)

	c := sending.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100", QuietHoursOff: true})
	dee := sending.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Dee", Phone: testkit.Phone(1), OptedIn: true})
	eli := sending.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Eli", Phone: testkit.Phone(2), OptedIn: true})
	// The arriving process's one connection is another church's.
	other := sending.Church(t, testkit.ChurchOptions{Name: "Hope Church"})
	h, err := arriving.Tenancy.Manager.Acquire(context.Background(), other.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Release)

	// A claim far ahead stays recent for the whole test, however slow.
	if _, _, err := sending.Tenancy.Registry.ClaimSendTime(context.Background(), "number:"+c.Number, time.Minute); err != nil {
		t.Fatal(err)
	}
	stop := func(from string) (int, string) {
		return k.post(t, arriving, eventBody(t, newUUID(), telnyx.EventMessageReceived, time.Now(),
			inboundPayload(newUUID(), from, c.Number, "STOP", "")))
	}
	if code, outcome := stop(testkit.Phone(1)); code != http.StatusOK || outcome != webhooks.OutcomeAccepted {
		t.Fatalf("STOP answered %d %q; want 200 accepted", code, outcome)
	}
	wantConsent(t, sending, c, dee, steeple.ConsentOptedOut, steeple.ConsentSourceKeyword)
	if got := metric(t, arriving, telnyx.EventMessageReceived, webhooks.OutcomeHandedOver); got != 1 {
		t.Fatalf("%v texts handed over by the arriving process; want 1", got)
	}
	if got := metric(t, sending, telnyx.EventMessageReceived, webhooks.OutcomeApplied); got != 1 {
		t.Fatalf("%v texts applied by the sending process; want 1", got)
	}

	// The sender's claim is now a minute old: nobody is sending.
	if _, err := sending.Tenancy.Registry.DB().ExecContext(context.Background(),
		`UPDATE send_pacing SET next_us = next_us - 120000000 WHERE key = $1`, "number:"+c.Number); err != nil {
		t.Fatal(err)
	}
	if code, outcome := stop(testkit.Phone(2)); code != http.StatusOK || outcome != webhooks.OutcomeAccepted {
		t.Fatalf("second STOP answered %d %q; want 200 accepted", code, outcome)
	}
	if m := sending.Member(t, c.ID, eli); m.Consent.Status != steeple.ConsentOptedIn {
		t.Fatalf("Eli's consent %+v; want still opted in (the STOP waits in the queue)", m.Consent)
	}
	if got := metric(t, arriving, telnyx.EventMessageReceived, webhooks.OutcomeHandedOver); got != 1 {
		t.Fatalf("%v texts handed over; want still 1", got)
	}
	if n := arriving.JobCount(t, webhooks.EventArgs{}.Kind()); n != 1 {
		t.Fatalf("%d webhook jobs queued; want the second STOP's", n)
	}

	// The registry names a process that is gone (nothing listens there):
	// the hand-over fails, is counted, and the text is taken here.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "http://" + ln.Addr().String()
	ln.Close()
	if _, err := sending.Tenancy.Registry.DB().ExecContext(context.Background(),
		`UPDATE send_pacing SET sender = $1, next_us = $2 WHERE key = $3`, gone, time.Now().Add(time.Minute).UnixMicro(), "number:"+c.Number); err != nil {
		t.Fatal(err)
	}
	if code, outcome := stop(testkit.Phone(3)); code != http.StatusOK || outcome != webhooks.OutcomeAccepted {
		t.Fatalf("third STOP answered %d %q; want 200 accepted", code, outcome)
	}
	if got := counter(t, arriving, "steeple_webhook_hand_over_failures_total"); got != 1 {
		t.Fatalf("%v failed hand-overs counted; want 1", got)
	}
	if got := metric(t, arriving, telnyx.EventMessageReceived, webhooks.OutcomeHandedOver); got != 1 {
		t.Fatalf("%v texts handed over; want still 1", got)
	}
	if n := arriving.JobCount(t, webhooks.EventArgs{}.Kind()); n != 2 {
		t.Fatalf("%d webhook jobs queued; want the second and third STOPs'", n)
	}
}
