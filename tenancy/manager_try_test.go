package tenancy_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/tenancy"
)

// smallBudget is b's options with a budget of conns connections, one a
// church, and callers waiting up to 30 s.
func smallBudget(b *testkit.Backend, conns int) tenancy.Options {
	opts := b.Options()
	opts.Manager.MaxConns, opts.Manager.MaxPools, opts.Manager.MaxPerTenant = conns, conns, 1
	opts.Manager.AcquireTimeout = 30 * time.Second
	return opts
}

// TryAcquireToRecord takes a free connection (opening the church's pool if
// there is room, a suspended church's too) and otherwise fails at once,
// without waiting and without closing another church's idle pool.
func TestTryAcquireToRecordNeverWaits(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		opts := smallBudget(b, 2)
		metrics := prometheus.NewRegistry()
		opts.Metrics = metrics
		ten := b.Open(t, opts)
		ts := provisionMany(t, ten, "Try now", 3, 1)
		ctx := context.Background()

		// One real failure (an unknown church), so the error count exists.
		if _, err := ten.Manager.Acquire(ctx, "00000000-0000-4000-8000-000000000000"); steeple.ErrorCode(err) != steeple.ENOTFOUND {
			t.Fatalf("an unknown church: %v; want ENOTFOUND", err)
		}
		errs := counter(t, metrics, "steeple_tenant_acquire_errors_total")
		first, err := ten.Manager.TryAcquireToRecord(ctx, ts[0].ID)
		if err != nil {
			t.Fatalf("a church with room: %v", err)
		}
		ping(t, first)

		busy := func(id string, why string) {
			t.Helper()
			start := time.Now()
			h, err := ten.Manager.TryAcquireToRecord(ctx, id)
			if err == nil {
				h.Release()
				t.Fatalf("%s: got a connection; want EUNAVAILABLE", why)
			}
			if steeple.ErrorCode(err) != steeple.EUNAVAILABLE || !errors.Is(err, tenancy.ErrBudgetExhausted) {
				t.Fatalf("%s: %v; want EUNAVAILABLE (budget exhausted)", why, err)
			}
			if took := time.Since(start); took > time.Second {
				t.Fatalf("%s: failed after %v; want at once", why, took)
			}
		}
		// Its church's one connection is in use.
		busy(ts[0].ID, "the same church again")

		// Another church takes the budget's second connection, then gives
		// it back: its pool stays open and idle.
		second, err := ten.Manager.Acquire(ctx, ts[1].ID)
		if err != nil {
			t.Fatal(err)
		}
		second.Release()
		// A third church would need that idle pool closed: it is not.
		busy(ts[2].ID, "a church whose pool would need another closed")
		if open := ten.Manager.OpenTenants(); len(open) != 2 {
			t.Fatalf("open churches %v; want the two pools left as they were", open)
		}
		// Operators read acquisition errors as the budget running out for
		// someone who waited: a try that found no room is not one.
		if n := counter(t, metrics, "steeple_tenant_acquire_errors_total") - errs; n != 0 {
			t.Fatalf("%v acquisition errors counted for tries; want 0", n)
		}
		// What waits may still close it (the slow way round works).
		third, err := ten.Manager.AcquireToRecord(ctx, ts[2].ID)
		if err != nil {
			t.Fatalf("AcquireToRecord, which may close an idle pool: %v", err)
		}
		ping(t, third)
		third.Release()
		first.Release()

		// A suspended church's receipts are still recorded.
		if _, err := ten.Registry.SetStatus(ctx, ts[0].ID, steeple.TenantSuspended, steeple.TenantActive); err != nil {
			t.Fatal(err)
		}
		h, err := ten.Manager.TryAcquireToRecord(ctx, ts[0].ID)
		if err != nil {
			t.Fatalf("a suspended church: %v; want a handle to record with", err)
		}
		ping(t, h)
		h.Release()
	})
}

