package numbers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/numbers"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/tenancy"
)

// stuck is past the default StuckAfter (5 minutes).
var stuck = numbers.DefaultConfig().StuckAfter + time.Second

// TestPurchaseRefused: the provider refuses the first step (the messaging
// profile) or the order itself. The church hears it at once (4xx), the
// order is failed with the reason, nothing is the church's, nothing is
// left to undo, and the number may be ordered again.
func TestPurchaseRefused(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		found := c.API(s).Available(t, "area_code=312")

		// The profile is refused: nothing recorded but the failed order.
		s.Sim.FailNext(1, http.StatusUnprocessableEntity, "10015")
		r := s.Do(t, "POST", "/api/v1/numbers", c.Token, map[string]any{"number": found[0]})
		if r.Status != http.StatusBadRequest {
			t.Fatalf("order with the profile refused: %d %s; want 400", r.Status, r.Raw)
		}
		l := c.API(s).Numbers(t)
		if o := l.Order(found[0]); o == nil || o.Step != tenancy.OrderFailed || !strings.Contains(o.Error, "messaging profile") {
			t.Errorf("failed order as listed: %+v", l)
		}
		if len(l.Numbers) != 0 || len(profiles(t, s, c.ID)) != 0 || providerNumber(t, s, found[0]) != nil {
			t.Errorf("a refused purchase left something: %+v, profiles %v", l, profiles(t, s, c.ID))
		}
		wantConsistent(t, s, found[0], "")

		// The order is refused (the number was taken at the provider by
		// someone else meanwhile): the church is told, and Steeple does not
		// release a number it never bought.
		theirs, err := providerClient(s).OrderNumbers(ctx, telnyx.NumberOrderRequest{PhoneNumbers: []string{found[1]},
			CustomerReference: "not-steeple"})
		if err != nil {
			t.Fatal(err)
		}
		_ = theirs
		first := c.API(s).BuyNumber(t, "773") // the church now has a profile
		r = s.Do(t, "POST", "/api/v1/numbers", c.Token, map[string]any{"number": found[1]})
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Raw, "refused") {
			t.Fatalf("order of a number the provider cannot sell: %d %s; want 400", r.Status, r.Raw)
		}
		if o := c.API(s).Numbers(t).Order(found[1]); o == nil || o.Step != tenancy.OrderFailed || o.Error == "" {
			t.Errorf("refused order as listed: %+v", o)
		}
		if pn := providerNumber(t, s, found[1]); pn == nil || pn.CustomerReference != "not-steeple" {
			t.Errorf("the provider's number after Steeple's refused order: %+v", pn)
		}
		wantConsistent(t, s, found[1], "")

		// An injected refusal of the order call: the same.
		s.Sim.FailNext(1, http.StatusUnprocessableEntity, "10015")
		if r := s.Do(t, "POST", "/api/v1/numbers", c.Token, map[string]any{"number": found[2]}); r.Status != http.StatusBadRequest {
			t.Fatalf("refused order: %d %s; want 400", r.Status, r.Raw)
		}
		if providerNumber(t, s, found[2]) != nil {
			t.Error("the refused order's number is in the account")
		}
		wantConsistent(t, s, found[2], "")

		// The provider down at the profile step: 503, the order failed.
		fresh := s.Church(t, testkit.ChurchOptions{Name: "Fresh Church"})
		s.Sim.SetDown(true)
		r = s.Do(t, "POST", "/api/v1/numbers", fresh.Token, map[string]any{"number": found[3]})
		s.Sim.SetDown(false)
		if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
			t.Fatalf("order with the provider down: %d %s; want 503 with Retry-After", r.Status, r.Raw)
		}
		wantConsistent(t, s, found[3], "")

		// Every one of these may be ordered again, and completes.
		for _, n := range []string{found[0], found[2], found[3]} {
			c.API(s).OrderNumber(t, n)
			c.API(s).WaitNumberActive(t, n)
			wantConsistent(t, s, n, c.ID)
		}
		if got := profiles(t, s, c.ID); len(got) != 1 {
			t.Errorf("church has profiles %v", got)
		}
		if l := c.API(s).Numbers(t); len(l.Numbers) != 4 || l.Number(first) == nil {
			t.Errorf("church's numbers: %+v", l)
		}
	})
}

