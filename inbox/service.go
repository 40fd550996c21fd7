// Package inbox is a church's two-way inbox: inbound texts matched to
// members (or kept as unknown contacts), STOP/START/HELP keywords, and the
// conversations admins read and answer. Routing an event to its church is
// the webhooks package's job; everything here runs on one church's handle.
package inbox

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/mail"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/tenancy"
)

// Config tunes the inbox.
type Config struct {
	// ProviderConfirmsKeywords says the provider answers STOP and START
	// itself, as Telnyx does on long codes (it also blocks sends after STOP,
	// so a confirmation of Steeple's own would be refused). Steeple then
	// confirms only keywords the provider did not act on: those without
	// autoresponse_type, such as YES. HELP is always answered by Steeple,
	// with the church's own contact.
	ProviderConfirmsKeywords bool
	// NoWelcome turns welcome texts off: members who opt in (entered,
	// imported, or START after STOP) get none; START is confirmed instead.
	// Production leaves them on; tests that count only their own texts
	// turn them off.
	NoWelcome bool
	// Now is the clock quiet hours are read against (time.Now if nil).
	Now func() time.Time
	// Mail sends admins' reply notifications (none when nil).
	Mail mail.Sender
	// PublicURL is where the inbox is, for links in notifications.
	PublicURL string
	// DigestEvery is how often a digest of replies is mailed to admins
	// who chose one (default an hour; at least a second).
	DigestEvery time.Duration
}

// withDefaults fills what c leaves zero.
func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.DigestEvery == 0 {
		c.DigestEvery = time.Hour
	}
	return c
}

// validate refuses a digest period the queue cannot keep unique.
func (c Config) validate() error {
	if c.DigestEvery < time.Second {
		return errors.New("inbox: DigestEvery must be at least a second")
	}
	return nil
}

// Service applies inbound texts and serves the inbox.
type Service struct {
	store *store.Store
	msg   *messaging.Service
	cfg   Config
	log   *slog.Logger
	// For welcome texts: the tenancy (for the background job) and the
	// queue.
	ten   *tenancy.Tenancy
	queue *jobs.Queue
}

// New returns the service over a queue that is not open yet: it adds the
// welcome worker to q. Replies go through msg's send pipeline; welcome
// texts wait for the church's quiet hours (msg's send job holds them too,
// with the wait internal/app gives it).
func New(ten *tenancy.Tenancy, st *store.Store, msg *messaging.Service, q *jobs.Queue, cfg Config, log *slog.Logger) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Service{store: st, msg: msg, cfg: cfg, log: log, ten: ten, queue: q}
	s.register(q.Workers())
	return s, nil
}

