package telnyxsim

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxAttemptsPerURL is how often Telnyx tries each webhook URL.
const maxAttemptsPerURL = 3

// DeliveredWebhook is one webhook POST attempt, successful or not.
type DeliveredWebhook struct {
	EventID    string    // data.id: the same on every attempt of one event
	EventType  string    // "message.sent", "message.finalized", "message.received"
	MessageID  string    // data.payload.id
	URL        string    // where it was posted
	Attempt    int       // meta.attempt, counting from 1 across all URLs
	StatusCode int       // the receiver's answer; 0 when none came
	Err        string    // transport error, if any
	OK         bool      // the receiver answered 2xx
	Body       []byte    // the exact signed body
	At         time.Time // sim clock when posted
}

// Webhooks returns the delivery attempts so far, oldest first (the last
// Options.History of them).
func (s *Sim) Webhooks() []DeliveredWebhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	return last(s.webhooks, s.history)
}

// Pending returns how many webhook deliveries (message outcomes and inbound
// messages) have not finished.
func (s *Sim) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending
}

// WaitIdle waits until no webhook delivery is pending, or ctx ends. A send's
// deliveries are pending from before its API answer is written, so calling
// WaitIdle after a send returns only once that send's webhooks are done
// (retries and Outcome.Delay included; NeverFinalize ends after message.sent).
func (s *Sim) WaitIdle(ctx context.Context) error {
	for {
		s.mu.Lock()
		if s.pending == 0 {
			s.mu.Unlock()
			return nil
		}
		idle := s.idle
		s.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *Sim) begin() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == 0 {
		s.idle = make(chan struct{})
	}
	s.pending++
}

func (s *Sim) done() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending--
	if s.pending == 0 {
		close(s.idle)
	}
}

// deliver posts one event to urls in order, up to maxAttemptsPerURL times
// each with a growing pause, until a receiver answers 2xx.
func (s *Sim) deliver(ctx context.Context, urls []string, eventType, messageID string, payload any) error {
	eventID := newUUID()
	occurred := telnyxTime(s.clock())
	attempt := 0
	var last error
	for _, u := range urls {
		for i := 1; i <= maxAttemptsPerURL; i++ {
			attempt++
			if last = s.post(ctx, u, eventID, eventType, occurred, messageID, payload, attempt); last == nil {
				return nil
			}
			if i == maxAttemptsPerURL {
				break // on to the failover URL at once
			}
			t := time.NewTimer(time.Duration(i) * s.backoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
	}
	return last
}

// post makes one signed attempt and records it.
func (s *Sim) post(ctx context.Context, url, eventID, eventType, occurred, messageID string, payload any, attempt int) error {
	var ev wireEvent
	ev.Data.EventType, ev.Data.ID, ev.Data.OccurredAt = eventType, eventID, occurred
	ev.Data.Payload, ev.Data.RecordType = payload, "event"
	ev.Meta.Attempt, ev.Meta.DeliveredTo = attempt, url
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	now := s.clock()
	ts := strconv.FormatInt(now.Unix(), 10)
	signed := append([]byte(ts+"|"), body...)
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(s.priv, signed))

	rec := DeliveredWebhook{EventID: eventID, EventType: eventType, MessageID: messageID, URL: url,
		Attempt: attempt, Body: body, At: now}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "telnyx-webhooks")
		req.Header.Set("telnyx-signature-ed25519", sig)
		req.Header.Set("telnyx-timestamp", ts)
		var resp *http.Response
		if resp, err = s.hc.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			rec.StatusCode = resp.StatusCode
			rec.OK = resp.StatusCode >= 200 && resp.StatusCode <= 299
			if !rec.OK {
				err = fmt.Errorf("telnyxsim: %s answered %d", url, resp.StatusCode)
			}
		}
	}
	if err != nil {
		rec.Err = err.Error()
		s.log.Debug("telnyxsim: webhook attempt failed", "event", eventType, "url", url, "attempt", attempt, "err", err)
	}
	s.mu.Lock()
	s.webhooks = trim(append(s.webhooks, rec), s.history)
	s.mu.Unlock()
	return err
}

