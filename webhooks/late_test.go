package webhooks_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
	"github.com/steeple-sms/steeple/webhooks"
)

// Members' texts still waiting for their church's connection after their
// answer are bounded (LateWaiters): with room for one, of two STOPs queued
// while every connection is held, one is applied once the connection comes
// and its job taken back; the other is left to its queued job, which no
// event worker here runs. Nothing is lost: that job is still waiting.
func TestLateWaitersBounded(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s, c, members := twoMembersNoEventWorkers(t, b, func(c *webhooks.Config) { c.LateWaiters = 1 })
		kind := webhooks.EventArgs{}.Kind()
		stopsWhileHeld(t, s, c, len(members))
		waitApplied(t, s, 1, 1) // the one still waiting; the other's job left
		// The other's wait would have ended by now had it begun one.
		time.Sleep(1500 * time.Millisecond)
		if got := metric(t, s, telnyx.EventMessageReceived, webhooks.OutcomeApplied); got != 1 {
			t.Fatalf("%v texts applied with room for one to wait on; want 1", got)
		}
		if n, all := s.JobCount(t, kind, "available"), s.JobCount(t, kind); n != 1 || all != 1 {
			t.Fatalf("%d webhook jobs waiting of %d; want the applied one's taken back and the other's waiting", n, all)
		}
		opted := 0
		for _, id := range members {
			if s.Member(t, c.ID, id).Consent.Status == steeple.ConsentOptedOut {
				opted++
			}
		}
		if opted != 1 {
			t.Fatalf("%d members opted out; want the one whose STOP waited on", opted)
		}
	})
}

// A member's text whose wait after its answer runs out before its
// connection comes is left to its queued job: once the connection is free
// nothing applies it here (no event workers), and the job still waits.
func TestLateWaitEndsAndLeavesTheJob(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Tune: func(tu *app.Tuning) {
			tu.Queue.EventWorkers = 0
			tu.Webhooks.LateWait = 300 * time.Millisecond
		}})
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100", QuietHoursOff: true})
		dee := s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Dee", Phone: testkit.Phone(1), OptedIn: true})
		kind := webhooks.EventArgs{}.Kind()

		_, release := s.HoldConnections(t, c.ID)
		defer release()
		began := time.Now()
		inbound(t, s, testkit.Phone(1), c.Number, "STOP")
		// The wait on ends 1.3 s after the text came (the second while the
		// provider waits, then LateWait).
		time.Sleep(time.Until(began.Add(2 * time.Second)))
		release()
		time.Sleep(1500 * time.Millisecond)
		if got := metric(t, s, telnyx.EventMessageReceived, webhooks.OutcomeApplied); got != 0 {
			t.Fatalf("%v texts applied after their wait ran out; want 0 (the queue's to apply)", got)
		}
		if n := s.JobCount(t, kind, "available"); n != 1 {
			t.Fatalf("%d webhook jobs waiting; want the STOP's", n)
		}
		wantConsent(t, s, c, dee, steeple.ConsentOptedIn, steeple.ConsentSourceAdmin)
	})
}

// With room for one text to wait within its answer, a second arriving
// meanwhile is answered at once and waits on for its connection after
// the answer: once every connection of its church comes free both STOPs
// are applied and both jobs taken back, with no event worker.
func TestTextAnsweredAtOnceWaitsOn(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s, c, members := twoMembersNoEventWorkers(t, b, func(c *webhooks.Config) { c.InboundWaiters = 1 })
		stopsWhileHeld(t, s, c, len(members))
		waitApplied(t, s, 2, 0) // both jobs taken back
		for _, id := range members {
			wantConsent(t, s, c, id, steeple.ConsentOptedOut, steeple.ConsentSourceKeyword)
		}
	})
}

// stopsWhileHeld has members 1..n text STOP at once while every
// connection of their church is held, checks that each was queued, and
// frees the connections.
func stopsWhileHeld(t *testing.T, s *testkit.Server, c *testkit.Church, n int) {
	t.Helper()
	_, release := s.HoldConnections(t, c.ID)
	defer release()
	stopsAtOnce(t, s, c, n)
	if got := s.JobCount(t, webhooks.EventArgs{}.Kind(), "available"); got != n {
		t.Fatalf("%d webhook jobs waiting once the %d STOPs were answered; want %d", got, n, n)
	}
}

// stopsAtOnce has members 1..n text STOP at the same moment, and returns
// once every webhook has been answered.
func stopsAtOnce(t *testing.T, s *testkit.Server, c *testkit.Church, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Sim.Inbound(context.Background(), telnyxsim.InboundMessage{From: testkit.Phone(i + 1), To: c.Number,
				Text: "STOP", WebhookURL: s.URL + "/webhooks/telnyx"})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// twoMembersNoEventWorkers is a server with no event workers, its webhook
// settings tuned, and a church of two opted-in members (phones 1 and 2).
func twoMembersNoEventWorkers(t *testing.T, b *testkit.Backend, tune func(*webhooks.Config)) (*testkit.Server, *testkit.Church, []string) {
	s := testkit.NewServer(t, b, testkit.ServerOptions{Tune: func(tu *app.Tuning) {
		tu.Queue.EventWorkers = 0
		tune(&tu.Webhooks)
	}})
	c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100", QuietHoursOff: true})
	return s, c, []string{
		s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Dee", Phone: testkit.Phone(1), OptedIn: true}),
		s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Eli", Phone: testkit.Phone(2), OptedIn: true}),
	}
}