// WaitToRecord waits for room but never takes it from another church: with
// the budget held by one church in use and another's idle pool, a third
// church's wait times out and the idle pool stays open; a wait for the
// church in use gets its connection once it is given back.
func TestWaitToRecordNeverEvicts(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		opts := b.Options()
		opts.Manager.MaxConns, opts.Manager.MaxPools, opts.Manager.MaxPerTenant = 2, 2, 1
		ten := b.Open(t, opts)
		ts := provisionMany(t, ten, "Wait quietly", 3, 1)
		ctx := context.Background()
		inUse, err := ten.Manager.Acquire(ctx, ts[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		idle, err := ten.Manager.Acquire(ctx, ts[1].ID)
		if err != nil {
			t.Fatal(err)
		}
		idle.Release()

		wait, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		h, err := ten.Manager.WaitToRecord(wait, ts[2].ID)
		cancel()
		if err == nil {
			h.Release()
			t.Fatal("a church whose pool needs another closed got a connection")
		}
		if !errors.Is(err, tenancy.ErrBudgetExhausted) {
			t.Fatalf("waiting for room: %v; want the budget exhausted", err)
		}
		if open := ten.Manager.OpenTenants(); len(open) != 2 {
			t.Fatalf("open churches %v; want the two pools left as they were", open)
		}

		go func() { time.Sleep(200 * time.Millisecond); inUse.Release() }()
		wait, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		h, err = ten.Manager.WaitToRecord(wait, ts[0].ID)
		if err != nil {
			t.Fatalf("waiting for the church's own connection: %v", err)
		}
		ping(t, h)
		h.Release()
	})
}

// A member's text waiting for room in a full budget goes first: when a
// connection comes free, the text gets it although receipts of another
// church waited for room before it, and they wait until the next.
func TestMemberTextFirstForRoom(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		opts := smallBudget(b, 2)
		ten := b.Open(t, opts)
		ts := provisionMany(t, ten, "Room first", 4, 1)
		ctx := context.Background()
		held := make([]*tenancy.Handle, 2)
		for i := range held {
			h, err := ten.Manager.Acquire(ctx, ts[i].ID)
			if err != nil {
				t.Fatal(err)
			}
			held[i] = h
		}

		gots := make(chan acquired, 8)
		wait := func(who string, acquire acquireFunc, id string) { acquireInBackground(t, gots, who, acquire, id) }
		const receipts = 5
		for range receipts {
			wait("receipt", ten.Manager.AcquireToRecordBriefly, ts[3].ID)
		}
		testkit.WaitUntil(t, 10*time.Second, func() bool { return ten.Manager.Stats().Waiting == receipts }, "the receipts waiting first")
		wait("member's text", ten.Manager.AcquireForMemberText, ts[2].ID)
		testkit.WaitUntil(t, 10*time.Second, func() bool { return ten.Manager.Stats().MembersWaiting == 1 }, "the member's text waiting")

		held[1].Release() // room for one
		first := <-gots
		if first.who != "member's text" {
			t.Fatalf("the room went to a %s; want the member's text", first.who)
		}
		select {
		case g := <-gots:
			t.Fatalf("a %s got a connection too; the budget had room for one", g.who)
		case <-time.After(300 * time.Millisecond):
		}
		ping(t, first.h)
		first.release()
		for range receipts { // the receipts' church's pool: one at a time
			g := <-gots
			g.release()
		}
		held[0].Release()
	})
}

