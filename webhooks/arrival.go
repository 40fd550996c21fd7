package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/tenancy"
)

// A delivery receipt is applied while the provider waits for its answer
// when that is quick, instead of going through the queue: it is one
// conditional UPDATE in its church's database, committed before the 2xx,
// and applying it twice changes nothing (the second is out of order). On
// Sunday morning receipts are two events for every text sent; queueing
// them cost a de-duplication row, a job, a fetch and a completion, all
// writes to the registry (on SQLite, one writer shared with the sends),
// and left them waiting minutes behind one another.
//
// A member's text (a STOP above all) is applied on arrival the same way
// when its church's connection comes within inboundWait (acceptInbound):
// storing it is keyed on the provider's message id, so applying it again
// changes nothing, and its event id is then recorded alone, so that the
// provider's retry is still answered as a duplicate. Its answer (a STOP's
// confirmation) is queued as a send job as before.
//
// Anything not quick goes to the queue as before: a receipt that does not
// name its church in its webhook URL, a text to a number no church owns,
// a church paused for a move, a receipt whose church has no connection
// free at once (it never waits for one: see TryAcquireToRecord) and no
// drain applied it in time (drain.go), or whose message id the sender has
// not recorded once arrivalWait has passed, and a text whose church's
// connection did not come within inboundWait.
const (
	// arrivalWait bounds the wait for the send worker to record the
	// message id (the provider may report a few milliseconds before it).
	arrivalWait = 300 * time.Millisecond
	// arrivalPoll is the pause between two looks for that id.
	arrivalPoll = 15 * time.Millisecond
	// inboundWait bounds the wait for a connection to a member's text's
	// church (the provider wants its answer within 2 s). Unlike a
	// receipt's, it may wait and close an idle church's pool to make room:
	// members' texts are one in a hundred events, too few to crowd the
	// manager, and a STOP queued waits behind the queue.
	inboundWait = time.Second
	// inboundWork bounds a text's whole handling on arrival.
	inboundWork = 30 * time.Second
)

// applyOnArrival applies a receipt now if it can; false hands it to the
// queue. It counts the outcome of what it applied.
func (s *Service) applyOnArrival(ctx context.Context, ev telnyx.Event) bool {
	if ev.EventType != telnyx.EventMessageSent && ev.EventType != telnyx.EventMessageFinalized {
		return false
	}
	var p telnyx.MessagePayload
	if err := json.Unmarshal(ev.Payload, &p); err != nil || p.ID == "" {
		return false
	}
	tenantID := tenantInURL(p.WebhookURL)
	if tenantID == "" {
		return false
	}
	giveUp := time.Now().Add(arrivalWait)
	for {
		done, err := s.applyReceiptNow(ctx, tenantID, ev, &p)
		if err != nil {
			return false
		}
		if done {
			return true
		}
		if time.Now().After(giveUp) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(arrivalPoll):
		}
	}
}

// applyReceiptNow makes one attempt, holding the church's connection only
// for it, and counts its outcome; false means no text has that id yet.
func (s *Service) applyReceiptNow(ctx context.Context, tenantID string, ev telnyx.Event, p *telnyx.MessagePayload) (bool, error) {
	h, err := s.ten.Manager.TryAcquireToRecord(ctx, tenantID)
	if c := steeple.ErrorCode(err); c == steeple.ENOTFOUND || c == steeple.EINVALID {
		s.count(ev.EventType, OutcomeUnavailable)
		return true, nil
	}
	if errors.Is(err, tenancy.ErrBudgetExhausted) {
		r, err := s.drain.apply(ctx, tenantID, ev, p)
		if err != nil {
			return false, err
		}
		return s.countReceipt(ev.EventType, r), nil
	}
	if err != nil {
		return false, err
	}
	defer h.Release()
	r, err := s.msg.ApplyReceipt(ctx, h, ev.EventType, ev.OccurredAt, p)
	if err != nil {
		return false, err
	}
	return s.countReceipt(ev.EventType, r), nil
}

