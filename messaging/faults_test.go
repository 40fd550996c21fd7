package messaging_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

// startQueue starts a NoQueue server's queue (or one the test built) and
// has cleanup stop it.
func startQueue(t *testing.T, q *jobs.Queue, cleanup func(func())) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = q.Stop(sctx)
		cancel()
	})
}

// recipientOutcome is where one recipient ended.
type recipientOutcome struct {
	Status       steeple.RecipientStatus
	Code, Detail string
}

// recipientsByMember indexes a broadcast's recipients.
func recipientsByMember(v *testkit.BroadcastView) map[string]recipientOutcome {
	out := map[string]recipientOutcome{}
	for _, r := range v.Recipients {
		out[r.MemberID] = recipientOutcome{r.Status, r.ErrorCode, r.ErrorDetail}
	}
	return out
}

// TestBroadcastSendOutcomes runs one church through what can happen
// between a broadcast's creation and its texts reaching the provider:
// consent and phone changes while it waits for a worker, the provider's
// refusals (40300, 40310, other 4xx), a storm of 429s and an outage. (One
// server and church for all of it: PostgreSQL databases are slow to drop.)
func TestBroadcastSendOutcomes(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		t.Parallel() // mostly waiting for backoffs: run both backends side by side
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true, Tenancy: wallClock, Messaging: func(c *messaging.Config) {
			// 7 s of in-job retries: shorter than the outage below, so the
			// job itself fails once and the queue retries it.
			c.RetryBackoff = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
		}})
		c := s.Church(t, testkit.ChurchOptions{Name: "Consent Chapel", Email: "owner@consent.example.org", Number: "+13125550600"})
		cleanup := t.Cleanup // the queue started below outlives the subtest
		t.Run("consent and provider refusals", func(t *testing.T) { testConsentAndRefusals(t, s, c, cleanup) })
		t.Run("429 storm", func(t *testing.T) { test429Storm(t, s, c) })
		t.Run("outage", func(t *testing.T) { testOutage(t, s, c) })
	})
}

