package webhooks

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
)

// A receipt whose church has no connection free at once is handed to a
// drain before it is queued: one goroutine per church takes the church's
// connection, waiting for it like any caller, and applies every receipt
// that came for the church meanwhile on it, while their webhooks wait. On
// PostgreSQL, where a Sunday's send jobs hold most of the budget, this is
// one acquisition for many receipts instead of a job each (its registry
// writes, its fetch and its own acquisition). Few drains run at once, so
// they do not crowd the manager's waiters as the webhooks themselves
// would; a receipt that finds them all busy, or is not applied within
// drainWait, is queued as before (applying it twice changes nothing).
const (
	// drains bounds the churches being drained at once in a process.
	drains = 8
	// drainWait bounds a webhook's wait for its receipt, and a drain's
	// wait for its church's connection.
	drainWait = 2 * time.Second
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
// until nothing does (or drainHold has passed).
func (d *receiptDrain) drain(tenantID string) {
	defer func() { <-d.slots }()
	wait, cancel := context.WithTimeout(context.Background(), drainWait)
	h, err := d.svc.ten.Manager.AcquireToRecord(wait, tenantID)
	cancel()
	if err == nil {
		defer h.Release()
	}
	until := time.Now().Add(drainHold)
	ctx, cancel := context.WithTimeout(context.Background(), drainHold+drainWait)
	defer cancel()
	for {
		d.mu.Lock()
		items := d.waiting[tenantID]
		if len(items) == 0 {
			delete(d.waiting, tenantID)
			d.mu.Unlock()
			return
		}
		d.waiting[tenantID] = []*drainItem{}
		d.mu.Unlock()
		if err == nil && time.Now().After(until) {
			err = errDrainBusy
		}
		for _, it := range items {
			if err != nil {
				it.done <- drainResult{err: err}
				continue
			}
			r, aerr := d.svc.msg.ApplyReceipt(ctx, h, it.ev.EventType, it.ev.OccurredAt, it.p)
			it.done <- drainResult{r: r, err: aerr}
		}
	}
}
