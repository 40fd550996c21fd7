package telnyxsim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SentMessage is one send the simulator accepted.
type SentMessage struct {
	ID                 string    `json:"id"`
	From               string    `json:"from"`
	To                 string    `json:"to"`
	Text               string    `json:"text"`
	Subject            string    `json:"subject,omitempty"`
	MediaURLs          []string  `json:"media_urls,omitempty"`
	Type               string    `json:"type"`     // "SMS" or "MMS"
	Encoding           string    `json:"encoding"` // "GSM-7" or "UCS-2"
	Parts              int       `json:"parts"`
	MessagingProfileID string    `json:"messaging_profile_id,omitempty"`
	WebhookURL         string    `json:"webhook_url,omitempty"`
	WebhookFailoverURL string    `json:"webhook_failover_url,omitempty"`
	ReceivedAt         time.Time `json:"received_at"` // by the sim clock
}

// OutcomeKind says how a sent message ends.
type OutcomeKind int

// Outcome kinds.
const (
	// Deliver: message.sent, then message.finalized with status "delivered".
	Deliver OutcomeKind = iota
	// Fail: message.finalized with Outcome.Status (default "delivery_failed")
	// and errors[] holding Outcome.Code (default "40008"). message.sent comes
	// first unless the status is "sending_failed".
	Fail
	// NeverFinalize: message.sent only, as when a carrier never reports back.
	NeverFinalize
)

// String returns the kind's name as the /sim/outcome endpoint spells it.
func (k OutcomeKind) String() string {
	switch k {
	case Fail:
		return "fail"
	case NeverFinalize:
		return "never_finalize"
	default:
		return "deliver"
	}
}

// ParseOutcomeKind reads "deliver", "fail" or "never_finalize".
func ParseOutcomeKind(s string) (OutcomeKind, error) {
	for _, k := range []OutcomeKind{Deliver, Fail, NeverFinalize} {
		if s == k.String() {
			return k, nil
		}
	}
	return Deliver, fmt.Errorf("telnyxsim: unknown outcome kind %q", s)
}

// Outcome is what happens to messages sent to one destination.
type Outcome struct {
	Kind OutcomeKind
	// Code is the error code reported on failure (default "40008").
	Code string
	// Status overrides the final to[].status on failure, e.g.
	// "sending_failed" or "delivery_unconfirmed".
	Status string
	// Delay is the real time between message.sent and message.finalized.
	Delay time.Duration
}

// SetOutcome sets the outcome for sends to phone; phone "*" sets the default
// for every destination without one of its own (initially Deliver).
func (s *Sim) SetOutcome(phone string, o Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outcomes[phone] = o
}

func (s *Sim) outcomeLocked(phone string) Outcome {
	if o, ok := s.outcomes[phone]; ok {
		return o
	}
	return s.outcomes["*"]
}

// Messages returns the accepted sends, oldest first (the last
// Options.History of them).
func (s *Sim) Messages() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return last(s.messages, s.history)
}

// CountTo returns how many sends to phone were accepted.
func (s *Sim) CountTo(phone string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sentTo[phone]
}

// CountFrom returns how many sends from phone were accepted.
func (s *Sim) CountFrom(phone string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sentFrom[phone]
}

// sendRequest is the body of POST /v2/messages.
type sendRequest struct {
	From               string   `json:"from"`
	To                 string   `json:"to"`
	Text               string   `json:"text"`
	Subject            string   `json:"subject"`
	MediaURLs          []string `json:"media_urls"`
	Type               string   `json:"type"`
	MessagingProfileID string   `json:"messaging_profile_id"`
	WebhookURL         string   `json:"webhook_url"`
	WebhookFailoverURL string   `json:"webhook_failover_url"`
	UseProfileWebhooks *bool    `json:"use_profile_webhooks"`
	Encoding           string   `json:"encoding"`
}

const (
	simCarrierFrom = "TELNYX LLC"
	simCarrierTo   = "STEEPLE SIM WIRELESS"
)

