package webhooks_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
	"github.com/steeple-sms/steeple/tenancy"
	"github.com/steeple-sms/steeple/webhooks"
)

// The core check: two churches with the same person as a member. A text to
// A's number lands in A's inbox only; a receipt for B's broadcast updates B
// only. Then the same across 200 churches that all have that person.
func TestCoreIsolation(t *testing.T) {
	// The longest test by far, most of it PostgreSQL creating and dropping
	// 200 databases. It runs before the others (which run in parallel once
	// it is done), its two backends side by side: dropping 200 databases
	// beside other tests' drops makes theirs wait on checkpoints for tens
	// of seconds on a busy server.
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		t.Parallel()
		start := time.Now()
		s := testkit.NewServer(t, b)
		a := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100"})
		bb := s.Church(t, testkit.ChurchOptions{Name: "Hope Fellowship", Number: "+13125550200"})
		p := testkit.Phone(1)
		annA := s.AddMember(t, a.ID, testkit.MemberOptions{FirstName: "Ann", Phone: p, OptedIn: true})
		annB := s.AddMember(t, bb.ID, testkit.MemberOptions{FirstName: "Annie", Phone: p, OptedIn: true})

		// A's broadcast stays "sent": the carrier never reports back.
		s.Sim.SetOutcome(p, telnyxsim.Outcome{Kind: telnyxsim.NeverFinalize})
		aMsg := a.API(s).BroadcastAll(t, "Choir practice moved to Thursday")
		waitRecipient(t, s, a, aMsg, annA, steeple.RecipientSent)
		waitMetric(t, s, telnyx.EventMessageSent, webhooks.OutcomeApplied, 1)

		// A text to A's number: A's inbox, matched to A's member, nothing in B.
		inbound(t, s, p, a.Number, "Can I bring a casserole?")
		th := waitConversationWith(t, s, a, p, 1)
		if in := th.Only(store.DirectionInbound); th.Member == nil || th.Member.ID != annA || len(in) != 1 ||
			in[0].Body != "Can I bring a casserole?" || th.Unread != 1 {
			t.Fatalf("A's conversation: %+v; want one unread text from member %s", th, annA)
		}
		waitMetric(t, s, telnyx.EventMessageReceived, webhooks.OutcomeApplied, 1)
		if cs := bb.API(s).Conversations(t, ""); len(cs) != 0 {
			t.Fatalf("B has %d conversations after a text to A's number: %+v", len(cs), cs)
		}

		// A receipt for B's broadcast: B's recipient delivered, A's untouched.
		s.Sim.SetOutcome(p, telnyxsim.Outcome{Kind: telnyxsim.Deliver})
		bMsg := bb.API(s).BroadcastAll(t, "Potluck on Sunday")
		bv := waitRecipient(t, s, bb, bMsg, annB, steeple.RecipientDelivered)
		if bv.Message.Counts["delivered"] != 1 || bv.Message.Recipients != 1 {
			t.Fatalf("B's broadcast: %+v; want its one recipient delivered", bv.Message)
		}
		waitMetric(t, s, telnyx.EventMessageFinalized, webhooks.OutcomeApplied, 1)
		av := a.API(s).GetBroadcast(t, aMsg)
		if r := av.Recipient(annA); r == nil || r.Status != steeple.RecipientSent || r.FinishedAt != nil || av.Message.Counts["sent"] != 1 {
			t.Fatalf("A's broadcast changed after B's receipt: %+v %+v", av.Message.Counts, av.Recipients)
		}
		if cs := bb.API(s).Conversations(t, ""); len(cs) != 0 {
			t.Fatalf("B has conversations: %+v", cs)
		}
		t.Logf("%s: two churches in %v", b.Name, time.Since(start).Round(time.Millisecond))

		t.Run("200 churches", func(t *testing.T) {
			coreIsolationAtScale(t, s, p, map[string]int{a.ID: 1, bb.ID: 0})
		})
	})
}

