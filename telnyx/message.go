package telnyx

import (
	"context"
	"net/http"
	"time"
)

// Message types for SendMessageRequest.Type and the Type fields of answers.
const (
	TypeSMS = "SMS"
	TypeMMS = "MMS"
)

// Encodings for SendMessageRequest.Encoding. Answers report "GSM-7" or "UCS-2".
const (
	EncodingAuto = "auto"
	EncodingGSM7 = "gsm7"
	EncodingUCS2 = "ucs2"
)

// Recipient statuses (to[].status).
const (
	StatusQueued              = "queued"
	StatusSending             = "sending"
	StatusSent                = "sent"
	StatusExpired             = "expired"
	StatusSendingFailed       = "sending_failed"
	StatusDeliveryUnconfirmed = "delivery_unconfirmed"
	StatusDelivered           = "delivered"
	StatusDeliveryFailed      = "delivery_failed"
	StatusWebhookDelivered    = "webhook_delivered" // inbound messages
)

// SendMessageRequest is the body of POST /messages.
type SendMessageRequest struct {
	From               string   `json:"from"`
	To                 string   `json:"to"`
	Text               string   `json:"text,omitempty"`
	Subject            string   `json:"subject,omitempty"`
	MediaURLs          []string `json:"media_urls,omitempty"`
	Type               string   `json:"type,omitempty"` // TypeSMS or TypeMMS; Telnyx infers it when empty
	MessagingProfileID string   `json:"messaging_profile_id,omitempty"`
	WebhookURL         string   `json:"webhook_url,omitempty"`
	WebhookFailoverURL string   `json:"webhook_failover_url,omitempty"`
	// UseProfileWebhooks is a pointer because Telnyx defaults it to true:
	// nil leaves it out, false turns the profile's webhooks off.
	UseProfileWebhooks *bool  `json:"use_profile_webhooks,omitempty"`
	Encoding           string `json:"encoding,omitempty"` // EncodingAuto (default), EncodingGSM7, EncodingUCS2
}

// Endpoint is the from side of a message.
type Endpoint struct {
	PhoneNumber string `json:"phone_number"`
	Carrier     string `json:"carrier,omitempty"`
	LineType    string `json:"line_type,omitempty"`
}

// Recipient is one entry of a message's to[] with its delivery status.
type Recipient struct {
	PhoneNumber string `json:"phone_number"`
	Status      string `json:"status"`
	Carrier     string `json:"carrier,omitempty"`
	LineType    string `json:"line_type,omitempty"`
}

// Media is one MMS attachment.
type Media struct {
	URL         string `json:"url"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size,omitempty"`
	HashSHA256  string `json:"hash_sha256,omitempty"`
}

// Cost is what Telnyx charges; Amount is a decimal string such as "0.0040".
type Cost struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// MessageError explains a failure in a message's errors[].
type MessageError struct {
	Code   string `json:"code"`
	Title  string `json:"title"`
	Detail string `json:"detail,omitempty"`
}

// Message is the answer to POST /messages.
type Message struct {
	ID                 string         `json:"id"`
	RecordType         string         `json:"record_type"`
	Direction          string         `json:"direction"`
	Type               string         `json:"type"`
	From               Endpoint       `json:"from"`
	To                 []Recipient    `json:"to"`
	Text               string         `json:"text"`
	Subject            string         `json:"subject,omitempty"`
	Media              []Media        `json:"media"`
	Parts              int            `json:"parts"`
	Encoding           string         `json:"encoding"`
	Cost               *Cost          `json:"cost"`
	MessagingProfileID string         `json:"messaging_profile_id"`
	WebhookURL         string         `json:"webhook_url"`
	WebhookFailoverURL string         `json:"webhook_failover_url"`
	ReceivedAt         time.Time      `json:"received_at"`
	Errors             []MessageError `json:"errors"`
}

// Status returns the status of the first recipient, or "" when there is none.
func (m *Message) Status() string {
	if len(m.To) == 0 {
		return ""
	}
	return m.To[0].Status
}

// SendMessage sends one SMS or MMS (POST /messages). Rejections come back as
// *Error: see IsOptOut, IsInvalidTo and Retryable.
func (c *Client) SendMessage(ctx context.Context, req SendMessageRequest) (*Message, error) {
	m, err := call[Message](ctx, c, http.MethodPost, "/messages", nil, req)
	if err != nil {
		return nil, err
	}
	return &m, nil
}
