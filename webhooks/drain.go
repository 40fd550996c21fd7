package webhooks

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
)

// A receipt whose church has no connection free at once is handed to a
// drain before it is queued: one goroutine per church takes the church's
// connection, waiting for it like any caller, and applies every receipt
// that came for the church meanwhile on it, while their webhooks wait. On
// PostgreSQL, where a Sunday's send jobs hold most of the budget, this is
// one acquisition for many receipts instead of a job each (its registry
// writes, its fetch and its own acquisition), and one commit for the
// receipts that waited together (store.ApplyReceipts). Few drains run at
// once, so they do not crowd the manager's waiters as the webhooks
// themselves would, and a drain never closes another church's pool to get
// its connection (tenancy.WaitToRecord): STOPs and pages come first. A
// receipt that finds them all busy, or is not applied within drainWait,
// is queued as before (applying it twice changes nothing). Its
// drain may still apply it meanwhile: the queued job then finds it applied
// (out of order).
const (
	// drains bounds the churches being drained at once in a process.
	drains = 8
	// drainWait bounds a webhook's wait for its receipt: the provider
	// wants its answer within 2 s, and a receipt not applied by then must
	// still be queued.
	drainWait = time.Second
	// drainAcquire bounds a drain's wait for its church's connection,
	// leaving its webhooks time to have the receipts applied.
	drainAcquire = 800 * time.Millisecond
	// drainHold bounds how long a drain keeps the connection while
	// receipts keep coming; those still waiting then are queued.
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
// until nothing does, or drainHold has passed: it then gives the
// connection back and answers the rest with an error (they are queued).
// The receipts waiting together are applied in one transaction, one
// commit for them all; if it fails, they are all queued.
func (d *receiptDrain) drain(tenantID string) {
	defer func() { <-d.slots }()
	wait, cancel := context.WithTimeout(context.Background(), drainAcquire)
	h, err := d.svc.ten.Manager.WaitToRecord(wait, tenantID)
	cancel()
	ctx, cancel := context.WithTimeout(context.Background(), drainHold+drainWait)
	defer cancel()
	until := time.Now().Add(drainHold)
	for {
		d.mu.Lock()
		items := d.waiting[tenantID]
		done := len(items) == 0 || err != nil || time.Now().After(until)
		if done {
			delete(d.waiting, tenantID)
		} else {
			d.waiting[tenantID] = []*drainItem{}
		}
		d.mu.Unlock()
		if done {
			if h != nil {
				h.Release()
			}
			if err == nil {
				err = errDrainBusy
			}
			for _, it := range items {
				it.done <- drainResult{err: err}
			}
			return
		}
		evs := make([]messaging.ReceiptEvent, len(items))
		for i, it := range items {
			evs[i] = messaging.ReceiptEvent{Type: it.ev.EventType, Occurred: it.ev.OccurredAt, Payload: it.p}
		}
		rs, aerr := d.svc.msg.ApplyReceipts(ctx, h, evs)
		for i, it := range items {
			if aerr != nil {
				it.done <- drainResult{err: aerr}
				continue
			}
			it.done <- drainResult{r: rs[i]}
		}
	}
}