// coreIsolationAtScale provisions 200 churches that all have a member with
// phone p, sends one text to each church's number and one broadcast from
// each, and checks every church saw exactly its own; others (church id →
// conversations) must be as they were.
func coreIsolationAtScale(t *testing.T, s *testkit.Server, p string, others map[string]int) {
	const n = 200
	ctx := context.Background()
	start := time.Now()
	received := metric(t, s, telnyx.EventMessageReceived, webhooks.OutcomeApplied)
	finalized := metric(t, s, telnyx.EventMessageFinalized, webhooks.OutcomeApplied)
	type tenant struct {
		id, name, number, member, broadcast, text string
	}
	ts := make([]tenant, n)
	forEach(t, n, 4, func(i int) error {
		c := &ts[i]
		c.name, c.number = fmt.Sprintf("Church %03d", i), fmt.Sprintf("+1312555%04d", 2000+i)
		c.text = fmt.Sprintf("Hello church %03d, this is for you only", i)
		tn, err := s.Tenancy.Provisioner.Provision(ctx, tenancy.NewTenant{Name: c.name, Timezone: "America/Chicago",
			Setup: func(ctx context.Context, h *tenancy.Handle) error {
				m, err := s.Store.CreateMember(ctx, h, store.MemberInput{FirstName: fmt.Sprintf("Member%03d", i), Phone: p},
					steeple.Consent{Status: steeple.ConsentOptedIn, Source: steeple.ConsentSourceAdmin, Wording: "yes"})
				if steeple.ErrorCode(err) == steeple.ECONFLICT { // Setup ran before
					return nil
				}
				if err == nil {
					c.member = m.ID
				}
				return err
			}})
		if err != nil {
			return err
		}
		c.id = tn.ID
		return s.Tenancy.Registry.AssignNumber(ctx, c.id, c.number)
	})
	t.Logf("provisioned %d churches in %v", n, time.Since(start).Round(time.Millisecond))

	began := time.Now()
	forEach(t, n, 4, func(i int) error {
		c := &ts[i]
		h, err := s.Tenancy.Manager.Acquire(ctx, c.id)
		if err != nil {
			return err
		}
		bc, err := s.Messaging.Create(ctx, h, &steeple.Admin{ID: "test-admin"}, messaging.BroadcastRequest{
			Text: "News from {church_name}", Audience: store.Audience{All: true}})
		h.Release()
		if err != nil {
			return err
		}
		c.broadcast = bc.ID
		return s.Sim.Inbound(ctx, telnyxsim.InboundMessage{From: p, To: c.number, Text: c.text, WebhookURL: s.URL + "/webhooks/telnyx"})
	})
	testkit.Eventually(t, 90*time.Second, func() string {
		r := metric(t, s, telnyx.EventMessageReceived, webhooks.OutcomeApplied) - received
		f := metric(t, s, telnyx.EventMessageFinalized, webhooks.OutcomeApplied) - finalized
		if r != n || f != n {
			return fmt.Sprintf("%v texts and %v final receipts applied; want %d of each", r, f, n)
		}
		return ""
	})
	t.Logf("%d texts in and %d broadcasts out, all applied, in %v", n, n, time.Since(began).Round(time.Millisecond))

	forEach(t, n, 4, func(i int) error {
		c := &ts[i]
		h, err := s.Tenancy.Manager.Acquire(ctx, c.id)
		if err != nil {
			return err
		}
		defer h.Release()
		cs, _, err := s.Store.Conversations(ctx, h, store.ConversationQuery{Limit: 10})
		if err != nil {
			return err
		}
		if len(cs) != 1 || cs[0].Member == nil || cs[0].Member.ID != c.member || cs[0].ChurchNumber != c.number {
			return fmt.Errorf("%s has conversations %+v; want one with its member %s on %s", c.name, cs, c.member, c.number)
		}
		ms, _, err := s.Store.Thread(ctx, h, cs[0].ID, "", 10)
		if err != nil {
			return err
		}
		// The thread: the member's text and the church's own broadcast to
		// them, nothing of any other church.
		var in, out []*store.ConversationMessage
		for _, m := range ms {
			if m.Direction == store.DirectionInbound {
				in = append(in, m)
			} else {
				out = append(out, m)
			}
		}
		if len(in) != 1 || in[0].Body != c.text || len(out) != 1 || out[0].BroadcastID != c.broadcast {
			return fmt.Errorf("%s's thread: %+v; want only %q and broadcast %s", c.name, ms, c.text, c.broadcast)
		}
		rs, err := s.Store.BroadcastRecipients(ctx, h, c.broadcast)
		if err != nil {
			return err
		}
		if len(rs) != 1 || rs[0].MemberID != c.member || rs[0].Status != steeple.RecipientDelivered {
			return fmt.Errorf("%s's broadcast recipients: %+v; want its member %s delivered", c.name, rs, c.member)
		}
		return nil
	})
	// The provider got exactly one text from each church's number, with that
	// church's name, naming that church in its webhook URL.
	from := map[string][]telnyxsim.SentMessage{}
	for _, m := range s.Sim.Messages() {
		from[m.From] = append(from[m.From], m)
	}
	for _, c := range ts {
		got := from[c.number]
		if len(got) != 1 || got[0].To != p || got[0].Text != "News from "+c.name ||
			!strings.Contains(got[0].WebhookURL, "?tenant="+c.id+"&broadcast=") {
			t.Fatalf("texts from %s (%s): %+v; want one to %s from %s", c.number, c.name, got, p, c.name)
		}
	}
	for id, want := range others {
		if cs := churchConversations(t, s, id); len(cs) != want {
			t.Fatalf("church %s now has %d conversations; want still %d", id, len(cs), want)
		}
	}
	for _, o := range []string{webhooks.OutcomeUnrouted, webhooks.OutcomeUnknownID, webhooks.OutcomeUnavailable} {
		for _, ty := range []string{telnyx.EventMessageReceived, telnyx.EventMessageSent, telnyx.EventMessageFinalized} {
			if v := metric(t, s, ty, o); v != 0 {
				t.Errorf("%s %s = %v; want 0", ty, o, v)
			}
		}
	}
	t.Logf("200 churches checked in %v", time.Since(start).Round(time.Millisecond))
}

// forEach runs fn(0..n-1), workers at a time, failing on any error.
func forEach(t *testing.T, n, workers int, fn func(i int) error) {
	t.Helper()
	errs := make([]error, n)
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}