// TestPurchaseJobRetries: a provider failure while the job waits for the
// order fails that run; the queue runs the job again and it completes.
func TestPurchaseJobRetries(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		c.API(s).BuyNumber(t, "312")
		n := c.API(s).Available(t, "area_code=773")[0]
		s.Sim.SetOrderDelay(300 * time.Millisecond)
		o := c.API(s).OrderNumber(t, n)
		s.Sim.FailNext(1, http.StatusInternalServerError, "10007")
		c.API(s).WaitNumberActive(t, n)
		if errs := jobErrors(t, s, "number_order", o.ID); len(errs) != 1 || !strings.Contains(errs[0], "500") {
			t.Errorf("the order's job recorded errors %q; want the one injected failure", errs)
		}
		wantConsistent(t, s, n, c.ID)
	})
}

// recoverNow runs the recovery job's work once, after the clock moved past
// StuckAfter, and returns how many orders it looked at.
func recoverNow(t *testing.T, s *testkit.Server, svc *numbers.Service) int {
	t.Helper()
	s.Clock.Add(stuck)
	n, err := svc.Recover(context.Background())
	if err != nil {
		t.Fatalf("recover: %v", err)
	}
	return n
}

// step is the registry step of an order.
func step(t *testing.T, s *testkit.Server, id string) *tenancy.NumberOrder {
	t.Helper()
	o, err := s.Tenancy.Registry.NumberOrderByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestPurchaseRecovery: purchases cut off part-way, with no job left to
// finish them (the job queue is not running), are finished or undone by
// the recovery job of a restarted process, idempotently.
func TestPurchaseRecovery(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		ctx := context.Background()
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		found := c.API(s).Available(t, "area_code=312")

		// 1. A crash right after the provider accepted the order, before
		// the registry recorded it: the order is "placing", the provider has
		// the number (with the order as its reference, but not yet in the
		// church's profile: there is none yet). A restarted process,
		// whose provider fails the profile assignment twice, gets there.
		crashed, err := s.Tenancy.Registry.CreateNumberOrder(ctx, c.ID, found[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := providerClient(s).OrderNumbers(ctx, telnyx.NumberOrderRequest{PhoneNumbers: []string{found[0]},
			CustomerReference: crashed.ID}); err != nil {
			t.Fatal(err)
		}
		fp := newFaultyProvider(t, s)
		patch := fp.add(&fault{method: "PATCH", path: isMessagingPatch, times: 2, status: http.StatusBadGateway})
		restarted := newService(t, s, fp.URL)
		if n, err := restarted.Recover(ctx); err != nil || n != 0 {
			t.Fatalf("recover before StuckAfter looked at %d orders (%v); want none", n, err)
		}
		for i := 1; i <= 2; i++ {
			if n := recoverNow(t, s, restarted); n != 1 {
				t.Fatalf("recovery %d looked at %d orders", i, n)
			}
			if o := step(t, s, crashed.ID); o.Step != tenancy.OrderOrdered || owner(t, s, found[0]) != "" {
				t.Fatalf("after failed recovery %d: order %s, owner %q", i, o.Step, owner(t, s, found[0]))
			}
		}
		recoverNow(t, s, restarted)
		if o := step(t, s, crashed.ID); o.Step != tenancy.OrderDone {
			t.Fatalf("after recovery the order is %s (%s)", o.Step, o.Error)
		}
		if got := patch.hitCount(fp); got != 2 {
			t.Errorf("profile assignment failed %d times; want 2", got)
		}
		ps := profiles(t, s, c.ID)
		if pn := providerNumber(t, s, found[0]); len(ps) != 1 || pn == nil || pn.MessagingProfileID != ps[0] {
			t.Errorf("recovered number at the provider: %+v, profiles %v", pn, ps)
		}
		wantConsistent(t, s, found[0], c.ID)
		if n := recoverNow(t, s, restarted); n != 0 {
			t.Errorf("a second recovery looked at %d orders", n)
		}

		// 2. A crash after the order was recorded "ordered", its job lost.
		c.Relogin(t, s)
		o := c.API(s).OrderNumber(t, found[1])
		if o.Step != tenancy.OrderOrdered {
			t.Fatalf("order answer %+v", o)
		}
		recoverNow(t, s, newService(t, s, ""))
		if o := step(t, s, o.ID); o.Step != tenancy.OrderDone {
			t.Fatalf("after recovery the order is %s (%s)", o.Step, o.Error)
		}
		wantConsistent(t, s, found[1], c.ID)

		// 3. The provider never answered the order call and never got it:
		// the order waits "placing", then fails. Nothing to undo.
		c.Relogin(t, s)
		s.Sim.SetDown(true)
		o = c.API(s).OrderNumber(t, found[2])
		s.Sim.SetDown(false)
		if o.Step != tenancy.OrderPlacing {
			t.Fatalf("order with the provider down: %+v; want placing", o)
		}
		if l := c.API(s).Numbers(t); l.Order(found[2]) == nil || l.Order(found[2]).Step != tenancy.OrderPlacing {
			t.Errorf("listed: %+v", l)
		}
		recoverNow(t, s, s.Numbers)
		if o := step(t, s, o.ID); o.Step != tenancy.OrderFailed || !strings.Contains(o.Error, "never reached") {
			t.Fatalf("after recovery the lost order is %s (%s); want failed", o.Step, o.Error)
		}
		if providerNumber(t, s, found[2]) != nil {
			t.Error("the provider has the lost order's number")
		}
		wantConsistent(t, s, found[2], "")

		// 4. The provider got the order but its answer was lost: adopted.
		fp.add(&fault{method: "POST", path: isNumberOrders, times: 1, status: http.StatusGatewayTimeout, after: true})
		lost, err := restarted.Order(ctx, c.ID, found[3])
		if err != nil || lost.Step != tenancy.OrderPlacing {
			t.Fatalf("order whose answer was lost: %+v, %v; want placing", lost, err)
		}
		if pn := providerNumber(t, s, found[3]); pn == nil || pn.CustomerReference != lost.ID {
			t.Fatalf("the provider's number: %+v; want referencing %s", pn, lost.ID)
		}
		recoverNow(t, s, s.Numbers)
		if o := step(t, s, lost.ID); o.Step != tenancy.OrderDone {
			t.Fatalf("after recovery the adopted order is %s (%s)", o.Step, o.Error)
		}
		wantConsistent(t, s, found[3], c.ID)

		// 5. A crash after the number was set up ("active"), before it was
		// given to the church.
		late, err := s.Tenancy.Registry.CreateNumberOrder(ctx, c.ID, found[4])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := providerClient(s).OrderNumbers(ctx, telnyx.NumberOrderRequest{PhoneNumbers: []string{found[4]},
			MessagingProfileID: profiles(t, s, c.ID)[0], CustomerReference: late.ID}); err != nil {
			t.Fatal(err)
		}
		late.ProviderNumberID = providerNumber(t, s, found[4]).ID
		for _, st := range [][2]string{{tenancy.OrderPlacing, tenancy.OrderOrdered}, {tenancy.OrderOrdered, tenancy.OrderActive}} {
			if ok, err := s.Tenancy.Registry.AdvanceNumberOrder(ctx, late, st[0], st[1], ""); !ok || err != nil {
				t.Fatalf("advance %v: %v %v", st, ok, err)
			}
		}
		recoverNow(t, s, newService(t, s, ""))
		if o := step(t, s, late.ID); o.Step != tenancy.OrderDone {
			t.Fatalf("after recovery the set-up order is %s (%s)", o.Step, o.Error)
		}
		wantConsistent(t, s, found[4], c.ID)

		c.Relogin(t, s)
		if l := c.API(s).Numbers(t); len(l.Numbers) != 4 || l.Number(found[2]) != nil || len(l.Orders) != 1 {
			t.Errorf("church's numbers: %+v; want 4 numbers and the one failed order", l)
		}
	})
}

// TestPurchaseGivenUp: an order the provider never fills is waited for,
// then undone after GiveUpAfter: released at the provider, failed in the
// registry; the number can then be bought by anyone.
func TestPurchaseGivenUp(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c, other := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"}), s.Church(t, testkit.ChurchOptions{Name: "Other Church"})
		n := c.API(s).Available(t, "area_code=312")[0]
		s.Sim.SetOrderDelay(1000 * time.Hour)
		o := c.API(s).OrderNumber(t, n)
		for i := 0; i < 3; i++ { // waiting is not failing
			recoverNow(t, s, s.Numbers)
			if got := step(t, s, o.ID); got.Step != tenancy.OrderOrdered {
				t.Fatalf("pending order after recovery %d: %s (%s)", i, got.Step, got.Error)
			}
		}
		if pn := providerNumber(t, s, n); pn == nil || pn.Status != telnyx.NumberPurchasePending {
			t.Fatalf("the provider's number: %+v", pn)
		}
		s.Clock.Add(numbers.DefaultConfig().GiveUpAfter)
		recoverNow(t, s, s.Numbers)
		got := step(t, s, o.ID)
		if got.Step != tenancy.OrderFailed || !strings.Contains(got.Error, "not finished") {
			t.Fatalf("given-up order: %s (%s); want failed", got.Step, got.Error)
		}
		if pn := providerNumber(t, s, n); pn != nil {
			t.Errorf("the provider still has the given-up number: %+v", pn)
		}
		wantConsistent(t, s, n, "")
		if k := recoverNow(t, s, s.Numbers); k != 0 {
			t.Errorf("recovery looked at %d orders after the undo", k)
		}
		// Anyone may buy it now.
		s.Sim.SetOrderDelay(0)
		other.Relogin(t, s)
		o2 := other.API(s).OrderNumber(t, n)
		recoverNow(t, s, s.Numbers)
		if got := step(t, s, o2.ID); got.Step != tenancy.OrderDone {
			t.Fatalf("second order: %s (%s)", got.Step, got.Error)
		}
		wantConsistent(t, s, n, other.ID)
	})
}

