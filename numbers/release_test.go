package numbers_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/numbers"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

// waitSent waits until the broadcast has no recipient left to send.
func waitSent(t *testing.T, s *testkit.Server, c *testkit.Church, id string) *testkit.BroadcastView {
	t.Helper()
	var v testkit.BroadcastView
	testkit.Eventually(t, 20*time.Second, func() string {
		r := s.Do(t, "GET", "/api/v1/messages/"+id, c.Token, nil)
		testkit.DecodeJSON(t, r.Raw, &v)
		if v.Message.Counts["queued"]+v.Message.Counts["sending"] > 0 || v.Message.Counts["sent"]+v.Message.Counts["delivered"] == 0 {
			return fmt.Sprintf("broadcast %s: %v", id, v.Message.Counts)
		}
		return ""
	})
	return &v
}

// TestReleaseStopsSending: a released number stops sending at once, even
// in the middle of a broadcast, while it stays the church's (and may be
// restored) during the grace period.
func TestReleaseStopsSending(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Messaging: func(c *messaging.Config) { c.PerNumberRate = 5 }})
		ctx := context.Background()
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		first := c.API(s).BuyNumber(t, "312")
		second := c.API(s).BuyNumber(t, "773")
		const members = 8
		s.AddMembers(t, c.ID, members, func(i int) string { return fmt.Sprintf("+1312300%04d", i) })

		// Released while its broadcast is under way (8 texts, 5 a second): the
		// rest goes from the church's other number. Only the texts already
		// waiting for their slots may still leave from the released one: one
		// per lane the chunk sends on (three at most; the church sends alone,
		// so its chunk sends a few texts at once).
		id := c.API(s).BroadcastAll(t, "Service moves to 11am")
		testkit.Eventually(t, 10*time.Second, func() string {
			if len(s.SentWhere(func(m telnyxsim.SentMessage) bool { return m.Text == "Service moves to 11am" })) == 0 {
				return "no text sent yet"
			}
			return ""
		})
		r := s.Do(t, "DELETE", "/api/v1/numbers/"+first, c.Token, nil)
		releasedAt := len(s.SentWhere(func(m telnyxsim.SentMessage) bool { return m.Text == "Service moves to 11am" }))
		var released testkit.NumberView
		if r.Status != http.StatusOK {
			t.Fatalf("release: %d %s", r.Status, r.Raw)
		}
		if r.Decode(t, &released); released.State != steeple.NumberReleasing {
			t.Fatalf("release: %s", r.Raw)
		}
		wantAt := s.Clock.Now().Add(numbers.DefaultConfig().ReleaseGrace).Truncate(time.Second)
		if ra := released.ReleaseAt; ra == nil || !ra.Equal(wantAt) {
			t.Errorf("release_at %v; want %v (30 days on)", ra, wantAt)
		}
		waitSent(t, s, c, id)
		sent := s.SentWhere(func(m telnyxsim.SentMessage) bool { return m.Text == "Service moves to 11am" })
		if len(sent) != members {
			t.Fatalf("%d texts sent; want %d", len(sent), members)
		}
		late := 0
		for _, m := range sent[releasedAt:] {
			switch m.From {
			case first:
				late++
			case second:
			default:
				t.Errorf("text from %s", m.From)
			}
		}
		if late > 3 || sent[len(sent)-1].From != second {
			t.Errorf("after the release %d texts left from the released number (of %d): %+v", late, len(sent)-releasedAt, sent)
		}
		if nums, err := s.Tenancy.Registry.SendingNumbers(ctx, c.ID); err != nil || len(nums) != 1 || nums[0] != second {
			t.Errorf("sending numbers %v (%v); want only %s", nums, err, second)
		}
		// A new broadcast goes from the other number only.
		id = c.API(s).BroadcastAll(t, "Choir at 6")
		if v := waitSent(t, s, c, id); v.Message.From != second {
			t.Errorf("new broadcast from %s; want %s", v.Message.From, second)
		}
		for _, m := range s.SentWhere(func(m telnyxsim.SentMessage) bool { return m.Text == "Choir at 6" }) {
			if m.From != second {
				t.Errorf("text from %s after the release", m.From)
			}
		}
		// Releasing again is a conflict; the release time does not move.
		if r := s.Do(t, "DELETE", "/api/v1/numbers/"+first, c.Token, nil); r.Status != http.StatusConflict {
			t.Errorf("second release: %d %s; want 409", r.Status, r.Raw)
		}
		// With no number left, a broadcast cannot be created.
		if r := s.Do(t, "DELETE", "/api/v1/numbers/"+second, c.Token, nil); r.Status != http.StatusOK {
			t.Fatalf("release second: %d %s", r.Status, r.Raw)
		}
		r = s.Do(t, "POST", "/api/v1/messages", c.Token, map[string]any{"text": "Hello", "audience": map[string]any{"all": true}})
		if r.Status != http.StatusBadRequest {
			t.Errorf("broadcast with every number released: %d %s; want 400", r.Status, r.Raw)
		}
		// Both still the church's, listed as releasing; still at the provider.
		l := c.API(s).Numbers(t)
		for _, n := range []string{first, second} {
			if v := l.Number(n); v == nil || v.State != steeple.NumberReleasing || v.ReleaseAt == nil {
				t.Errorf("%s listed as %+v", n, v)
			}
			if providerNumber(t, s, n) == nil {
				t.Errorf("%s was released at the provider before its grace ended", n)
			}
		}
		// Restored within the grace: sends again (it is the older number).
		s.Clock.Add(29 * 24 * time.Hour)
		if n, err := s.Numbers.ReleaseDue(ctx); err != nil || n != 0 {
			t.Fatalf("ReleaseDue before the grace ended: %d, %v", n, err)
		}
		c.Relogin(t, s)
		var restored testkit.NumberView
		r = c.API(s).Call(t, "POST", "/api/v1/numbers/"+first+"/restore", nil, http.StatusOK, &restored)
		if restored.State != steeple.NumberActive || restored.ReleaseAt != nil {
			t.Fatalf("restore within the grace: %s", r.Raw)
		}
		if r := s.Do(t, "POST", "/api/v1/numbers/"+first+"/restore", c.Token, nil); r.Status != http.StatusConflict {
			t.Errorf("restoring an active number: %d %s; want 409", r.Status, r.Raw)
		}
		id = c.API(s).BroadcastAll(t, "Welcome back")
		if v := waitSent(t, s, c, id); v.Message.From != first {
			t.Errorf("broadcast after the restore from %s; want %s", v.Message.From, first)
		}
		for _, m := range s.SentWhere(func(m telnyxsim.SentMessage) bool { return m.Text == "Welcome back" }) {
			if m.From != first {
				t.Errorf("text from %s after the restore", m.From)
			}
		}
	})
}