// testConsentAndRefusals: opted-out and deleted members are skipped, a
// provider block (40300) becomes the member's own opt-out, an invalid
// number (40310) fails the recipient and flags the member, another 4xx
// fails with the provider's detail. It starts the server's queue, which
// cleanup stops.
func testConsentAndRefusals(t *testing.T, s *testkit.Server, c *testkit.Church, cleanup func(func())) {
	p := func(i int) string { return testkit.Phone(9000 + i) }
	stay := c.API(s).CreateMember(t, "Stay", p(1))
	leave := c.API(s).CreateMember(t, "Leave", p(2))
	blocked := c.API(s).CreateMember(t, "Blocked", p(3))
	gone := c.API(s).CreateMember(t, "Gone", p(4))
	moved := c.API(s).CreateMember(t, "Moved", p(6))

	id := c.API(s).Broadcast(t, map[string]any{"text": "Choir practice moved to 7pm", "audience": map[string]any{"all": true}})
	if v := c.API(s).GetBroadcast(t, id); v.Message.Recipients != 5 || v.Message.Counts["queued"] != 5 {
		t.Fatalf("new broadcast: %d recipients, counts %v; want 5 queued", v.Message.Recipients, v.Message.Counts)
	}
	// While it waits for a worker: one member opts out, one is deleted,
	// one texts STOP to the provider, and one gets a new phone number.
	r := s.Do(t, "PUT", "/api/v1/members/"+leave, c.Token, map[string]any{"first_name": "Leave", "last_name": "Tester",
		"phone": p(2), "consent": map[string]any{"opted_in": false}})
	if r.Status != http.StatusOK {
		t.Fatalf("opt out: %d %s", r.Status, r.Raw)
	}
	if r := s.Do(t, "DELETE", "/api/v1/members/"+gone, c.Token, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete member: %d %s", r.Status, r.Raw)
	}
	s.Sim.OptOut(p(3))
	r = s.Do(t, "PUT", "/api/v1/members/"+moved, c.Token, map[string]any{"first_name": "Moved", "last_name": "Tester", "phone": p(7)})
	if r.Status != http.StatusOK {
		t.Fatalf("change phone: %d %s", r.Status, r.Raw)
	}
	startQueue(t, s.Queue, cleanup)

	got := recipientsByMember(waitDone(t, s, c, id, time.Minute))
	want := map[string]steeple.RecipientStatus{stay: "sent", leave: "skipped", blocked: "skipped", gone: "skipped"}
	for m, st := range want {
		if g := got[m].Status; g != st && !(st == "sent" && g == "delivered") {
			t.Errorf("recipient %s: status %q (%s %s); want %s", m, g, got[m].Code, got[m].Detail, st)
		}
	}
	if got[blocked].Code != "40300" {
		t.Errorf("provider-blocked recipient: error_code %q; want 40300", got[blocked].Code)
	}
	for i, n := range map[int]int{1: 1, 2: 0, 3: 0, 4: 0} {
		if s.Sim.CountTo(p(i)) != n {
			t.Errorf("simulator accepted %d texts to %s; want %d", s.Sim.CountTo(p(i)), p(i), n)
		}
	}
	if m := c.API(s).GetMember(t, blocked); m.Consent.Status != "opted_out" || m.Consent.Source != "provider" {
		t.Errorf("member blocked at the provider: consent %+v; want opted_out from provider", m.Consent)
	}
	t.Run("phone changed before the send", func(t *testing.T) {
		// The old number may be someone else's now: it never consented.
		if n := s.Sim.CountTo(p(6)); n != 0 {
			t.Fatalf("the member's phone was changed from %s to %s before the send, yet %s got %d text(s) (recipient %+v); "+
				"want the current number texted (or the recipient skipped), never the old one", p(6), p(7), p(6), n, got[moved])
		}
	})

	// 40310: the provider says the number cannot receive texts.
	s.Sim.FailNext(1, http.StatusBadRequest, "40310")
	id2 := c.API(s).Broadcast(t, map[string]any{"text": "Are you still at this number?", "audience": map[string]any{"member_ids": []string{stay}}})
	rec := recipientsByMember(waitDone(t, s, c, id2, time.Minute))[stay]
	if rec.Status != "failed" || rec.Code != "40310" || !strings.Contains(rec.Detail, "invalid") {
		t.Errorf("recipient with an invalid number: %+v; want failed, 40310, with a reason", rec)
	}
	if !c.API(s).GetMember(t, stay).PhoneInvalid {
		t.Errorf("member whose number the provider rejected: phone_invalid is false")
	}
	if n := s.Sim.CountTo(p(1)); n != 1 {
		t.Errorf("simulator accepted %d texts to %s; want still 1", n, p(1))
	}
	// Any other refusal fails the recipient with the provider's detail.
	s.Sim.FailNext(1, http.StatusBadRequest, "40322")
	id3 := c.API(s).Broadcast(t, map[string]any{"text": "Bingo night!", "audience": map[string]any{"member_ids": []string{moved}}})
	if rec := recipientsByMember(waitDone(t, s, c, id3, time.Minute))[moved]; rec.Status != "failed" || rec.Code != "40322" || rec.Detail == "" {
		t.Errorf("recipient refused with 40322: %+v; want failed with the provider's code and detail", rec)
	}
	if m := c.API(s).GetMember(t, moved); m.PhoneInvalid || m.Consent.Status != "opted_in" {
		t.Errorf("member after a 40322: %+v; want the member untouched", m)
	}
	// Of these three, nobody is left who may be texted.
	r = s.Do(t, "POST", "/api/v1/messages", c.Token, map[string]any{"text": "Anyone?",
		"audience": map[string]any{"member_ids": []string{stay, leave, blocked}}})
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Raw, `"audience"`) {
		t.Errorf("broadcast with no eligible recipient: %d %s; want 400 naming audience", r.Status, r.Raw)
	}
	// A new number clears the flag.
	r = s.Do(t, "PUT", "/api/v1/members/"+stay, c.Token, map[string]any{"first_name": "Stay", "last_name": "Tester", "phone": p(5)})
	if r.Status != http.StatusOK || c.API(s).GetMember(t, stay).PhoneInvalid {
		t.Errorf("after a new phone number: %d %s; want phone_invalid cleared", r.Status, r.Raw)
	}
}