// TestPurchaseGivenUpWhenAStepKeepsFailing: an order whose number is
// bought but whose status the provider keeps refusing to show is retried,
// then undone after GiveUpAfter like one never filled: released at the
// provider, failed in the registry, never given to the church.
func TestPurchaseGivenUpWhenAStepKeepsFailing(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		n := c.API(s).Available(t, "area_code=312")[0]
		o := c.API(s).OrderNumber(t, n)
		s.Sim.FailNextOn("GET /v2/number_orders/", 1000, http.StatusUnprocessableEntity, "10015")
		for i := 0; i < 3; i++ {
			recoverNow(t, s, s.Numbers)
			if got := step(t, s, o.ID); got.Step != tenancy.OrderOrdered {
				t.Fatalf("after failing try %d: %s (%s); want still ordered", i, got.Step, got.Error)
			}
		}
		if pn := providerNumber(t, s, n); pn == nil || pn.Status != telnyx.NumberActive {
			t.Fatalf("the provider's number: %+v; want active (bought, not yet the church's)", pn)
		}
		s.Clock.Add(numbers.DefaultConfig().GiveUpAfter)
		recoverNow(t, s, s.Numbers)
		got := step(t, s, o.ID)
		if got.Step != tenancy.OrderFailed || !strings.Contains(got.Error, "not finished") || !strings.Contains(got.Error, "422") {
			t.Fatalf("given-up order: %s (%s); want failed, naming the provider's refusal", got.Step, got.Error)
		}
		if pn := providerNumber(t, s, n); pn != nil {
			t.Errorf("the provider still has the given-up number: %+v", pn)
		}
		wantConsistent(t, s, n, "")
	})
}

