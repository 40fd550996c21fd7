package tenancy_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
	"github.com/steeple-sms/steeple/tenancy"
)

// A church moved while a broadcast is being sent and texts and receipts
// keep arriving: nothing is lost and nobody gets a text twice.
func TestMoveWhileServing(t *testing.T) {
	b := testkit.Postgres(t, true)
	s := testkit.NewServer(t, b, testkit.ServerOptions{
		Messaging: func(c *messaging.Config) { c.PerNumberRate = 6 }, // 25 s of sending: outlasts the copy on a busy CI machine
	})
	const members, visitors = 150, 12
	c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100", Members: members, QuietHoursOff: true})
	ctx := context.Background()
	church, err := s.Tenancy.Registry.Tenant(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	to := otherServer(t, s.Tenancy, church.Server)

	bid := c.API(s).BroadcastAll(t, "Service moved to 11 this Sunday")
	testkit.WaitUntil(t, 30*time.Second, func() bool { return len(s.SentFrom(c.Number)) >= 10 }, "the broadcast to start")

	// Visitors text in before, during and after the pause.
	var wg sync.WaitGroup
	texting := make(chan error, visitors)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range visitors {
			texting <- s.Sim.Inbound(ctx, telnyxsim.InboundMessage{From: fmt.Sprintf("+1773555%04d", i), To: c.Number,
				Text: fmt.Sprintf("Question %d", i), WebhookURL: s.URL + "/webhooks/telnyx"})
			time.Sleep(150 * time.Millisecond) // spread over the move; not waiting for anything
		}
	}()
	var paused bool
	var sentAtPause int
	tenancy.SetMoveHook(s.Tenancy, func(ctx context.Context, step tenancy.ServerMoveStep) error {
		if step == tenancy.MoveCopied { // writes are paused here: a text arrives now
			paused, sentAtPause = true, len(s.SentFrom(c.Number))
			return s.Sim.Inbound(ctx, telnyxsim.InboundMessage{From: "+17735559999", To: c.Number,
				Text: "During the pause", WebhookURL: s.URL + "/webhooks/telnyx"})
		}
		return nil
	})
	res, err := s.Tenancy.Move(ctx, c.ID, to)
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(texting)
	for err := range texting {
		if err != nil {
			t.Fatalf("inbound text: %v", err)
		}
	}
	if !paused || sentAtPause >= members {
		t.Fatalf("at the pause (reached: %v) %d of %d texts were sent; want the broadcast under way", paused, sentAtPause, members)
	}
	t.Logf("moved %s → %s: writes paused %.0f ms, %d rows; %d texts sent before the pause", res.From, res.To, res.PauseMS, res.Rows, sentAtPause)

	// The broadcast finishes on the new server, each member texted once.
	api := c.API(s)
	testkit.Eventually(t, 60*time.Second, func() string {
		v := api.GetBroadcast(t, bid)
		n := 0
		var others []string
		for _, r := range v.Recipients {
			if r.Status == steeple.RecipientDelivered {
				n++
			} else {
				others = append(others, fmt.Sprintf("%+v", r))
			}
		}
		if n != members {
			return fmt.Sprintf("%d of %d recipients delivered; the others: %v", n, members, others)
		}
		return ""
	})
	if err := s.Sim.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range c.Phones {
		if n := len(s.SentTo(p)); n != 1 {
			t.Errorf("%s got %d texts, want 1", p, n)
		}
	}
	// Every inbound text is in the inbox, the one sent during the pause too.
	testkit.Eventually(t, 30*time.Second, func() string {
		var n int
		s.WithHandle(t, c.ID, func(h *tenancy.Handle) {
			cs, _, err := s.Store.Conversations(ctx, h, store.ConversationQuery{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			n = len(cs)
		})
		if n != visitors+1 {
			return fmt.Sprintf("%d conversations, want %d", n, visitors+1)
		}
		return ""
	})
	after, err := s.Tenancy.Registry.Tenant(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Server != to || after.Status != steeple.TenantActive {
		t.Fatalf("church after the move: %s on %s", after.Status, after.Server)
	}
	if databaseExists(t, b, church.Server, church.DatabaseName) {
		t.Errorf("old database still on %s", church.Server)
	}
	s.WithHandle(t, c.ID, func(h *tenancy.Handle) {
		var n int
		if err := h.QueryRowContext(ctx, `SELECT COUNT(*) FROM members`).Scan(&n); err != nil || n != members {
			t.Errorf("members on the new server: %d (%v)", n, err)
		}
	})
}
