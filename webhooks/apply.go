package webhooks

import (
	"context"
	"encoding/json"
	"net/url"
	"time"

	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/tenancy"
)

// Outcomes of applying a queued event.
const (
	OutcomeApplied     = "applied"
	OutcomeUnrouted    = "unrouted"           // no church owns the number
	OutcomeUnknownID   = "unknown_message"    // a receipt for a message no church sent
	OutcomeOutOfOrder  = "out_of_order"       // a newer receipt was applied already
	OutcomeUnavailable = "church_unavailable" // the church named does not exist (or was deleted)
	OutcomeInvalid     = "invalid_payload"
)

type eventWorker struct {
	river.WorkerDefaults[EventArgs]
	svc *Service
}

// register adds the event and pruning workers.
func (s *Service) register(w *river.Workers) {
	river.AddWorker(w, &eventWorker{svc: s})
	river.AddWorker(w, &pruneWorker{svc: s})
}

func (w *eventWorker) Work(ctx context.Context, job *river.Job[EventArgs]) error {
	return w.svc.apply(ctx, job.Args)
}

// apply routes one event to its church and applies it there.
func (s *Service) apply(ctx context.Context, ev EventArgs) error {
	raw, err := s.keys.Open(ev.SealedPayload, payloadAAD(ev.EventID))
	if err != nil {
		return err // keys rotated away from under a queued event: retry, and look
	}
	if is10DLC(ev.EventType) {
		return s.apply10DLC(ctx, ev, raw)
	}
	var p telnyx.MessagePayload
	if err := json.Unmarshal(raw, &p); err != nil || p.ID == "" {
		s.count(ev.EventType, OutcomeInvalid)
		return nil
	}
	tenantID, err := s.route(ctx, ev.EventType, &p)
	if steeple.ErrorCode(err) == steeple.ENOTFOUND {
		s.count(ev.EventType, OutcomeUnrouted)
		return nil
	}
	if err != nil {
		return err
	}
	// A suspended church's members still count: their STOP and their
	// receipts are recorded (nothing is answered or sent meanwhile).
	acquire := s.ten.Manager.AcquireToRecordBriefly
	if ev.EventType == telnyx.EventMessageReceived {
		acquire = s.ten.Manager.AcquireForMemberText
	}
	h, err := acquire(ctx, tenantID)
	if c := steeple.ErrorCode(err); c == steeple.ENOTFOUND || c == steeple.EINVALID {
		s.count(ev.EventType, OutcomeUnavailable)
		return nil
	}
	if err != nil {
		return err
	}
	defer h.Release()
	if ev.EventType == telnyx.EventMessageReceived {
		return s.applyInbound(ctx, h, ev.EventType, &p)
	}
	return s.applyReceipt(ctx, h, ev, &p)
}

// route finds the one church an event belongs to with one index lookup.
// Errors: ENOTFOUND when no church does.
func (s *Service) route(ctx context.Context, eventType string, p *telnyx.MessagePayload) (string, error) {
	if eventType == telnyx.EventMessageReceived {
		// A group MMS lists every recipient: the church's number is the
		// first one a church owns, moved to the front for the inbox.
		for i, to := range p.To {
			id, err := s.ten.Registry.NumberOwner(ctx, to.PhoneNumber)
			if steeple.ErrorCode(err) == steeple.ENOTFOUND {
				continue
			}
			if err == nil {
				p.To[0], p.To[i] = p.To[i], p.To[0]
			}
			return id, err
		}
		return "", steeple.Errorf(steeple.ENOTFOUND, "no church owns the receiving number")
	}
	// A receipt: the church Steeple named in the message's webhook URL
	// (signed by the provider as part of the payload). Messages sent with
	// the profile's URL instead fall back to the sending number's owner.
	if id := tenantInURL(p.WebhookURL); id != "" {
		return id, nil
	}
	return s.ten.Registry.NumberOwner(ctx, p.From.PhoneNumber)
}

// tenantInURL returns the tenant query parameter of a webhook URL, if it
// is a well-formed id.
func tenantInURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if id := u.Query().Get("tenant"); steeple.ValidID(id) {
		return id
	}
	return ""
}

// applyInbound stores a member's text and counts what became of it (the
// queue's worker and a text's wait after its answer both call it).
func (s *Service) applyInbound(ctx context.Context, h *tenancy.Handle, eventType string, p *telnyx.MessagePayload) error {
	res, err := s.inbox.ApplyInbound(ctx, h, p)
	if steeple.ErrorCode(err) == steeple.EINVALID {
		s.count(eventType, OutcomeInvalid)
		return nil
	}
	if err != nil {
		return err
	}
	if res.Duplicate {
		s.count(eventType, OutcomeDuplicate)
	} else {
		s.count(eventType, OutcomeApplied)
	}
	return nil
}

