package numbers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/numbers"
)

// TestOwnershipMatrix: church A tries every number operation on church B's
// number (active, releasing, being bought), on a number nobody owns and on
// a malformed one. Each is "not found" (an order: "not available"), and
// B's numbers and orders are exactly as they were.
func TestOwnershipMatrix(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		a, bb := s.Church(t, testkit.ChurchOptions{Name: "Alpha Chapel"}), s.Church(t, testkit.ChurchOptions{Name: "Beta Church"})
		aNum := a.API(s).BuyNumber(t, "312")
		bNum := bb.API(s).BuyNumber(t, "773")
		bReleasing := bb.API(s).BuyNumber(t, "212")
		if r := s.Do(t, "DELETE", "/api/v1/numbers/"+bReleasing, bb.Token, nil); r.Status != http.StatusOK {
			t.Fatalf("B releases %s: %d %s", bReleasing, r.Status, r.Raw)
		}
		// A number B is buying (its order pending at the provider).
		s.Sim.SetOrderDelay(time.Hour)
		bPending := bb.API(s).Available(t, "area_code=415")[0]
		bb.API(s).OrderNumber(t, bPending)
		nobody := a.API(s).Available(t, "area_code=512")[0]

		before := bb.API(s).Numbers(t)
		bReleaseAt := before.Number(bReleasing).ReleaseAt
		if bReleaseAt == nil || before.Number(bNum).State != steeple.NumberActive || before.Order(bPending) == nil {
			t.Fatalf("B's setup is not as intended: %+v", before)
		}

		targets := map[string]string{
			"B's active number":    bNum,
			"B's releasing number": bReleasing,
			"B's pending purchase": bPending,
			"a number nobody owns": nobody,
			"a malformed number":   "not-a-number",
			"a short number":       "+1312",
		}
		for what, n := range targets {
			for _, op := range []struct{ method, path string }{
				{"DELETE", "/api/v1/numbers/" + n},
				{"DELETE", "/api/v1/numbers/" + strings.ReplaceAll(n, "+", "%2B")},
				{"POST", "/api/v1/numbers/" + n + "/restore"},
			} {
				r := s.Do(t, op.method, op.path, a.Token, nil)
				if r.Status != http.StatusNotFound || errCode(r) != "not_found" {
					t.Errorf("A: %s %s (%s) = %d %s; want 404 not_found", op.method, op.path, what, r.Status, r.Raw)
				}
			}
		}
		// Ordering another church's number, or one being bought, is refused
		// and records nothing for A.
		for _, n := range []string{bNum, bReleasing, bPending} {
			r := s.Do(t, "POST", "/api/v1/numbers", a.Token, map[string]any{"number": n})
			if r.Status != http.StatusConflict {
				t.Errorf("A orders B's %s: %d %s; want 409", n, r.Status, r.Raw)
			}
			if got := s.RegistryCount(t, `SELECT COUNT(*) FROM number_orders WHERE tenant_id = $1 AND e164 = $2`, a.ID, n); got != 0 {
				t.Errorf("A's refused order of %s left %d order rows", n, got)
			}
		}
		// A sees only its own number, never B's numbers or orders.
		la := a.API(s).Numbers(t)
		if len(la.Numbers) != 1 || la.Numbers[0].Number != aNum || len(la.Orders) != 0 {
			t.Errorf("A's list shows something not A's: %+v", la)
		}
		// B's numbers and orders are unchanged, and still B's in the registry.
		after := bb.API(s).Numbers(t)
		if n := after.Number(bNum); n == nil || n.State != steeple.NumberActive || n.ReleaseAt != nil {
			t.Errorf("B's active number changed: %+v", n)
		}
		if n := after.Number(bReleasing); n == nil || n.State != steeple.NumberReleasing || n.ReleaseAt == nil || !n.ReleaseAt.Equal(*bReleaseAt) {
			t.Errorf("B's releasing number changed: %+v (release_at was %v)", n, bReleaseAt)
		}
		if o := after.Order(bPending); o == nil || o.Step != before.Order(bPending).Step || o.ID != before.Order(bPending).ID {
			t.Errorf("B's order changed: %+v", o)
		}
		for _, n := range []string{bNum, bReleasing} {
			if got := owner(t, s, n); got != bb.ID {
				t.Errorf("registry owner of %s = %q; want B", n, got)
			}
		}
		if got := owner(t, s, nobody); got != "" {
			t.Errorf("the number nobody owned now belongs to %q", got)
		}
		nums, err := s.Tenancy.Registry.SendingNumbers(ctx, bb.ID)
		if err != nil || len(nums) != 1 || nums[0] != bNum {
			t.Errorf("B sends from %v (%v); want only %s", nums, err, bNum)
		}
		// B itself can still restore its number.
		var restored testkit.NumberView
		if r := s.Do(t, "POST", "/api/v1/numbers/"+bReleasing+"/restore", bb.Token, nil); r.Status != http.StatusOK ||
			json.Unmarshal([]byte(r.Raw), &restored) != nil || restored.State != steeple.NumberActive {
			t.Errorf("B restores its own number: %d %s", r.Status, r.Raw)
		}
	})
}

