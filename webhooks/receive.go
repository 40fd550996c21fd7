// Package webhooks takes provider events in and routes each to exactly one
// church in constant time. Receiving is cheap and durable: verify the
// signature, de-duplicate on the event id and queue the event, in one
// registry transaction — or, for a member's text or a delivery receipt
// naming its church, apply it at once when that is quick (see arrival.go).
// A queued event is then applied by a worker:
// an inbound text goes to the church owning the receiving number (the
// registry's phone-number index); a delivery receipt goes to the church
// named in the message's own webhook URL, which Steeple set when sending
// and the provider signed, so it stays right after the number changes hands.
package webhooks

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/inbox"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/secret"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/tenancy"
)

// MaxBody is the largest webhook body accepted.
const MaxBody = 256 << 10

// Config tunes webhook handling.
type Config struct {
	// PublicKey verifies the provider's signatures.
	PublicKey ed25519.PublicKey
	// Now is the clock timestamps are checked against (time.Now if nil).
	Now func() time.Time
	// ReceiptGrace is how long a receipt for a message id no church knows
	// yet is retried: the provider may report before the sender has
	// recorded the id. Older ones are ignored and counted.
	ReceiptGrace time.Duration
	// RetryEvery is the wait between those retries.
	RetryEvery time.Duration
	// Retention is how long event ids are kept for de-duplication.
	Retention time.Duration
	// PruneEvery is how often old event ids are pruned (default 1 hour).
	PruneEvery time.Duration
	// RejectionLogEvery is the least time between two log lines for one
	// reason of refusing or dropping events (default 1 minute); the lines
	// carry counts.
	RejectionLogEvery time.Duration
	// LateWait is how long a member's text queued for want of its
	// church's connection keeps waiting for it after the provider has its
	// answer, to be applied at once when it comes (default 30 s; negative:
	// not at all, the queue applies it).
	LateWait time.Duration
	// InboundWaiters bounds the texts waiting for their church's connection
	// at once while the provider waits for its answer (default 32).
	InboundWaiters int
	// LateWaiters bounds the texts still waiting for their connection
	// after their answer (default 64); beyond it the queue applies them.
	LateWaiters int
	// HandOverWait bounds the answer of the process a member's text is
	// handed to (handover.go; default 1.3 s: that process waits up to 1 s
	// for the church's connection itself, and the provider wants an answer
	// within 2 s).
	HandOverWait time.Duration
}

// withDefaults fills what c leaves zero.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ReceiptGrace == 0 {
		c.ReceiptGrace = d.ReceiptGrace
	}
	if c.RetryEvery == 0 {
		c.RetryEvery = d.RetryEvery
	}
	if c.Retention == 0 {
		c.Retention = d.Retention
	}
	if c.PruneEvery == 0 {
		c.PruneEvery = d.PruneEvery
	}
	if c.RejectionLogEvery == 0 {
		c.RejectionLogEvery = d.RejectionLogEvery
	}
	if c.LateWait == 0 {
		c.LateWait = d.LateWait
	}
	if c.HandOverWait == 0 {
		c.HandOverWait = d.HandOverWait
	}
	if c.InboundWaiters == 0 {
		c.InboundWaiters = d.InboundWaiters
	}
	if c.LateWaiters == 0 {
		c.LateWaiters = d.LateWaiters
	}
	return c
}

// validate names every field that is out of range.
func (c Config) validate() error {
	fields := map[string]string{}
	if len(c.PublicKey) != ed25519.PublicKeySize {
		fields["public_key"] = "must be an Ed25519 public key"
	}
	if c.ReceiptGrace < 0 || c.RetryEvery < 0 || c.Retention < 0 || c.PruneEvery < 0 || c.HandOverWait < 0 {
		fields["durations"] = "may not be negative"
	}
	if c.LateWaiters < 0 || c.InboundWaiters < 0 {
		fields["waiters"] = "may not be negative"
	}
	if len(fields) > 0 {
		return &steeple.Error{Code: steeple.EINVALID, Message: "webhook configuration is invalid", Fields: fields}
	}
	return nil
}

// DefaultConfig returns the documented defaults (the key must be set).
func DefaultConfig() Config {
	return Config{ReceiptGrace: 2 * time.Minute, RetryEvery: 2 * time.Second, Retention: 72 * time.Hour, PruneEvery: time.Hour,
		RejectionLogEvery: time.Minute, LateWait: 30 * time.Second, HandOverWait: inboundWait + 300*time.Millisecond,
		InboundWaiters: 32, LateWaiters: 64}
}