// ApplyInbound stores a message.received payload in the church's database:
// the conversation, the member's consent for STOP and START, and the
// automatic answer (none while the church is suspended), all in one
// transaction; the answer is then queued. A text stored before changes
// nothing.
func (s *Service) ApplyInbound(ctx context.Context, h *tenancy.Handle, p *telnyx.MessagePayload) (*store.InboundResult, error) {
	if len(p.To) == 0 || p.From.PhoneNumber == "" || p.ID == "" {
		return nil, steeple.Errorf(steeple.EINVALID, "inbound message without id, from or to")
	}
	kw, flag := Classify(p.Text)
	in := store.InboundText{ProviderID: p.ID, From: p.From.PhoneNumber, ChurchNumber: p.To[0].PhoneNumber, Body: p.Text,
		Keyword: kw, Flag: flag, Wording: strings.TrimSpace(p.Text)}
	if p.ReceivedAt != nil {
		in.ReceivedUS = p.ReceivedAt.UnixMicro()
	}
	for _, m := range p.Media {
		in.Media = append(in.Media, store.Media{URL: m.URL, ContentType: m.ContentType, Size: m.Size})
	}
	// A suspended church (see tenancy.AcquireToRecord) records what its
	// members say, a STOP above all, but answers nothing.
	serving := h.Tenant().Status == steeple.TenantActive
	// A member coming back with START gets the welcome text, which says
	// all a START confirmation says, instead of both. At a suspended church
	// it is written now and sent once the church is resumed.
	welcome := false
	if kw == store.KeywordStart && !s.cfg.NoWelcome {
		m, err := s.store.MemberByPhone(ctx, h, in.From)
		if err != nil && steeple.ErrorCode(err) != steeple.ENOTFOUND {
			return nil, err
		}
		welcome = m != nil && m.Consent.Status != steeple.ConsentOptedIn
	}
	// A text that only reads like a wish to stop gets, once per flag, a
	// text saying how to stop for sure (never to a phone that opted out).
	if flag != "" && serving {
		if due, err := s.store.ClarifyDue(ctx, h, in.From); err != nil {
			return nil, err
		} else if due {
			id, err := s.msg.ReserveReply(ctx, h.TenantID())
			if err != nil {
				return nil, err
			}
			in.Clarify = &store.OutboundDraft{ID: id, Body: ClarifyText(h.Tenant().Name), Purpose: store.PurposeClarify,
				CreatedBy: store.CreatedBySystem}
		}
	}
	body, err := s.answer(ctx, h, kw, p.AutoresponseType)
	if err != nil {
		return nil, err
	}
	if kw == "" && flag == "" {
		if body, err = s.textToJoin(ctx, h, &in); err != nil {
			return nil, err
		}
	}
	var draft *store.OutboundDraft
	if body != "" && !welcome && serving {
		id, err := s.msg.ReserveReply(ctx, h.TenantID())
		if err != nil {
			return nil, err
		}
		draft = &store.OutboundDraft{ID: id, Body: body, Purpose: in.Keyword, CreatedBy: store.CreatedBySystem}
	}
	res, err := s.store.ApplyInbound(ctx, h, in, draft)
	if err != nil {
		return nil, err
	}
	if draft != nil && !res.Duplicate && !res.AnswerSkipped { // an unused intent is dropped by the recovery sweep
		s.msg.DispatchReply(ctx, h.TenantID(), draft.ID)
	}
	if res.Clarified {
		s.dispatchHeld(ctx, h, in.Clarify.ID) // an unused intent is dropped by the recovery sweep
	}
	// Staff hear of replies, not of keywords the system answered.
	if !res.Duplicate && in.Keyword == "" && serving {
		s.notifyReply(ctx, h, res.MessageID)
	}
	if welcome && res.ConsentChanged && res.MemberID != "" {
		if err := s.welcome(ctx, h, res.MemberID, store.KeywordStart, serving); err != nil {
			s.log.Warn("welcome text after START not sent", "tenant", h.TenantID(), "member", res.MemberID, "err", err)
		}
	}
	return res, nil
}

// answer is the automatic reply to a keyword ("" for none).
func (s *Service) answer(ctx context.Context, h *tenancy.Handle, kw, providerMatched string) (string, error) {
	church := h.Tenant().Name
	switch kw {
	case store.KeywordStop, store.KeywordStart:
		if s.cfg.ProviderConfirmsKeywords && providerMatched == kw {
			return "", nil
		}
		if kw == store.KeywordStop {
			return StopAnswer(church), nil
		}
		return StartAnswer(church), nil
	case store.KeywordHelp:
		contact, err := s.store.Setting(ctx, h, steeple.SettingHelpContact)
		if err != nil {
			return "", err
		}
		return HelpAnswer(church, contact), nil
	}
	return "", nil
}

// StopAnswer confirms an opt-out (also given to carriers as the campaign's
// opt-out message).
func StopAnswer(church string) string {
	return church + ": you are unsubscribed and will get no more texts from us. Reply START to subscribe again."
}

// ClarifyText is the one text sent to someone whose words read like a
// wish to stop, without being a STOP the system can act on.
func ClarifyText(church string) string {
	return "Reply STOP to stop all texts from " + church + "."
}

// StartAnswer confirms an opt-in.
func StartAnswer(church string) string {
	return church + ": you are subscribed again. Msg & data rates may apply. Reply HELP for help, STOP to opt out."
}

// HelpAnswer names the church and how to reach it.
func HelpAnswer(church, contact string) string {
	if contact == "" {
		contact = "Reply to this text to reach us"
	}
	return church + ": " + strings.TrimRight(contact, ".") + ". Msg & data rates may apply. Reply STOP to opt out."
}
