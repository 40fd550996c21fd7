package messaging_test

import (
	"context"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
)

// countingProvider counts what one process sends.
type countingProvider struct {
	messaging.Provider
	sent atomic.Int64
}

func (p *countingProvider) Send(ctx context.Context, m messaging.Outbound) (string, error) {
	id, err := p.Provider.Send(ctx, m)
	if err == nil {
		p.sent.Add(1)
	}
	return id, err
}

// Two processes — each its own messaging service and River queue over the
// same registry — sending from one church's number together still keep to
// its 5 texts a second: the pacing slots live in the registry.
func TestPacingAcrossProcesses(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		t.Parallel()
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true, Tenancy: wallClock})
		c := s.Church(t, testkit.ChurchOptions{Name: "Shared Number Church", Email: "owner@shared.example.org", Number: "+13125550900"})
		s.SetSendRate(t, c.ID, "5")
		ids := importMembers(t, s, c, membersCSV("Two", 5000, 5060)).ids()
		// Four broadcasts: four send jobs for two one-job-at-a-time processes.
		var msgs []string
		for i := 0; i < 4; i++ {
			msgs = append(msgs, c.API(s).Broadcast(t, map[string]any{"text": "Choir practice moved",
				"audience": map[string]any{"member_ids": ids[i*15 : (i+1)*15]}}))
		}
		simHTTP := httptest.NewServer(s.Sim)
		t.Cleanup(simHTTP.Close)
		var procs []*countingProvider
		for range 2 {
			p := &countingProvider{}
			procs = append(procs, p)
			a := s.Another(t, simHTTP.URL, func(tu *app.Tuning) {
				tu.Provider = func(mp messaging.Provider) messaging.Provider { p.Provider = mp; return p }
				tu.Queue.MaxWorkers, tu.Queue.EventWorkers, tu.Queue.PollInterval = 1, 0, 20*time.Millisecond
				tu.Messaging.RetryBackoff = messaging.DefaultConfig().RetryBackoff
			})
			startQueue(t, a.Queue, t.Cleanup)
		}
		for _, id := range msgs {
			wantAllSent(t, waitDone(t, s, c, id, time.Minute), 15)
		}
		if procs[0].sent.Load() == 0 || procs[1].sent.Load() == 0 {
			t.Fatalf("one process sent everything (%d, %d): the test proves nothing", procs[0].sent.Load(), procs[1].sent.Load())
		}
		got := s.SentFrom(c.Number)
		if len(got) != 60 {
			t.Fatalf("simulator accepted %d texts; want 60", len(got))
		}
		for i := 0; i+5 < len(got); i++ {
			if gap := got[i+5].ReceivedAt.Sub(got[i].ReceivedAt); gap < time.Second-hopJitter { // see hopJitter
				t.Fatalf("six texts within %v from two processes at a 5/s limit (texts %d–%d)", gap, i, i+5)
			}
		}
		if span := got[59].ReceivedAt.Sub(got[0].ReceivedAt); span < 11*time.Second {
			t.Errorf("60 texts at 5/s took %v; want about 12 s", span)
		}
		t.Logf("%s: processes sent %d and %d", b.Name, procs[0].sent.Load(), procs[1].sent.Load())
	})
}