// Service receives and applies webhook events.
type Service struct {
	ten     *tenancy.Tenancy
	inbox   *inbox.Service
	msg     *messaging.Service
	queue   *jobs.Queue
	keys    *secret.Keys
	reg     Registration
	commits *groupCommit
	cfg     Config
	metrics *prometheus.CounterVec
	log     *slog.Logger
	refused *rejectionLog
	// inboundSlots holds one token per text waiting for a connection
	// on arrival (see inboundNow).
	inboundSlots chan struct{}
	// lateSlots holds one token per text waiting for it after its answer.
	lateSlots chan struct{}
	drain     *receiptDrain
	// peers carries texts handed to other processes (handover.go);
	// handOverSlots holds one token per text being handed over.
	peers            *http.Client
	handOverSlots    chan struct{}
	handOverFailures prometheus.Counter
}

// New builds the service over a queue that is not open yet: it adds its
// workers and the pruning job (every cfg.PruneEvery) to q. Event counts are
// registered with reg as steeple_webhook_events_total{type, outcome}.
// Payloads are sealed with keys while they wait in the queue; 10DLC events
// go to tendlc (nil: they are dropped).
func New(ten *tenancy.Tenancy, keys *secret.Keys, ib *inbox.Service, msg *messaging.Service, tendlc Registration, q *jobs.Queue,
	cfg Config, reg prometheus.Registerer, log *slog.Logger) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "steeple_webhook_events_total",
		Help: "Provider webhook events by type and what became of them."}, []string{"type", "outcome"})
	failed := prometheus.NewCounter(prometheus.CounterOpts{Name: "steeple_webhook_hand_over_failures_total",
		Help: "Members' texts not handed to the process sending for their church because it did not answer 200 in time; each was taken where it arrived."})
	if reg != nil {
		reg.MustRegister(m, failed)
	}
	s := &Service{ten: ten, keys: keys, inbox: ib, msg: msg, reg: tendlc, queue: q, cfg: cfg, metrics: m, log: log,
		refused: newRejectionLog(log, cfg.RejectionLogEvery), inboundSlots: make(chan struct{}, cfg.InboundWaiters),
		lateSlots: make(chan struct{}, cfg.LateWaiters), peers: newPeerClient(cfg.HandOverWait),
		handOverSlots: make(chan struct{}, handOverSlots), handOverFailures: failed}
	s.commits = &groupCommit{svc: s}
	s.drain = newReceiptDrain(s)
	s.register(q.Workers())
	q.AddPeriodic(s.periodicJobs(cfg.PruneEvery)...)
	return s, nil
}

// Counts exposes the event counter (tests and benchmarks read it).
func (s *Service) Counts() *prometheus.CounterVec { return s.metrics }

// Outcomes of receiving an event.
const (
	OutcomeAccepted     = "accepted"
	OutcomeDuplicate    = "duplicate"
	OutcomeBadSignature = "bad_signature"
	OutcomeStale        = "stale_timestamp"
	OutcomeMalformed    = "malformed"
	OutcomeTooLarge     = "too_large"
	OutcomeIgnored      = "ignored_type"
	// OutcomeHandedOver: a member's text handed to the process sending for
	// its church, which applied or queued it (handover.go).
	OutcomeHandedOver = "handed_over"
)

// Delivery is one webhook as it came: the provider's signature headers and
// the body they sign, and whether another Steeple process handed it over
// (handover.go; such a one is never handed on).
type Delivery struct {
	Signature, Timestamp string
	Body                 []byte
	HandedOver           bool
}

