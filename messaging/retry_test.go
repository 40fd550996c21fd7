package messaging_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
)

// A text the provider refused for now waits before it is tried again; what
// changed meanwhile holds: a member who opted out is skipped, and a number
// released sends nothing more.
func TestRetryLooksAgain(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Tenancy: wallClock,
			Messaging: func(c *messaging.Config) { c.RetryBackoff = []time.Duration{3 * time.Second} }})
		ctx := context.Background()
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Email: "owner@grace.example.org", Number: "+13125550820"})
		ann := c.API(s).CreateMember(t, "Ann", testkit.Phone(1))
		ben := c.API(s).CreateMember(t, "Ben", testkit.Phone(2))
		recipient := func(id, member string) (steeple.RecipientStatus, string, string) {
			for _, r := range c.API(s).GetBroadcast(t, id).Recipients {
				if r.MemberID == member {
					return r.Status, r.ErrorCode, r.ErrorDetail
				}
			}
			return "", "", ""
		}
		waitRefused := func(id, member string) {
			t.Helper()
			testkit.WaitUntil(t, 15*time.Second, func() bool {
				st, code, _ := recipient(id, member)
				return st == "queued" && code == "10007"
			}, func() string { st, code, _ := recipient(id, member); return fmt.Sprintf("recipient %s %s", st, code) })
		}

		// Ann opts out while her text waits for its retry.
		s.Sim.FailNext(1, http.StatusServiceUnavailable, "10007")
		first := c.API(s).Broadcast(t, map[string]any{"text": "Choir at seven", "audience": map[string]any{"member_ids": []string{ann}}})
		waitRefused(first, ann)
		h, err := s.Tenancy.Manager.Acquire(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Store.SetConsent(ctx, h, ann, steeple.Consent{Status: steeple.ConsentOptedOut, Source: steeple.ConsentSourceKeyword})
		h.Release()
		if err != nil {
			t.Fatal(err)
		}
		testkit.WaitUntil(t, 15*time.Second, func() bool { st, _, _ := recipient(first, ann); return st == "skipped" },
			func() string { st, _, d := recipient(first, ann); return "Ann: " + string(st) + " " + d })
		if n := s.Sim.CountTo(testkit.Phone(1)); n != 0 {
			t.Fatalf("Ann got %d texts after opting out during the retry wait", n)
		}

		// The church releases its number while Ben's text waits.
		s.Sim.FailNext(1, http.StatusServiceUnavailable, "10007")
		second := c.API(s).Broadcast(t, map[string]any{"text": "Potluck Sunday", "audience": map[string]any{"member_ids": []string{ben}}})
		waitRefused(second, ben)
		if err := s.Tenancy.Registry.StartRelease(ctx, c.ID, c.Number, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		testkit.WaitUntil(t, 30*time.Second, func() bool { st, _, _ := recipient(second, ben); return st == "failed" },
			func() string { st, _, d := recipient(second, ben); return "Ben: " + string(st) + " " + d })
		if n := s.Sim.CountTo(testkit.Phone(2)); n != 0 {
			t.Fatalf("Ben got %d texts from a number released during the retry wait", n)
		}
	})
}