func (s *Service) applyReceipt(ctx context.Context, h *tenancy.Handle, ev EventArgs, p *telnyx.MessagePayload) error {
	r, err := s.msg.ApplyReceipt(ctx, h, ev.EventType, ev.OccurredAt, p)
	if err != nil || s.countReceipt(ev.EventType, r) {
		return err
	}
	age := s.cfg.Now().Sub(ev.OccurredAt)
	// Still unknown a while after it occurred: the send worker may have
	// died between the provider's answer and its record. Adopted by the one
	// recipient it can be for, the text is not sent again by the retried
	// job, which a restarted or other process runs minutes later.
	if age >= adoptAfter {
		r, err := s.msg.AdoptReceipt(ctx, h, ev.EventType, ev.OccurredAt, p)
		if err != nil || s.countReceipt(ev.EventType, r) {
			return err
		}
	}
	// The provider may report before the send worker has recorded the
	// message id: look again shortly, for a while.
	if age < s.cfg.ReceiptGrace {
		return river.JobSnooze(s.cfg.RetryEvery)
	}
	s.count(ev.EventType, OutcomeUnknownID)
	return nil
}

// adoptAfter is how long a receipt stays unknown before it may be adopted
// (store.AdoptReceipt): a live worker records its text's id within
// milliseconds of the provider's answer. Adopting one it was about to
// record anyway changes nothing: its record then finds the text sent.
const adoptAfter = 2 * time.Second

// countReceipt counts a receipt applied or out of order; false means no
// text has its id (yet), which the caller counts when it gives up.
func (s *Service) countReceipt(eventType string, r store.ReceiptResult) bool {
	switch r {
	case store.ReceiptApplied:
		s.count(eventType, OutcomeApplied)
	case store.ReceiptStale:
		s.count(eventType, OutcomeOutOfOrder)
	default:
		return false
	}
	return true
}

// PruneArgs is the periodic job forgetting old event ids.
type PruneArgs struct{}

// Kind names the job.
func (PruneArgs) Kind() string { return "webhook_prune" }

// InsertOpts keeps one prune at a time.
func (PruneArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
}

type pruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	svc *Service
}

func (w *pruneWorker) Work(ctx context.Context, _ *river.Job[PruneArgs]) error {
	_, err := w.svc.ten.Registry.PruneWebhookEvents(ctx, w.svc.cfg.Now().Add(-w.svc.cfg.Retention))
	return err
}

// periodicJobs prune old event ids every interval.
func (s *Service) periodicJobs(interval time.Duration) []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return PruneArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})}
}

// Registration follows a church's 10DLC registration when the provider
// reports on it.
type Registration interface {
	SyncChurch(ctx context.Context, tenantID string) error
}

func is10DLC(eventType string) bool {
	switch eventType {
	case telnyx.Event10DLCBrandUpdate, telnyx.Event10DLCCampaignUpdate, telnyx.Event10DLCNumberUpdate:
		return true
	}
	return false
}

// apply10DLC routes a registration event by the registry's index of
// brands and campaigns (a number event by its campaign, else by the
// number's owner) and has the church's registration synced.
func (s *Service) apply10DLC(ctx context.Context, ev EventArgs, raw []byte) error {
	var p struct {
		BrandID     string `json:"brandId"`
		CampaignID  string `json:"campaignId"`
		PhoneNumber string `json:"phoneNumber"`
	}
	if err := json.Unmarshal(raw, &p); err != nil || s.reg == nil {
		s.count(ev.EventType, OutcomeInvalid)
		return nil
	}
	var tenantID string
	var err error = steeple.Errorf(steeple.ENOTFOUND, "no church")
	if p.CampaignID != "" {
		tenantID, err = s.ten.Registry.ProviderObjectOwner(ctx, "campaign", p.CampaignID)
	}
	if steeple.ErrorCode(err) == steeple.ENOTFOUND && p.BrandID != "" {
		tenantID, err = s.ten.Registry.ProviderObjectOwner(ctx, "brand", p.BrandID)
	}
	if steeple.ErrorCode(err) == steeple.ENOTFOUND && p.PhoneNumber != "" {
		tenantID, err = s.ten.Registry.NumberOwner(ctx, p.PhoneNumber)
	}
	if steeple.ErrorCode(err) == steeple.ENOTFOUND {
		s.count(ev.EventType, OutcomeUnrouted)
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.reg.SyncChurch(ctx, tenantID); err != nil {
		return err
	}
	s.count(ev.EventType, OutcomeApplied)
	return nil
}
