package webhooks

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/tenancy"
)

// A receipt whose church has no connection free at once is handed to a
// drain before it is queued: one goroutine per church takes the church's
// connection, waiting for it like any caller, and applies every receipt
// that came for the church meanwhile on it, while their webhooks wait. On
// PostgreSQL, where a Sunday's send jobs hold most of the budget, this is
// one acquisition for many receipts instead of a job each (its registry
// writes, its fetch and its own acquisition), and one commit for the
// receipts that waited together (store.ApplyReceipts). The connection is
// most often the church's own send job's, lent between two texts
// (tenancy.Handle.Lend), so draining costs no room in the budget. A drain
// is one waiter however many receipts wait behind it, and it never closes
// another church's pool to get its connection (tenancy.WaitToRecord):
// STOPs and pages come first. A receipt that finds every drain busy, or is
// not applied within drainWait, is queued as before (applying it twice
// changes nothing). Its drain may still apply it meanwhile: the queued job
// then finds it applied (out of order).
const (
	// drains bounds the churches being drained at once in a process: on a
	// Sunday morning every sending church may have receipts waiting (with
	// eight, most receipts queued in a 30-church storm on PostgreSQL had
	// found no drain free: docs/benchmarks.md).
	drains = 64
	// drainWait bounds a webhook's wait for its receipt: the provider
	// wants its answer within 2 s, and a receipt not applied by then must
	// still be queued.
	drainWait = time.Second
	// drainAcquire bounds a drain's wait for its church's connection,
	// leaving its webhooks time to have the receipts applied.
	drainAcquire = 800 * time.Millisecond
	// drainHold bounds how long a drain keeps a connection of its own
	// while receipts keep coming; it then waits for one again, behind the
	// church's other callers.
	drainHold = time.Second
)

var errDrainBusy = errors.New("no receipt drain free")

type receiptDrain struct {
	svc   *Service
	slots chan struct{} // one per running drain
	mu    sync.Mutex
	// waiting holds each drained church's receipts not applied yet; a
	// church is a key exactly while its drain runs.
	waiting map[string][]*drainItem
}

type drainItem struct {
	ev   telnyx.Event
	p    *telnyx.MessagePayload
	done chan drainResult // buffered: the drain never waits for the webhook
}

type drainResult struct {
	r   store.ReceiptResult
	err error
}

func newReceiptDrain(svc *Service) *receiptDrain {
	return &receiptDrain{svc: svc, slots: make(chan struct{}, drains), waiting: map[string][]*drainItem{}}
}

// apply has the church's drain apply one receipt and waits for it.
func (d *receiptDrain) apply(ctx context.Context, tenantID string, ev telnyx.Event, p *telnyx.MessagePayload) (store.ReceiptResult, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	it := &drainItem{ev: ev, p: p, done: make(chan drainResult, 1)}
	d.mu.Lock()
	items, running := d.waiting[tenantID]
	if !running {
		select {
		case d.slots <- struct{}{}:
			go d.drain(tenantID)
		default:
			d.mu.Unlock()
			return 0, errDrainBusy
		}
	}
	d.waiting[tenantID] = append(items, it)
	d.mu.Unlock()
	select {
	case res := <-it.done:
		return res.r, res.err
	case <-time.After(drainWait):
		return 0, context.DeadlineExceeded
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// drain takes the church's connection and applies what waits for it
// until nothing does. The receipts waiting together are applied in one
// transaction, one commit for them all; if it fails, they are all queued.
// A connection lent by the church's send job (tenancy.Handle.Lend) is
// given back after each such transaction and borrowed again for the next;
// one of its own is given back after drainHold, and waited for again, so
// that the church's other callers get their turn.
func (d *receiptDrain) drain(tenantID string) {
	defer func() { <-d.slots }()
	var h *tenancy.Handle
	var held time.Time
	defer func() {
		if h != nil {
			h.Release()
		}
	}()
	for {
		items := d.next(tenantID)
		if items == nil {
			return
		}
		if h != nil && time.Since(held) > drainHold {
			h.Release()
			h = nil
		}
		if h == nil {
			wait, cancel := context.WithTimeout(context.Background(), drainAcquire)
			var err error
			h, err = d.svc.ten.Manager.WaitToRecord(wait, tenantID)
			cancel()
			if err != nil {
				fail(items, err)
				continue
			}
			held = time.Now()
		}
		ctx, cancel := context.WithTimeout(context.Background(), drainWait)
		d.applyTogether(ctx, h, items)
		cancel()
		if h.Borrowed() {
			h.Release()
			h = nil
		}
	}
}

// next takes the receipts waiting for the church's drain; nil when none
// wait, and the drain ends.
func (d *receiptDrain) next(tenantID string) []*drainItem {
	d.mu.Lock()
	defer d.mu.Unlock()
	items := d.waiting[tenantID]
	if len(items) == 0 {
		delete(d.waiting, tenantID)
		return nil
	}
	d.waiting[tenantID] = []*drainItem{}
	return items
}

// applyTogether applies the receipts in one transaction and answers each.
func (d *receiptDrain) applyTogether(ctx context.Context, h *tenancy.Handle, items []*drainItem) {
	evs := make([]messaging.ReceiptEvent, len(items))
	for i, it := range items {
		evs[i] = messaging.ReceiptEvent{Type: it.ev.EventType, Occurred: it.ev.OccurredAt, Payload: it.p}
	}
	rs, err := d.svc.msg.ApplyReceipts(ctx, h, evs)
	if err != nil {
		fail(items, err)
		return
	}
	for i, it := range items {
		it.done <- drainResult{r: rs[i]}
	}
}

// fail answers each receipt with err: their webhooks queue them.
func fail(items []*drainItem, err error) {
	for _, it := range items {
		it.done <- drainResult{err: err}
	}
}