// Accept verifies one webhook and applies it (see arrival.go) or queues
// it: signature and timestamp (EUNAUTHORIZED), JSON shape (EINVALID); an
// event type Steeple does not handle is accepted and ignored; an event id
// seen before is accepted and not queued again. It returns the outcome.
func (s *Service) Accept(ctx context.Context, d Delivery) (string, error) {
	body := d.Body
	if err := telnyx.VerifySignature(s.cfg.PublicKey, d.Signature, d.Timestamp, body, s.cfg.Now()); err != nil {
		outcome := OutcomeBadSignature
		if errors.Is(err, telnyx.ErrStaleTimestamp) {
			outcome = OutcomeStale
		}
		s.count("", outcome)
		return outcome, steeple.Errorf(steeple.EUNAUTHORIZED, "webhook signature or timestamp does not verify")
	}
	w, err := telnyx.ParseWebhook(body)
	if err != nil {
		s.count("", OutcomeMalformed)
		return OutcomeMalformed, steeple.Errorf(steeple.EINVALID, "malformed webhook: %v", err)
	}
	ev := w.Data
	if !handled(ev.EventType) {
		s.count(ev.EventType, OutcomeIgnored)
		return OutcomeIgnored, nil
	}
	if err := readable(&ev); err != nil {
		s.count(ev.EventType, OutcomeMalformed)
		return OutcomeMalformed, steeple.Errorf(steeple.EINVALID, "malformed webhook: %v", err)
	}
	if ev.EventType == telnyx.EventMessageReceived {
		return s.acceptInbound(ctx, ev, d)
	}
	if s.applyOnArrival(ctx, ev) {
		s.count(ev.EventType, OutcomeAccepted)
		return OutcomeAccepted, nil
	}
	_, err = s.commits.add(ctx, s.JobArgs(ev))
	if errors.Is(err, errSeen) {
		s.count(ev.EventType, OutcomeDuplicate)
		return OutcomeDuplicate, nil
	}
	if err != nil {
		return "", err
	}
	s.count(ev.EventType, OutcomeAccepted)
	return OutcomeAccepted, nil
}

// CountTooLarge records a body refused for its size (the HTTP layer reads it).
func (s *Service) CountTooLarge() { s.count("", OutcomeTooLarge) }

var errSeen = errors.New("webhook event seen before")

// readable refuses, before anything is stored, a handled event whose
// payload cannot be applied: it must be an object, and a message event's
// must carry the message id. (Only the id is decoded here: the intake is
// the hot path; the worker decodes the rest.)
func readable(ev *telnyx.Event) error {
	var p struct {
		ID string `json:"id"`
	}
	if !bytes.HasPrefix(bytes.TrimSpace(ev.Payload), []byte("{")) || json.Unmarshal(ev.Payload, &p) != nil {
		return fmt.Errorf("%s payload is not an object", ev.EventType)
	}
	if !is10DLC(ev.EventType) && p.ID == "" {
		return fmt.Errorf("%s payload without an id", ev.EventType)
	}
	return nil
}

func handled(eventType string) bool {
	switch eventType {
	case telnyx.EventMessageReceived, telnyx.EventMessageSent, telnyx.EventMessageFinalized:
		return true
	}
	return is10DLC(eventType)
}

// count adds one to the counter; unknown types share one label so a
// sender cannot grow the metric without bound.
func (s *Service) count(eventType, outcome string) {
	if eventType != "" && !handled(eventType) {
		eventType = "other"
	}
	s.metrics.WithLabelValues(eventType, outcome).Inc()
	s.refused.note(outcome)
}

// EventArgs is a queued webhook event. The payload holds phone numbers and
// message text and job rows live in the registry, so it is sealed with the
// data keys (bound to the event id), like personal data in a church's
// database.
type EventArgs struct {
	EventID       string    `json:"event_id"`
	EventType     string    `json:"event_type"`
	OccurredAt    time.Time `json:"occurred_at"`
	SealedPayload []byte    `json:"sealed_payload"`
}

// JobArgs is the queued form of an event (its payload sealed).
func (s *Service) JobArgs(ev telnyx.Event) EventArgs {
	return EventArgs{EventID: ev.ID, EventType: ev.EventType, OccurredAt: ev.OccurredAt,
		SealedPayload: s.keys.Seal(ev.Payload, payloadAAD(ev.ID))}
}

// payloadAAD binds a sealed payload to its event.
func payloadAAD(eventID string) []byte { return []byte("webhook-event:" + eventID) }

// Kind names the job.
func (EventArgs) Kind() string { return "webhook_event" }

// InsertOpts puts events on queues of their own and retries one whose
// church was briefly unreachable. A member's text (a STOP above all) has
// a lane of its own (jobs.QueueMembers): on Sunday morning receipts are
// queued by the thousand, and a STOP must not wait for a worker behind
// them. (Receipts keep priority 2 from when both shared the events
// queue; apart, the priorities order nothing.)
func (a EventArgs) InsertOpts() river.InsertOpts {
	if a.EventType == telnyx.EventMessageReceived {
		return river.InsertOpts{Queue: jobs.QueueMembers, MaxAttempts: 10}
	}
	return river.InsertOpts{Queue: jobs.QueueEvents, MaxAttempts: 10, Priority: 2}
}