// Send jobs give their connections up for members' texts waiting for room
// in a full budget, between two texts (Lend reports false, and Release
// closes the connection): one for each church with no connection open,
// however many of its members text (the others wait for its one
// connection), and only a send job's (a page keeps its connection). The
// jobs then acquire again.
func TestSendJobGivesWayToAMemberText(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		ten := b.Open(t, smallBudget(b, 4)) // three for send jobs, one for the rest
		ts := provisionMany(t, ten, "Give way", 6, 1)
		ctx := context.Background()
		sends := make([]*tenancy.Handle, 3)
		for i := range sends {
			h, err := ten.Manager.AcquireBackground(ctx, ts[i].ID)
			if err != nil {
				t.Fatal(err)
			}
			sends[i] = h
		}
		page, err := ten.Manager.Acquire(ctx, ts[3].ID)
		if err != nil {
			t.Fatal(err)
		}
		defer page.Release()
		if !sends[0].Lend() {
			t.Fatal("a send job gave its connection up with no member's text waiting")
		}

		texts := make(chan *tenancy.Handle, 3)
		for _, church := range []*steeple.Tenant{ts[4], ts[4], ts[5]} {
			go func() {
				h, err := ten.Manager.AcquireForMemberText(ctx, church.ID)
				if err != nil {
					t.Errorf("member's text: %v", err)
				}
				texts <- h
			}()
		}
		testkit.WaitUntil(t, 10*time.Second, func() bool { return ten.Manager.Stats().MembersWaiting == 3 }, "three members' texts waiting")
		if !page.Lend() {
			t.Fatal("a page gave its connection up")
		}
		// The jobs look between two texts, as a send lane does.
		gave := make([]bool, len(sends))
		var got []*tenancy.Handle
		for deadline := time.Now().Add(10 * time.Second); len(got) < 2; {
			if time.Now().After(deadline) {
				t.Fatalf("%d members' texts got a connection from the send jobs (gave way: %v); want one for each church", len(got), gave)
			}
			for i, h := range sends {
				if !gave[i] && !h.Lend() {
					gave[i] = true
					h.Release()
				}
			}
			select {
			case h := <-texts:
				if h == nil {
					t.FailNow()
				}
				got = append(got, h)
			case <-time.After(5 * time.Millisecond):
			}
		}
		if got[0].TenantID() == got[1].TenantID() {
			t.Fatalf("both connections went to %s; want one for each church", got[0].TenantID())
		}
		if gave[2] || !gave[0] || !gave[1] {
			t.Fatalf("send jobs that gave way: %v; want the first two, one for each church", gave)
		}
		for _, h := range got {
			ping(t, h)
			h.Release()
		}
		select { // the second text of the first church, on its connection
		case h := <-texts:
			if h == nil {
				t.FailNow()
			}
			ping(t, h)
			h.Release()
		case <-time.After(10 * time.Second):
			t.Fatal("the second text of a church got no connection")
		}
		if st := ten.Manager.Stats(); st.GaveWay != 2 {
			t.Fatalf("%d connections given way; want 2", st.GaveWay)
		}
		if !sends[2].Lend() {
			t.Fatal("a send job gave its connection up once the texts had theirs")
		}
		// The jobs that gave way acquire again, in the room the texts left.
		for _, church := range ts[:2] {
			again, cancel := context.WithTimeout(ctx, 10*time.Second)
			h, err := ten.Manager.AcquireBackground(again, church.ID)
			cancel()
			if err != nil {
				t.Fatalf("a send job that gave way: %v", err)
			}
			h.Release()
		}
		sends[2].Release()
	})
}

// A member's text waiting for its own church's full pool (room would not
// let it in) holds nobody back: another church's receipt takes the room
// there is at once.
func TestMemberTextWaitingForItsPoolHoldsNobodyBack(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		opts := smallBudget(b, 3)
		ten := b.Open(t, opts)
		ts := provisionMany(t, ten, "Own pool", 2, 1)
		ctx := context.Background()
		held, err := ten.Manager.Acquire(ctx, ts[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		textDone := make(chan error, 1)
		go func() {
			h, err := ten.Manager.AcquireForMemberText(ctx, ts[0].ID)
			if err == nil {
				h.Release()
			}
			textDone <- err
		}()
		testkit.WaitUntil(t, 10*time.Second, func() bool { return ten.Manager.Stats().Waiting == 1 }, "the text waiting for its church's one connection")
		if n := ten.Manager.Stats().MembersWaiting; n != 0 {
			t.Fatalf("%d members' texts holding the others back; want none (room would not let this one in)", n)
		}

		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		start := time.Now()
		h, err := ten.Manager.AcquireToRecordBriefly(wctx, ts[1].ID)
		if err != nil {
			t.Fatalf("another church's receipt, with room in the budget: %v", err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("another church's receipt took %v; want at once", took)
		}
		ping(t, h)
		h.Release()
		held.Release()
		if err := <-textDone; err != nil {
			t.Fatalf("the member's text once its church's connection came free: %v", err)
		}
	})
}

// acquired is who got which handle, from acquireInBackground (none if
// the acquisition failed).
type acquired struct {
	who string
	h   *tenancy.Handle
}

func (a acquired) release() {
	if a.h != nil {
		a.h.Release()
	}
}

type acquireFunc func(context.Context, string) (*tenancy.Handle, error)

// acquireInBackground acquires tenantID's handle in a goroutine, sending
// it to gots once it comes: tests of who gets a connection first.
func acquireInBackground(t *testing.T, gots chan<- acquired, who string, acquire acquireFunc, tenantID string) {
	go func() {
		h, err := acquire(context.Background(), tenantID)
		if err != nil {
			if errors.Is(err, tenancy.ErrManagerClosed) {
				return // the test ended first
			}
			t.Errorf("%s: %v", who, err)
			who += " (failed)"
		}
		gots <- acquired{who, h}
	}()
}
