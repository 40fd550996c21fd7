package messaging_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/tenancy"
)

// TestSuspendedChurchBroadcastResumes: a broadcast whose send jobs run
// while its church is suspended sends nothing then, and is not left queued
// forever: once the church is resumed, the sweep queues what was parked
// and every recipient gets the text once.
func TestSuspendedChurchBroadcastResumes(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true, Tenancy: wallClock,
			Messaging: func(c *messaging.Config) { c.SweepAge = 0 }})
		ctx := context.Background()
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Email: "owner@grace.example.org", Number: "+13125550820"})
		const members = 150 // two chunks
		importMembers(t, s, c, membersCSV("M", 0, members))
		id := c.API(s).Broadcast(t, map[string]any{"text": "While suspended", "audience": map[string]any{"all": true}})
		if _, err := s.Tenancy.Registry.SetStatus(ctx, c.ID, steeple.TenantSuspended, steeple.TenantActive); err != nil {
			t.Fatal(err)
		}
		startQueue(t, s.Queue, t.Cleanup)
		parked := func() int {
			var n int
			if err := s.Tenancy.Registry.DB().QueryRowContext(ctx, `SELECT count(*) FROM dispatch_intents WHERE tenant_id = $1 AND kind = $2`,
				c.ID, tenancy.IntentParkedChunk).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		testkit.WaitUntil(t, 20*time.Second, func() bool { return parked() == 2 }, func() string {
			return fmt.Sprintf("%d chunks parked while the church is suspended; want 2", parked())
		})
		if n, err := s.Messaging.Sweep(ctx); n != 0 || err != nil {
			t.Fatalf("sweep while suspended: %d, %v; want nothing taken", n, err)
		}
		if got := len(s.SentFrom(c.Number)); got != 0 {
			t.Fatalf("%d texts sent while suspended", got)
		}
		if _, err := s.Tenancy.Registry.SetStatus(ctx, c.ID, steeple.TenantActive, steeple.TenantSuspended); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Messaging.Sweep(ctx); n != 2 || err != nil {
			t.Fatalf("sweep after resuming: %d, %v; want both chunks queued again", n, err)
		}
		wantAllSent(t, waitDone(t, s, c, id, 30*time.Second), members)
		if got := len(s.SentFrom(c.Number)); got != members {
			t.Fatalf("%d texts sent; want %d, once each", got, members)
		}
	})
}