// acceptInbound takes a member's text: applied now if its church's
// connection comes within inboundWait, else queued. The answer and the
// counts are those of the queued path: "duplicate" for an event id seen
// before (looked up first, so that a retry costs one read), and the
// apply's own outcome (applied, or duplicate for a text stored before
// under another event id).
//
// A text queued because its connection had not come keeps waiting for it
// after the answer (applyLate, for Config.LateWait), and is applied as soon
// as it comes, its job then taken back if no worker has started it: on a
// busy Sunday a STOP queued at the storm's start otherwise waited seconds
// behind the other members' texts, each of which needed its own church's
// connection started again.
//
// Once the text is stored its follow-ups (the answer's send job, staff
// notices, a welcome text) are queued or merely logged on failure, so the
// work runs on a context the provider hanging up does not cancel.
func (s *Service) acceptInbound(ctx context.Context, ev telnyx.Event, d Delivery) (string, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), inboundWork)
	defer cancel()
	if seen, err := s.ten.Registry.WebhookEventSeen(ctx, ev.ID); err == nil && seen {
		s.count(ev.EventType, OutcomeDuplicate)
		return OutcomeDuplicate, nil
	}
	p, tenantID := s.routeInbound(ctx, ev)
	handing := time.Now()
	if outcome, ok := s.handOver(ctx, tenantID, p, d); ok {
		s.count(ev.EventType, OutcomeHandedOver)
		return outcome, nil
	}
	// A hand-over tried in vain took its time from the wait here: the
	// provider wants its answer within 2 s.
	res, late := s.inboundNow(ctx, ev.EventType, tenantID, p, inboundWait-time.Since(handing))
	if late != nil {
		go s.applyLate(late) // no connection held while the job is committed
	}
	var (
		jobID int64
		err   error
	)
	if res != nil {
		err = s.commits.record(ctx, ev.ID)
	} else {
		jobID, err = s.commits.add(ctx, s.JobArgs(ev))
	}
	if late != nil {
		late.job <- jobID // 0 when none was queued
	}
	seen := errors.Is(err, errSeen)
	if err != nil && !seen {
		return "", err
	}
	switch {
	case res != nil && !res.Duplicate:
		s.count(ev.EventType, OutcomeApplied)
	case res != nil && !seen:
		s.count(ev.EventType, OutcomeDuplicate) // the same text under a new event id
	}
	if seen {
		s.count(ev.EventType, OutcomeDuplicate)
		return OutcomeDuplicate, nil
	}
	s.count(ev.EventType, OutcomeAccepted)
	return OutcomeAccepted, nil
}

// lateText is a member's text whose connection did not come within
// inboundWait: the wait goes on, on a context of its own.
type lateText struct {
	ctx       context.Context
	cancel    context.CancelFunc
	eventType string
	p         telnyx.MessagePayload
	got       <-chan acquired
	job       chan int64 // its job's id once committed (buffered)
}

type acquired struct {
	h   *tenancy.Handle
	err error
}

// routeInbound decodes a member's text and names its church; "" when it
// cannot be routed now (the queue then does all, and counts what cannot be
// applied at all).
func (s *Service) routeInbound(ctx context.Context, ev telnyx.Event) (*telnyx.MessagePayload, string) {
	var p telnyx.MessagePayload
	if err := json.Unmarshal(ev.Payload, &p); err != nil || p.ID == "" {
		return &p, ""
	}
	tenantID, err := s.route(ctx, ev.EventType, &p)
	if err != nil {
		return &p, ""
	}
	return &p, tenantID
}