// test429Storm: against a provider limit of 25/s (and 1,000/s pacing) most
// sends are refused with 429; all are sent in the end, none twice.
func test429Storm(t *testing.T, s *testkit.Server, c *testkit.Church) {
	ids := importMembers(t, s, c, membersCSV("Storm", 0, 200)).ids()
	const limit = 25
	s.Sim.SetRateLimit(limit)
	defer s.Sim.SetRateLimit(0)
	id := c.API(s).Broadcast(t, map[string]any{"text": "Storm warning: service cancelled", "audience": map[string]any{"member_ids": ids}})
	wantAllSent(t, waitDone(t, s, c, id, 2*time.Minute), 200)
	wantOncePerPhone(t, s, 0, 200)
	got := sentFromTo(s, c.Number, 0, 200)
	perSecond := map[int64]int{}
	for _, m := range got {
		perSecond[m.ReceivedAt.Unix()]++
	}
	// At most 25 in each calendar second, 200 texts take 8 of them: more
	// than 6 s from first to last (at 1,000/s unlimited, 0.2 s).
	if span := got[len(got)-1].ReceivedAt.Sub(got[0].ReceivedAt); span < 6*time.Second {
		t.Errorf("200 texts under a %d/s provider limit went out in %v: the limit was never hit", limit, span)
	}
	for sec, n := range perSecond {
		if n > limit {
			t.Errorf("simulator accepted %d texts in second %d; its limit is %d", n, sec, limit)
		}
	}
}

// outage is how long the provider is down in testOutage, as the issue asks:
// the in-job backoff runs out, the queue retries the job (twice), and the
// provider comes back.
const outage = 30 * time.Second

// testOutage: the provider answers 503 for a while; everything is sent once
// it is back, nothing twice.
func testOutage(t *testing.T, s *testkit.Server, c *testkit.Church) {
	ctx := context.Background()
	ids := importMembers(t, s, c, membersCSV("Out", 1000, 1150)).ids()
	s.Sim.SetDown(true)
	up := time.Now().Add(outage)
	timer := time.AfterFunc(outage, func() { s.Sim.SetDown(false) })
	defer timer.Stop()
	defer s.Sim.SetDown(false)
	id := c.API(s).Broadcast(t, map[string]any{"text": "Potluck after service", "audience": map[string]any{"member_ids": ids}})
	// The worker is trying (and being refused) during the outage.
	testkit.WaitUntil(t, outage-5*time.Second, func() bool {
		h, err := s.Tenancy.Manager.Acquire(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Release()
		rs, err := s.Store.BroadcastRecipients(ctx, h, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.ErrorCode == "10007" {
				return true
			}
		}
		return false
	}, func() string { return "no recipient records the provider's 503 (10007) during the outage" })
	wantAllSent(t, waitDone(t, s, c, id, 2*time.Minute), 150)
	wantOncePerPhone(t, s, 1000, 1150)
	for _, m := range sentFromTo(s, c.Number, 1000, 1150) {
		if m.ReceivedAt.Before(up.Add(-time.Second)) {
			t.Fatalf("text to %s accepted at %v, during the outage (ends %v)", m.To, m.ReceivedAt, up)
		}
	}
	jobs := chunkJobs(t, s, id)
	retried := 0
	for _, j := range jobs {
		if j.attempt > 1 {
			retried++
		}
	}
	t.Logf("%s: %d send jobs, %d needed a queue-level retry", s.Backend.Name, len(jobs), retried)
	if len(jobs) != 2 {
		t.Errorf("broadcast of 150 has %d send jobs; want 2", len(jobs))
	}
}

// sentFromTo is what the simulator accepted from a number to the test phones lo..hi-1.
func sentFromTo(s *testkit.Server, from string, lo, hi int) []telnyxsim.SentMessage {
	want := map[string]bool{}
	for i := lo; i < hi; i++ {
		want[testkit.Phone(i)] = true
	}
	var out []telnyxsim.SentMessage
	for _, m := range s.SentFrom(from) {
		if want[m.To] {
			out = append(out, m)
		}
	}
	return out
}

// wantOncePerPhone checks that the test phones from..to-1 each got exactly one text.
func wantOncePerPhone(t *testing.T, s *testkit.Server, from, to int) {
	t.Helper()
	var wrong []string
	for i := from; i < to; i++ {
		if n := s.Sim.CountTo(testkit.Phone(i)); n != 1 {
			wrong = append(wrong, fmt.Sprintf("%s×%d", testkit.Phone(i), n))
		}
	}
	if len(wrong) > 0 {
		t.Fatalf("%d of %d recipients did not get exactly one text: %s", len(wrong), to-from, strings.Join(wrong[:min(10, len(wrong))], ", "))
	}
}