func (s *Sim) handleSendMessage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	delay := s.sendDelay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	now := s.clock()
	ok, limit, remaining, reset := s.takeRate(now)
	if limit > 0 {
		setRateHeaders(w, limit, remaining, reset)
	}
	if !ok {
		writeError(w, http.StatusTooManyRequests, "10011", "Too many requests",
			"Message rate limit of "+strconv.Itoa(limit)+" per second exceeded.", "")
		return
	}
	var req sendRequest
	if !decodeBody(w, r, &req) {
		return
	}
	switch {
	case !isE164(req.To):
		writeError(w, http.StatusBadRequest, "40310", "Invalid 'to' address",
			"The 'to' address must be a phone number in E.164 format.", "/to")
		return
	case !validFrom(req.From):
		writeError(w, http.StatusBadRequest, "40305", "Invalid 'from' address",
			"The 'from' address must be an E.164 number, short code or alphanumeric sender ID.", "/from")
		return
	case req.Text == "" && len(req.MediaURLs) == 0:
		writeError(w, http.StatusBadRequest, "40316", "No content provided",
			"A message needs text or media.", "/text")
		return
	case len(req.MediaURLs) > 10:
		writeError(w, http.StatusBadRequest, "40317", "Invalid MMS content",
			"At most 10 media may be attached.", "/media_urls")
		return
	case s.OptedOut(req.To):
		writeError(w, http.StatusBadRequest, "40300", "Blocked due to STOP message",
			fmt.Sprintf("Messages cannot be sent from '%s' to '%s' due to an existing block rule.", req.From, req.To), "")
		return
	}

	msgType := strings.ToUpper(req.Type)
	if msgType == "" {
		msgType = "SMS"
		if len(req.MediaURLs) > 0 {
			msgType = "MMS"
		}
	}
	enc, parts := countParts(req.Text, req.Encoding)
	cost := fmt.Sprintf("%.4f", 0.004*float64(parts))
	if msgType == "MMS" {
		parts, cost = 1, "0.0150"
	}

	s.mu.Lock()
	profileID := req.MessagingProfileID
	if profileID == "" {
		if n := s.numberByPhoneLocked(req.From); n != nil {
			profileID = n.profileID
		}
	}
	urls := nonEmpty(req.WebhookURL, req.WebhookFailoverURL)
	if len(urls) == 0 && (req.UseProfileWebhooks == nil || *req.UseProfileWebhooks) {
		if p := s.profiles[profileID]; p != nil {
			urls = nonEmpty(p.WebhookURL, p.WebhookFailoverURL)
		}
	}
	sent := SentMessage{
		ID: newUUID(), From: req.From, To: req.To, Text: req.Text, Subject: req.Subject, MediaURLs: req.MediaURLs,
		Type: msgType, Encoding: enc, Parts: parts, MessagingProfileID: profileID,
		WebhookURL: req.WebhookURL, WebhookFailoverURL: req.WebhookFailoverURL, ReceivedAt: now,
	}
	s.messages = trim(append(s.messages, sent), s.history)
	s.sentTo[sent.To]++
	s.sentFrom[sent.From]++
	outcome := s.outcomeLocked(req.To)
	s.mu.Unlock()

	msg := outboundMessage(sent, cost)
	if len(urls) > 0 {
		s.scheduleOutcome(msg, outcome, urls) // before answering, so WaitIdle sees it
	}
	s.log.Debug("telnyxsim: message accepted", "id", sent.ID, "to", sent.To, "parts", parts, "webhooks", len(urls))
	writeData(w, msg)
}

// outboundMessage is the message object of an accepted send, status queued.
func outboundMessage(m SentMessage, cost string) wireMessage {
	wm := wireMessage{
		RecordType: "message", ID: m.ID, Direction: "outbound", Type: m.Type,
		MessagingProfileID: m.MessagingProfileID,
		From:               wireEndpoint{PhoneNumber: m.From, Carrier: simCarrierFrom, LineType: "VoIP"},
		To:                 []wireRecipient{{PhoneNumber: m.To, Status: "queued", Carrier: simCarrierTo, LineType: "Wireless"}},
		Cc:                 []wireRecipient{}, Text: m.Text, Media: []wireMedia{}, Tags: []string{},
		WebhookURL: m.WebhookURL, WebhookFailoverURL: m.WebhookFailoverURL,
		Encoding: m.Encoding, Parts: m.Parts, Cost: &wireCost{Amount: cost, Currency: "USD"},
		ReceivedAt: telnyxTime(m.ReceivedAt), Errors: []wireMsgError{},
	}
	if m.Subject != "" {
		wm.Subject = &m.Subject
	}
	for _, u := range m.MediaURLs {
		wm.Media = append(wm.Media, wireMedia{URL: u})
	}
	return wm
}

// scheduleOutcome posts message.sent and message.finalized in the background,
// in that order, as the outcome says.
func (s *Sim) scheduleOutcome(msg wireMessage, o Outcome, urls []string) {
	final, code := "delivered", ""
	if o.Kind == Fail {
		final, code = o.Status, o.Code
		if final == "" {
			final = "delivery_failed"
		}
		if code == "" {
			code = "40008"
		}
	}
	s.begin()
	go func() {
		defer s.done()
		if final != "sending_failed" {
			sent := msg
			sent.To = []wireRecipient{msg.To[0]}
			sent.To[0].Status = "sent"
			sent.SentAt = timePtr(s.clock())
			if err := s.deliver(s.ctx, urls, "message.sent", sent.ID, sent); err != nil {
				s.log.Warn("telnyxsim: message.sent not delivered", "id", msg.ID, "err", err)
			}
			msg.SentAt = sent.SentAt
		}
		if o.Kind == NeverFinalize {
			return
		}
		if o.Delay > 0 {
			t := time.NewTimer(o.Delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-s.ctx.Done():
				return
			}
		}
		fin := msg
		fin.To = []wireRecipient{msg.To[0]}
		fin.To[0].Status = final
		fin.CompletedAt = timePtr(s.clock())
		if code != "" {
			title := finalErrorTitle[code]
			if title == "" {
				title = "Message failed"
			}
			fin.Errors = []wireMsgError{{Code: code, Title: title, Detail: "Simulated outcome for " + msg.To[0].PhoneNumber + "."}}
		}
		if err := s.deliver(s.ctx, urls, "message.finalized", fin.ID, fin); err != nil {
			s.log.Warn("telnyxsim: message.finalized not delivered", "id", msg.ID, "err", err)
		}
	}()
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