// TestOperatorAssignment: attaching a number to a church is the operator's
// registry action; a second church cannot be given it, and a church cannot
// order it.
func TestOperatorAssignment(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		a, bb := s.Church(t, testkit.ChurchOptions{Name: "Alpha Chapel"}), s.Church(t, testkit.ChurchOptions{Name: "Beta Church"})
		const n = "+13125550142"
		if err := s.Tenancy.Registry.AssignNumber(ctx, a.ID, n); err != nil {
			t.Fatal(err)
		}
		if err := s.Tenancy.Registry.AssignNumber(ctx, a.ID, n); err != nil {
			t.Errorf("assigning again to its owner: %v", err)
		}
		if err := s.Tenancy.Registry.AssignNumber(ctx, bb.ID, n); err == nil {
			t.Error("the number was assigned to a second church")
		}
		if r := s.Do(t, "POST", "/api/v1/numbers", bb.Token, map[string]any{"number": n}); r.Status != http.StatusConflict {
			t.Errorf("B orders A's number: %d %s; want 409", r.Status, r.Raw)
		}
		if r := s.Do(t, "POST", "/api/v1/numbers", a.Token, map[string]any{"number": n}); r.Status != http.StatusConflict {
			t.Errorf("A orders its own number: %d %s; want 409", r.Status, r.Raw)
		}
		if got := owner(t, s, n); got != a.ID {
			t.Errorf("owner = %q; want A", got)
		}
		if l := a.API(s).Numbers(t); len(l.Numbers) != 1 || l.Numbers[0].Number != n || l.Numbers[0].State != "active" {
			t.Errorf("A's list: %+v", l)
		}
	})
}

// TestOperatorAttach: `steeple numbers assign` against the provider: a
// number already in the account (bought in the portal) is given to a church
// with the church's messaging profile; one not in the account, or another
// church's, is refused with nothing changed.
func TestOperatorAttach(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		a, bb := s.Church(t, testkit.ChurchOptions{Name: "Alpha Chapel"}), s.Church(t, testkit.ChurchOptions{Name: "Beta Church"})
		const n, absent = "+13125550177", "+13125550178"
		s.Sim.AddNumber(n)
		if err := s.Numbers.Attach(ctx, a.ID, n); err != nil {
			t.Fatalf("attach: %v", err)
		}
		profile, err := s.Tenancy.Registry.ProviderObject(ctx, a.ID, numbers.KindMessagingProfile)
		if err != nil || profile == "" {
			t.Fatalf("A's messaging profile: %q %v", profile, err)
		}
		if pn := providerNumber(t, s, n); pn == nil || pn.MessagingProfileID != profile {
			t.Fatalf("the provider's number after attaching: %+v; want A's profile %s", pn, profile)
		}
		if got := owner(t, s, n); got != a.ID {
			t.Fatalf("owner = %q; want A", got)
		}
		if err := s.Numbers.Attach(ctx, a.ID, n); err != nil {
			t.Errorf("attaching again to its owner: %v", err)
		}
		if err := s.Numbers.Attach(ctx, bb.ID, n); steeple.ErrorCode(err) != steeple.ECONFLICT {
			t.Errorf("attaching A's number to B: %v; want conflict", err)
		}
		if pn := providerNumber(t, s, n); pn == nil || pn.MessagingProfileID != profile {
			t.Errorf("B's refused attach changed the number's profile: %+v", pn)
		}
		if err := s.Numbers.Attach(ctx, bb.ID, absent); steeple.ErrorCode(err) != steeple.ENOTFOUND {
			t.Errorf("attaching a number not in the account: %v; want not found", err)
		}
		if got := owner(t, s, absent); got != "" {
			t.Errorf("a number not in the account was recorded for %s", got)
		}
		if err := s.Tenancy.Registry.StartRelease(ctx, a.ID, n, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.Numbers.Attach(ctx, a.ID, n); steeple.ErrorCode(err) != steeple.ECONFLICT {
			t.Errorf("attaching a number the church is releasing: %v; want conflict (restore it instead)", err)
		}
		if err := s.Numbers.Attach(ctx, bb.ID, "555-0100"); steeple.ErrorCode(err) != steeple.EINVALID {
			t.Errorf("attaching a malformed number: %v; want invalid", err)
		}
	})
}