// inboundNow applies a member's text, routed to tenantID, if its
// connection comes within wait.
// Otherwise it returns nil and, if the text waits for its connection
// still, that wait (for applyLate); neither when the text is not routed or
// Config.LateWaiters wait on after their answer already (the queue then
// does all). While Config.InboundWaiters wait within their answer, a text
// is answered at once and waits on after it. The bounds are there because
// a text-to-join keyword shown on screen during a service can bring
// hundreds together.
func (s *Service) inboundNow(ctx context.Context, eventType, tenantID string, p *telnyx.MessagePayload, wait time.Duration) (*store.InboundResult, *lateText) {
	if tenantID == "" {
		return nil, nil
	}
	// Too many waiting within their answer already: this one is answered
	// at once, and waits on after it if there is room. At a storm's start
	// on SQLite (1,000 churches) one STOP in five found no room to wait
	// within its answer, and the queue applied it 2–5 s later (twenty-first
	// pass in docs/benchmarks.md).
	answerNow := false
	select {
	case s.inboundSlots <- struct{}{}:
	default:
		if answerNow = s.takeLateSlot(); !answerNow {
			return nil, nil
		}
	}
	// The wait outlives this request if it must (applyLate ends it).
	waitCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), inboundWait+max(s.cfg.LateWait, 0))
	got := make(chan acquired, 1)
	go func() {
		h, err := s.ten.Manager.AcquireForMemberText(waitCtx, tenantID)
		got <- acquired{h, err}
	}()
	late := func() *lateText {
		return &lateText{ctx: waitCtx, cancel: cancel, eventType: eventType, p: *p, got: got, job: make(chan int64, 1)}
	}
	if answerNow {
		return nil, late()
	}
	timer := time.NewTimer(max(wait, 0))
	defer timer.Stop()
	var a acquired
	select {
	case a = <-got:
		<-s.inboundSlots
	case <-timer.C:
		<-s.inboundSlots // the next text may wait its second
		if s.takeLateSlot() {
			return nil, late()
		}
		// Too many wait on: the queue applies this one.
		cancel()
		go releaseWhenGot(got)
		return nil, nil
	}
	defer cancel()
	if a.err != nil {
		return nil, nil
	}
	defer a.h.Release()
	res, err := s.inbox.ApplyInbound(ctx, a.h, p)
	if err != nil {
		return nil, nil
	}
	return res, nil
}

// applyLate applies a text once its connection comes (applying it twice
// changes nothing, so whatever became of its queueing), then takes back
// its job once committed, unless a worker has started it. The job applies
// the text if this wait runs out first.
func (s *Service) applyLate(l *lateText) {
	defer func() { <-s.lateSlots }()
	defer l.cancel()
	defer func() {
		// net/http recovered a panic in the request; nothing does here.
		if p := recover(); p != nil {
			s.log.Error("applying a member's text after its answer panicked; the queue applies it", "panic", p)
		}
	}()
	a := <-l.got
	if a.err != nil {
		return
	}
	err := func() error {
		defer a.h.Release() // before the registry is asked anything
		return s.applyInbound(l.ctx, a.h, l.eventType, &l.p)
	}()
	if err != nil {
		return
	}
	var jobID int64
	select {
	case jobID = <-l.job:
	case <-l.ctx.Done(): // the answer never came to commit it (a panic)
	}
	if jobID == 0 {
		return
	}
	if _, err := s.queue.TakeBack(l.ctx, jobID); err != nil {
		s.log.Debug("taking back a text's job applied meanwhile", "job", jobID, "err", err)
	}
}

// takeLateSlot takes room for a text to wait on for its connection after
// its answer (applyLate gives it back); false when LateWaiters wait so
// already, or texts do not wait on at all.
func (s *Service) takeLateSlot() bool {
	if s.cfg.LateWait <= 0 {
		return false
	}
	select {
	case s.lateSlots <- struct{}{}:
		return true
	default:
		return false
	}
}

// releaseWhenGot gives back the handle of a wait given up, if it came.
func releaseWhenGot(got <-chan acquired) {
	if a := <-got; a.err == nil {
		a.h.Release()
	}
}
