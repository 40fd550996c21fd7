package messaging_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

// slowProvider hands each text to the simulator after a delay, so a stop
// lands while texts are in the provider's hands.
type slowProvider struct {
	messaging.Provider
	delay time.Duration
}

func (p *slowProvider) Send(ctx context.Context, m messaging.Outbound) (string, error) {
	time.Sleep(p.delay)
	return p.Provider.Send(ctx, m)
}

// Stop sending, with two worker processes and a slow provider: once the
// cancel is answered, the simulator receives no further text of the
// broadcast, and every recipient not sent is skipped, "stopped by" the admin.
func TestStopSendingAcrossProcesses(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		t.Parallel()
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true, Tenancy: wallClock})
		c := s.Church(t, testkit.ChurchOptions{Name: "Stop Church", Email: "owner@stop.example.org", Number: "+13125550910"})
		ctx := context.Background()
		s.SetSendRate(t, c.ID, "10")
		ids := importMembers(t, s, c, membersCSV("Stop", 6000, 6250)).ids()
		// Three chunks: both processes send at once.
		id := c.API(s).Broadcast(t, map[string]any{"text": "Service cancelled", "audience": map[string]any{"member_ids": ids}})
		simHTTP := httptest.NewServer(s.Sim)
		t.Cleanup(simHTTP.Close)
		for range 2 {
			a := s.Another(t, simHTTP.URL, func(tu *app.Tuning) {
				tu.Provider = func(mp messaging.Provider) messaging.Provider {
					return &slowProvider{Provider: mp, delay: 150 * time.Millisecond}
				}
				tu.Queue.MaxWorkers, tu.Queue.EventWorkers, tu.Queue.PollInterval = 2, 0, 20*time.Millisecond
			})
			startQueue(t, a.Queue, t.Cleanup)
		}
		testkit.WaitUntil(t, time.Minute, func() bool { return len(stopTexts(s)) >= 5 },
			func() string { return "the broadcast never started sending" })
		r := s.Do(t, "POST", "/api/v1/messages/"+id+"/cancel", c.Token, nil)
		acked := time.Now()
		if r.Status != http.StatusOK {
			t.Fatalf("cancel: %d %s", r.Status, r.Raw)
		}
		atAck := len(stopTexts(s))
		v := waitDone(t, s, c, id, 10*time.Second)
		// Longer than any send in flight could take: nothing more arrives.
		time.Sleep(time.Second)
		got := stopTexts(s)
		for _, m := range got {
			if m.ReceivedAt.After(acked) {
				t.Fatalf("%s: the simulator received a text %v after the stop was answered", b.Name, m.ReceivedAt.Sub(acked))
			}
		}
		cnt := v.Message.Counts
		if len(got) != atAck || cnt["sent"]+cnt["delivered"] != len(got) || cnt["skipped"] != 250-len(got) {
			t.Fatalf("%s: %d texts at the answer, %d now; counts %v", b.Name, atAck, len(got), cnt)
		}
		stopped := 0
		for _, rc := range v.Recipients {
			if rc.Status == "skipped" {
				if !strings.HasPrefix(rc.ErrorDetail, "stopped by ") {
					t.Fatalf("skipped with %q", rc.ErrorDetail)
				}
				stopped++
			}
		}
		if stopped == 0 || len(got) >= 250 {
			t.Fatalf("%s: the stop came too late to prove anything (%d sent)", b.Name, len(got))
		}
		// Audit-logged, and a second stop is harmless.
		if r := s.Do(t, "POST", "/api/v1/messages/"+id+"/cancel", c.Token, nil); r.Status != http.StatusOK {
			t.Fatalf("second cancel: %d %s", r.Status, r.Raw)
		}
		h, err := s.Tenancy.Manager.Acquire(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Release()
		log, err := s.Store.AuditLog(ctx, h, "", 0, 50)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range log {
			found = found || (e.Action == "message.stopped" && e.Target == id)
		}
		if !found {
			t.Fatalf("no message.stopped audit entry")
		}
		t.Logf("%s: %d sent before the stop", b.Name, len(got))
	})
}

