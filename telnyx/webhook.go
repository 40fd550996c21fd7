package telnyx

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Webhook headers.
const (
	HeaderSignature = "telnyx-signature-ed25519"
	HeaderTimestamp = "telnyx-timestamp"
)

// SignatureTolerance is how far a webhook's timestamp may be from now.
const SignatureTolerance = 300 * time.Second

// Message event types.
const (
	EventMessageReceived  = "message.received"
	EventMessageSent      = "message.sent"
	EventMessageFinalized = "message.finalized"
)

// 10DLC event types (see tendlc.go for their payloads).
const (
	Event10DLCBrandUpdate    = "10dlc.brand.update"
	Event10DLCCampaignUpdate = "10dlc.campaign.update"
	Event10DLCNumberUpdate   = "10dlc.phone_number.update"
)

// Autoresponse types in an inbound payload, set when a keyword matched.
const (
	AutoresponseStop  = "stop"
	AutoresponseStart = "start"
	AutoresponseHelp  = "help"
)

// Verification failures. VerifySignature wraps one of them.
var (
	ErrBadSignature   = errors.New("telnyx: webhook signature does not verify")
	ErrStaleTimestamp = errors.New("telnyx: webhook timestamp too far from now")
)

// Webhook is the envelope Telnyx posts: {"data": Event, "meta": {…}}.
type Webhook struct {
	Data Event       `json:"data"`
	Meta WebhookMeta `json:"meta"`
}

// WebhookMeta says which delivery attempt this is and where it went.
type WebhookMeta struct {
	Attempt     int    `json:"attempt"`
	DeliveredTo string `json:"delivered_to"`
}

// Event is one webhook event. ID is unique per event (the same across
// redeliveries): de-duplicate on it. Payload depends on EventType.
type Event struct {
	ID         string          `json:"id"`
	EventType  string          `json:"event_type"`
	OccurredAt time.Time       `json:"occurred_at"`
	Payload    json.RawMessage `json:"payload"`
	RecordType string          `json:"record_type"`
}

// MessagePayload decodes the payload of a message.* event.
func (e *Event) MessagePayload() (*MessagePayload, error) {
	var p MessagePayload
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return nil, fmt.Errorf("telnyx: decode %s payload: %w", e.EventType, err)
	}
	return &p, nil
}

// BrandUpdatePayload decodes the payload of a 10dlc.brand.update event.
func (e *Event) BrandUpdatePayload() (*BrandUpdatePayload, error) {
	return decodePayload[BrandUpdatePayload](e)
}

// CampaignUpdatePayload decodes the payload of a 10dlc.campaign.update event.
func (e *Event) CampaignUpdatePayload() (*CampaignUpdatePayload, error) {
	return decodePayload[CampaignUpdatePayload](e)
}

// NumberUpdatePayload decodes the payload of a 10dlc.phone_number.update event.
func (e *Event) NumberUpdatePayload() (*NumberUpdatePayload, error) {
	return decodePayload[NumberUpdatePayload](e)
}

func decodePayload[T any](e *Event) (*T, error) {
	var p T
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return nil, fmt.Errorf("telnyx: decode %s payload: %w", e.EventType, err)
	}
	return &p, nil
}

// ParseWebhook decodes a webhook body. Verify the signature first.
func ParseWebhook(body []byte) (*Webhook, error) {
	var w Webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("telnyx: decode webhook: %w", err)
	}
	if w.Data.ID == "" || w.Data.EventType == "" {
		return nil, errors.New("telnyx: webhook without data.id or data.event_type")
	}
	return &w, nil
}

// MessagePayload is the payload of message.received, message.sent and
// message.finalized events.
type MessagePayload struct {
	ID                 string         `json:"id"`
	RecordType         string         `json:"record_type"`
	Direction          string         `json:"direction"` // "inbound" or "outbound"
	Type               string         `json:"type"`      // TypeSMS or TypeMMS
	From               Endpoint       `json:"from"`
	To                 []Recipient    `json:"to"`
	Text               string         `json:"text"`
	Subject            string         `json:"subject,omitempty"`
	Media              []Media        `json:"media"`
	Parts              int            `json:"parts"`
	Encoding           string         `json:"encoding,omitempty"`
	Cost               *Cost          `json:"cost,omitempty"`
	Errors             []MessageError `json:"errors"`
	MessagingProfileID string         `json:"messaging_profile_id"`
	WebhookURL         string         `json:"webhook_url,omitempty"`
	WebhookFailoverURL string         `json:"webhook_failover_url,omitempty"`
	ReceivedAt         *time.Time     `json:"received_at,omitempty"`
	SentAt             *time.Time     `json:"sent_at,omitempty"`
	CompletedAt        *time.Time     `json:"completed_at,omitempty"`
	// AutoresponseType is set on inbound messages that matched an opt-out,
	// opt-in or help keyword (AutoresponseStop, …).
	AutoresponseType string `json:"autoresponse_type,omitempty"`
}

// Status returns the status of the first recipient, or "".
func (p *MessagePayload) Status() string {
	if len(p.To) == 0 {
		return ""
	}
	return p.To[0].Status
}

// ParsePublicKey decodes a webhook public key as shown in the Telnyx portal:
// base64 of the raw 32-byte Ed25519 key.
func ParsePublicKey(b64 string) (ed25519.PublicKey, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, fmt.Errorf("telnyx: public key is not base64: %w", err)
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("telnyx: public key has %d bytes, want %d", len(raw), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

// VerifySignature checks a webhook: signatureB64 and timestamp are the
// telnyx-signature-ed25519 and telnyx-timestamp headers, body the exact bytes
// received. The signed message is timestamp + "|" + body, and the timestamp
// (Unix seconds) must be within SignatureTolerance of now. The error wraps
// ErrBadSignature or ErrStaleTimestamp.
func VerifySignature(pub ed25519.PublicKey, signatureB64, timestamp string, body []byte, now time.Time) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: public key has %d bytes", ErrBadSignature, len(pub))
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(signatureB64))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: malformed signature header", ErrBadSignature)
	}
	timestamp = strings.TrimSpace(timestamp)
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: malformed timestamp %q", ErrStaleTimestamp, timestamp)
	}
	if skew := now.Sub(time.Unix(ts, 0)); skew > SignatureTolerance || skew < -SignatureTolerance {
		return fmt.Errorf("%w: %s off", ErrStaleTimestamp, skew.Round(time.Second))
	}
	msg := make([]byte, 0, len(timestamp)+1+len(body))
	msg = append(append(append(msg, timestamp...), '|'), body...)
	if !ed25519.Verify(pub, msg, sig) {
		return ErrBadSignature
	}
	return nil
}

// Sign returns the telnyx-signature-ed25519 header value for body sent at
// timestamp (Unix seconds, as sent in telnyx-timestamp). The simulator and
// tests use it; Telnyx signs with its own key.
func Sign(priv ed25519.PrivateKey, timestamp string, body []byte) string {
	msg := make([]byte, 0, len(timestamp)+1+len(body))
	msg = append(append(append(msg, timestamp...), '|'), body...)
	return base64.StdEncoding.EncodeToString(ed25519.Sign(priv, msg))
}
