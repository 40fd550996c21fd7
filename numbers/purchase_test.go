package numbers_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
	"github.com/steeple-sms/steeple/tenancy"
)

var e164US = regexp.MustCompile(`^\+1[2-9][0-9]{2}[2-9][0-9]{6}$`)

// TestPurchase: search, order (the provider takes a while), the order shown
// under way, then the number active and the church's; the provider has it
// in the church's messaging profile, whose webhooks reach Steeple. A second
// purchase reuses the profile: one per church.
func TestPurchase(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		other := s.Church(t, testkit.ChurchOptions{Name: "Other Church"})

		found := c.API(s).Available(t, "area_code=312")
		if len(found) == 0 {
			t.Fatal("no number in 312")
		}
		for _, n := range found {
			if !e164US.MatchString(n) || !strings.HasPrefix(n, "+1312") {
				t.Errorf("search for 312 offered %q", n)
			}
		}
		if got := c.API(s).Available(t, "area_code=312&contains=7"); len(got) == 0 || !strings.Contains(got[0][2:], "7") {
			t.Errorf("contains=7 offered %v", got)
		}
		for _, q := range []string{"area_code=12", "area_code=abc", "contains=12345678", "locality=%3Cscript%3E"} {
			if r := s.Do(t, "GET", "/api/v1/numbers/available?"+q, c.Token, nil); r.Status != http.StatusBadRequest {
				t.Errorf("search %s: %d %s; want 400", q, r.Status, r.Raw)
			}
		}
		for _, bad := range []string{"", "312555010", "(312) 555-01", "+44207946000", "+1312555010", "+10125550100", "(012) 555-0100"} {
			if r := s.Do(t, "POST", "/api/v1/numbers", c.Token, map[string]any{"number": bad}); r.Status != http.StatusBadRequest {
				t.Errorf("order %q: %d %s; want 400", bad, r.Status, r.Raw)
			}
		}
		if got := s.RegistryCount(t, `SELECT COUNT(*) FROM number_orders`); got != 0 {
			t.Fatalf("invalid orders left %d rows", got)
		}

		first := found[0]
		s.Sim.SetOrderDelay(400 * time.Millisecond)
		o := c.API(s).OrderNumber(t, first)
		if o.ID == "" || o.Number != first || o.Step != tenancy.OrderOrdered {
			t.Errorf("order answer: %+v; want step ordered for %s", o, first)
		}
		// While the provider works on it, the church sees the order.
		if l := c.API(s).Numbers(t); l.Number(first) != nil || l.Order(first) == nil || l.Order(first).ID != o.ID {
			t.Errorf("while pending: %+v", l)
		}
		if l := other.API(s).Numbers(t); len(l.Orders)+len(l.Numbers) != 0 {
			t.Errorf("another church sees %+v", l)
		}
		l := c.API(s).WaitNumberActive(t, first)
		if n := l.Number(first); n.ReleaseAt != nil || n.CreatedAt.IsZero() {
			t.Errorf("new number: %+v", n)
		}
		if st := ordersFor(t, s, first); len(st) != 1 || st[0].Step != tenancy.OrderDone || st[0].ID != o.ID {
			t.Errorf("registry orders for %s: %+v", first, st)
		}
		wantConsistent(t, s, first, c.ID)
		ps := profiles(t, s, c.ID)
		if len(ps) != 1 {
			t.Fatalf("church has %d messaging profiles: %v", len(ps), ps)
		}
		pn := providerNumber(t, s, first)
		if pn == nil || pn.Status != telnyx.NumberActive || pn.MessagingProfileID != ps[0] || pn.CustomerReference != o.ID {
			t.Errorf("the provider's number: %+v; want active in profile %s, reference %s", pn, ps[0], o.ID)
		}
		var providerID string
		if err := s.Tenancy.Registry.DB().QueryRowContext(context.Background(),
			`SELECT provider_id FROM phone_numbers WHERE e164 = $1`, first).Scan(&providerID); err != nil || providerID != pn.ID {
			t.Errorf("registry provider id %q (%v); want %s", providerID, err, pn.ID)
		}
		nums, err := s.Tenancy.Registry.SendingNumbers(context.Background(), c.ID)
		if err != nil || len(nums) != 1 || nums[0] != first {
			t.Errorf("church sends from %v (%v)", nums, err)
		}
		// The profile's webhook URL is Steeple's: an inbound text to the
		// new number, posted where the profile says, reaches the church.
		if err := s.Sim.Inbound(context.Background(), telnyxsim.InboundMessage{From: "+13125550999", To: first, Text: "hello"}); err != nil {
			t.Fatalf("inbound to the new number: %v", err)
		}
		hooks := s.Sim.Webhooks()
		if last := hooks[len(hooks)-1]; last.URL != s.URL+"/webhooks/telnyx" || !last.OK {
			t.Errorf("inbound posted to %s (ok %v); want %s/webhooks/telnyx", last.URL, last.OK, s.URL)
		}

		// A second purchase: same profile, no new one.
		s.Sim.SetOrderDelay(0)
		second := c.API(s).BuyNumber(t, "773")
		if ps2 := profiles(t, s, c.ID); len(ps2) != 1 || ps2[0] != ps[0] {
			t.Errorf("after a second purchase the church has profiles %v; want only %s", ps2, ps[0])
		}
		if pn := providerNumber(t, s, second); pn == nil || pn.MessagingProfileID != ps[0] {
			t.Errorf("second number at the provider: %+v", pn)
		}
		// Ordering a number the church already has is a conflict.
		if r := s.Do(t, "POST", "/api/v1/numbers", c.Token, map[string]any{"number": first}); r.Status != http.StatusConflict {
			t.Errorf("ordering its own number again: %d %s", r.Status, r.Raw)
		}
		// Another church's first purchase gets a profile of its own.
		third := other.API(s).BuyNumber(t, "212")
		op := profiles(t, s, other.ID)
		if len(op) != 1 || op[0] == ps[0] {
			t.Errorf("the other church's profiles %v (first church's %s)", op, ps[0])
		}
		if pn := providerNumber(t, s, third); pn == nil || pn.MessagingProfileID != op[0] {
			t.Errorf("other church's number at the provider: %+v", pn)
		}
		if l := c.API(s).Numbers(t); len(l.Numbers) != 2 || l.Number(third) != nil {
			t.Errorf("first church's list: %+v", l)
		}
	})
}