// stopTexts is what the simulator received of the broadcast (the import's
// welcome texts go out from the same number).
func stopTexts(s *testkit.Server) []telnyxsim.SentMessage {
	var out []telnyxsim.SentMessage
	for _, m := range s.Sim.Messages() {
		if m.Text == "Service cancelled" {
			out = append(out, m)
		}
	}
	return out
}

// Another church's broadcast is not found.
func TestStopOtherChurchNotFound(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		t.Parallel()
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		a := s.Church(t, testkit.ChurchOptions{Name: "Church A", Email: "a@stopa.example.org", Number: "+13125550911"})
		o := s.Church(t, testkit.ChurchOptions{Name: "Church B", Email: "b@stopb.example.org", Number: "+13125550912"})
		ids := importMembers(t, s, a, membersCSV("A", 6300, 6302)).ids()
		id := a.API(s).Broadcast(t, map[string]any{"text": "Hi", "audience": map[string]any{"member_ids": ids}})
		if r := s.Do(t, "POST", "/api/v1/messages/"+id+"/cancel", o.Token, nil); r.Status != http.StatusNotFound {
			t.Fatalf("other church's cancel: %d %s", r.Status, r.Raw)
		}
		if r := s.Do(t, "POST", "/api/v1/messages/not-an-id/cancel", a.Token, nil); r.Status != http.StatusNotFound {
			t.Fatalf("bad id: %d %s", r.Status, r.Raw)
		}
	})
}

// A recipient whose text a worker had claimed when the stop came (the worker
// then died, or the provider said "try later") is still to be sent as far as
// its row goes; the claim reads the stop itself, so no retry sends it.
func TestClaimAfterStopSendsNothing(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		t.Parallel()
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c := s.Church(t, testkit.ChurchOptions{Name: "Claim Church", Email: "owner@claim.example.org", Number: "+13125550911"})
		ids := importMembers(t, s, c, membersCSV("Claim", 6300, 6303)).ids()
		id := c.API(s).Broadcast(t, map[string]any{"text": "Picnic moved", "audience": map[string]any{"member_ids": ids}})
		ctx := context.Background()
		h, err := s.Tenancy.Manager.Acquire(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Release()
		for _, m := range ids[:2] {
			if ok, err := s.Store.ClaimHandOff(ctx, h, id, m); err != nil || !ok {
				t.Fatalf("claim before the stop: %v, %v", ok, err)
			}
		}
		owner, err := s.Store.AdminByEmail(ctx, h, c.Email)
		if err != nil {
			t.Fatal(err)
		}
		skipped, err := s.Store.StopBroadcast(ctx, h, id, owner.ID, owner.Name, "")
		if err != nil || skipped != len(ids)-2 {
			t.Fatalf("stop skipped %d, %v; want %d (the two claimed are in flight)", skipped, err, len(ids)-2)
		}
		// The first one's worker died; the second one's provider said "try
		// later" after the stop: back to queued.
		if err := s.Store.UpdateRecipient(ctx, h, id, ids[1], store.RecipientUpdate{Status: steeple.RecipientQueued}); err != nil {
			t.Fatal(err)
		}
		for _, m := range ids {
			if ok, err := s.Store.ClaimHandOff(ctx, h, id, m); err != nil || ok {
				t.Fatalf("claim after the stop of %s: %v, %v; want false", m, ok, err)
			}
		}
		// The one put back to queued was surely never sent: skipped as the
		// stop would have. The one whose worker died may have reached the
		// provider, so it is not called skipped.
		rs, err := s.Store.BroadcastRecipients(ctx, h, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			switch r.MemberID {
			case ids[0]:
				if r.Status != steeple.RecipientSending {
					t.Errorf("recipient claimed before the stop: %s, want sending", r.Status)
				}
			case ids[1]:
				if want := "stopped by " + owner.Name; r.Status != steeple.RecipientSkipped || r.ErrorDetail != want {
					t.Errorf("recipient put back after the stop: %s %q, want skipped %q", r.Status, r.ErrorDetail, want)
				}
			}
		}
	})
}