// Media is an attachment of an inbound MMS.
type Media struct {
	URL         string `json:"url"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	HashSHA256  string `json:"hash_sha256"`
}

// InboundMessage is a text a member sends to one of the account's numbers.
type InboundMessage struct {
	From string `json:"from"` // the member's phone, E.164
	To   string `json:"to"`   // the receiving number, E.164
	Text string `json:"text"`
	// Media makes it an MMS.
	Media []Media `json:"media"`
	// WebhookURL receives the event; when empty, the messaging profile of the
	// owned number To is used.
	WebhookURL string `json:"webhook_url"`
}

// ErrNoWebhookURL is returned by Inbound when there is nowhere to post.
var ErrNoWebhookURL = errors.New("telnyxsim: no webhook URL for inbound message")

// Inbound delivers a message.received webhook for msg and returns once it is
// delivered or every attempt failed. Like Telnyx, it applies the default
// keywords first: STOP, STOPALL, STOP ALL, UNSUBSCRIBE, CANCEL, END or QUIT
// block sends to msg.From (40300); START or UNSTOP lift the block; HELP only
// marks the payload. A matched keyword (the whole text, any case) sets
// autoresponse_type to "stop", "start" or "help". SetKeywordHandling(false)
// turns all of this off.
func (s *Sim) Inbound(ctx context.Context, msg InboundMessage) error {
	if !isE164(msg.From) || !isE164(msg.To) {
		return fmt.Errorf("telnyxsim: inbound from %q to %q: both must be E.164", msg.From, msg.To)
	}
	keyword := strings.ToUpper(strings.Join(strings.Fields(msg.Text), " "))
	auto := optOutKeywords[keyword]
	if auto == "" {
		auto = optInKeywords[keyword]
	}
	if auto == "" {
		auto = helpKeywords[keyword]
	}
	now := s.clock()
	s.mu.Lock()
	if s.noKeywords {
		auto = ""
	}
	switch auto {
	case "stop":
		s.optedOut[msg.From] = true
	case "start":
		delete(s.optedOut, msg.From)
	}
	profileID := ""
	if n := s.numberByPhoneLocked(msg.To); n != nil {
		profileID = n.profileID
	}
	urls := nonEmpty(msg.WebhookURL)
	if p := s.profiles[profileID]; len(urls) == 0 && p != nil {
		urls = nonEmpty(p.WebhookURL, p.WebhookFailoverURL)
	}
	s.mu.Unlock()
	if len(urls) == 0 {
		return ErrNoWebhookURL
	}

	msgType := "SMS"
	if len(msg.Media) > 0 {
		msgType = "MMS"
	}
	enc, parts := countParts(msg.Text, "")
	payload := wireMessage{
		RecordType: "message", ID: newUUID(), Direction: "inbound", Type: msgType, MessagingProfileID: profileID,
		From:     wireEndpoint{PhoneNumber: msg.From, Carrier: simCarrierTo, LineType: "Wireless"},
		To:       []wireRecipient{{PhoneNumber: msg.To, Status: "webhook_delivered", Carrier: simCarrierFrom, LineType: "VoIP"}},
		Cc:       []wireRecipient{},
		Text:     msg.Text,
		Media:    []wireMedia{},
		Encoding: enc, Parts: parts, Tags: []string{},
		Cost:       &wireCost{Amount: "0.0000", Currency: "USD"},
		ReceivedAt: telnyxTime(now), Errors: []wireMsgError{}, AutoresponseType: auto,
	}
	if msg.WebhookURL != "" {
		payload.WebhookURL = msg.WebhookURL
	}
	for _, m := range msg.Media {
		payload.Media = append(payload.Media, wireMedia{URL: m.URL, ContentType: &m.ContentType, Size: &m.Size, HashSHA256: &m.HashSHA256})
	}
	s.begin()
	defer s.done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)() // Close stops this delivery too
	return s.deliver(ctx, urls, "message.received", payload.ID, payload)
}