// TestReleaseAfterGrace: once the grace is over the number cannot be
// restored; the release job gives it back to the provider (retrying when
// the provider fails) and forgets it, and another church can buy it.
func TestReleaseAfterGrace(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		c, other := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"}), s.Church(t, testkit.ChurchOptions{Name: "Other Church"})
		kept := c.API(s).BuyNumber(t, "773")
		n := c.API(s).BuyNumber(t, "312")
		if r := s.Do(t, "DELETE", "/api/v1/numbers/"+n, c.Token, nil); r.Status != http.StatusOK {
			t.Fatalf("release: %d %s", r.Status, r.Raw)
		}
		if r := s.Do(t, "POST", "/api/v1/numbers", other.Token, map[string]any{"number": n}); r.Status != http.StatusConflict {
			t.Errorf("another church orders a number in its grace: %d %s; want 409", r.Status, r.Raw)
		}
		s.Clock.Add(numbers.DefaultConfig().ReleaseGrace + time.Second)
		c.Relogin(t, s)
		other.Relogin(t, s)
		if r := s.Do(t, "POST", "/api/v1/numbers/"+n+"/restore", c.Token, nil); r.Status != http.StatusConflict {
			t.Errorf("restore after the grace: %d %s; want 409", r.Status, r.Raw)
		}
		// The provider fails the release: the number is kept, releasing,
		// and released on the next round.
		s.Sim.FailNext(1, http.StatusInternalServerError, "10007")
		if k, err := s.Numbers.ReleaseDue(ctx); err != nil || k != 0 {
			t.Fatalf("ReleaseDue with the provider failing: %d, %v", k, err)
		}
		if owner(t, s, n) != c.ID || providerNumber(t, s, n) == nil {
			t.Fatal("a release the provider failed was forgotten")
		}
		if k, err := s.Numbers.ReleaseDue(ctx); err != nil || k != 1 {
			t.Fatalf("ReleaseDue: %d, %v; want 1", k, err)
		}
		if providerNumber(t, s, n) != nil {
			t.Error("the provider still has the released number")
		}
		wantConsistent(t, s, n, "")
		if k, err := s.Numbers.ReleaseDue(ctx); err != nil || k != 0 {
			t.Errorf("ReleaseDue again: %d, %v", k, err)
		}
		l := c.API(s).Numbers(t)
		if l.Number(n) != nil || len(l.Numbers) != 1 || l.Number(kept) == nil || l.Number(kept).State != steeple.NumberActive {
			t.Errorf("church's list after the release: %+v", l)
		}
		if r := s.Do(t, "POST", "/api/v1/numbers/"+n+"/restore", c.Token, nil); r.Status != http.StatusNotFound {
			t.Errorf("restore of a forgotten number: %d %s; want 404", r.Status, r.Raw)
		}
		// Another church buys it.
		other.API(s).OrderNumber(t, n)
		other.API(s).WaitNumberActive(t, n)
		wantConsistent(t, s, n, other.ID)
		ops := profiles(t, s, other.ID)
		if pn := providerNumber(t, s, n); pn == nil || len(ops) != 1 || pn.MessagingProfileID != ops[0] {
			t.Errorf("rebought number at the provider: %+v (profiles %v)", pn, ops)
		}
		if r := s.Do(t, "DELETE", "/api/v1/numbers/"+n, c.Token, nil); r.Status != http.StatusNotFound {
			t.Errorf("the first church releases its former number: %d %s; want 404", r.Status, r.Raw)
		}
		if l := c.API(s).Numbers(t); l.Number(n) != nil {
			t.Errorf("the first church still lists %s", n)
		}
	})
}