// TestPurchaseNotFilled: the provider accepts an order, then reports it
// failed (the carrier could not fill it): the order fails, nothing is
// given to the church or left in the account, and the number can be
// ordered again.
func TestPurchaseNotFilled(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		n := c.API(s).Available(t, "area_code=312")[0]
		s.Sim.FailOrders(true)
		o := c.API(s).OrderNumber(t, n)
		recoverNow(t, s, s.Numbers)
		got := step(t, s, o.ID)
		if got.Step != tenancy.OrderFailed || !strings.Contains(got.Error, "could not fill") {
			t.Fatalf("unfilled order: %s (%s); want failed", got.Step, got.Error)
		}
		if pn := providerNumber(t, s, n); pn != nil {
			t.Errorf("the provider's account holds the unfilled number: %+v", pn)
		}
		wantConsistent(t, s, n, "")
		if k := recoverNow(t, s, s.Numbers); k != 0 {
			t.Errorf("recovery looked at %d orders after the failure", k)
		}
		s.Sim.FailOrders(false)
		c.Relogin(t, s)
		o2 := c.API(s).OrderNumber(t, n)
		recoverNow(t, s, s.Numbers)
		if got := step(t, s, o2.ID); got.Step != tenancy.OrderDone {
			t.Fatalf("ordering it again: %s (%s)", got.Step, got.Error)
		}
		wantConsistent(t, s, n, c.ID)
	})
}

// TestPurchaseOvertaken: while a church's order is under way, an operator
// attaches the number to another church. The order fails; the number stays
// in the provider account (it is the other church's now).
func TestPurchaseOvertaken(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c, other := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"}), s.Church(t, testkit.ChurchOptions{Name: "Other Church"})
		n := c.API(s).Available(t, "area_code=312")[0]
		o := c.API(s).OrderNumber(t, n)
		if err := s.Tenancy.Registry.AssignNumber(context.Background(), other.ID, n); err != nil {
			t.Fatal(err)
		}
		recoverNow(t, s, s.Numbers)
		if got := step(t, s, o.ID); got.Step != tenancy.OrderFailed {
			t.Fatalf("overtaken order: %s (%s); want failed", got.Step, got.Error)
		}
		wantConsistent(t, s, n, other.ID)
		if pn := providerNumber(t, s, n); pn == nil {
			t.Error("the number the other church was given was released at the provider")
		}
	})
}
