package telnyxsim

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"time"
)

// The simulator writes its own wire structs instead of reusing the client's,
// so that a mistake in one is caught by tests against the other.

// wireMessage is Telnyx's message object: the answer to POST /messages and
// the payload of message.* webhooks.
type wireMessage struct {
	RecordType         string          `json:"record_type"`
	ID                 string          `json:"id"`
	Direction          string          `json:"direction"`
	Type               string          `json:"type"`
	MessagingProfileID string          `json:"messaging_profile_id"`
	From               wireEndpoint    `json:"from"`
	To                 []wireRecipient `json:"to"`
	Cc                 []wireRecipient `json:"cc"`
	Text               string          `json:"text"`
	Subject            *string         `json:"subject"`
	Media              []wireMedia     `json:"media"`
	WebhookURL         string          `json:"webhook_url"`
	WebhookFailoverURL string          `json:"webhook_failover_url"`
	Encoding           string          `json:"encoding"`
	Parts              int             `json:"parts"`
	Tags               []string        `json:"tags"`
	Cost               *wireCost       `json:"cost"`
	ReceivedAt         string          `json:"received_at"`
	SentAt             *string         `json:"sent_at"`
	CompletedAt        *string         `json:"completed_at"`
	Errors             []wireMsgError  `json:"errors"`
	AutoresponseType   string          `json:"autoresponse_type,omitempty"`
}

type wireEndpoint struct {
	PhoneNumber string `json:"phone_number"`
	Carrier     string `json:"carrier"`
	LineType    string `json:"line_type"`
}

type wireRecipient struct {
	PhoneNumber string `json:"phone_number"`
	Status      string `json:"status"`
	Carrier     string `json:"carrier"`
	LineType    string `json:"line_type"`
}

type wireMedia struct {
	URL         string  `json:"url"`
	ContentType *string `json:"content_type"`
	Size        *int64  `json:"size"`
	HashSHA256  *string `json:"hash_sha256"`
}

type wireCost struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

type wireMsgError struct {
	Code   string `json:"code"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

// wireEvent is the webhook envelope.
type wireEvent struct {
	Data struct {
		EventType  string `json:"event_type"`
		ID         string `json:"id"`
		OccurredAt string `json:"occurred_at"`
		Payload    any    `json:"payload"`
		RecordType string `json:"record_type"`
	} `json:"data"`
	Meta struct {
		Attempt     int    `json:"attempt"`
		DeliveredTo string `json:"delivered_to"`
	} `json:"meta"`
}

type wireErrors struct {
	Errors []wireError `json:"errors"`
}

type wireError struct {
	Code   string            `json:"code"`
	Title  string            `json:"title"`
	Detail string            `json:"detail,omitempty"`
	Source map[string]string `json:"source,omitempty"`
	Meta   map[string]string `json:"meta"`
}

// telnyxTime formats t as Telnyx does: RFC 3339, milliseconds, "+00:00".
func telnyxTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000-07:00")
}

func timePtr(t time.Time) *string {
	s := telnyxTime(t)
	return &s
}

// writeJSON writes v as the JSON answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeData writes Telnyx's {"data": v} answer with status 200.
func writeData(w http.ResponseWriter, v any) {
	writeJSON(w, http.StatusOK, map[string]any{"data": v})
}

// writeList writes {"data": items, "meta": meta}.
func writeList(w http.ResponseWriter, items any, meta map[string]any) {
	writeJSON(w, http.StatusOK, map[string]any{"data": items, "meta": meta})
}

// writeError writes Telnyx's error answer; pointer, when set, names the bad
// field ("/to").
func writeError(w http.ResponseWriter, status int, code, title, detail, pointer string) {
	e := wireError{Code: code, Title: title, Detail: detail,
		Meta: map[string]string{"url": "https://developers.telnyx.com/docs/overview/errors/" + code}}
	if pointer != "" {
		e.Source = map[string]string{"pointer": pointer}
	}
	writeJSON(w, status, wireErrors{Errors: []wireError{e}})
}

// decodeBody decodes a JSON request body into v, answering 400 (code 10015)
// and returning false when it cannot.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "10015", "Bad Request", "The request body is not valid JSON: "+err.Error(), "")
		return false
	}
	return true
}

// newUUID returns a random version-4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

var (
	e164Pattern     = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)
	shortCode       = regexp.MustCompile(`^[0-9]{5,6}$`)
	alphanumeric    = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	containsLetter  = regexp.MustCompile(`[A-Za-z]`)
	nanpNumber      = regexp.MustCompile(`^\+1[2-9][0-9]{2}[2-9][0-9]{6}$`)
	nationalDestRe  = regexp.MustCompile(`^[2-9][0-9]{2}$`)
	digitsOnlyRe    = regexp.MustCompile(`^[0-9]+$`)
	optOutKeywords  = map[string]string{"STOP": "stop", "STOPALL": "stop", "STOP ALL": "stop", "UNSUBSCRIBE": "stop", "CANCEL": "stop", "END": "stop", "QUIT": "stop"}
	optInKeywords   = map[string]string{"START": "start", "UNSTOP": "start"}
	helpKeywords    = map[string]string{"HELP": "help"}
	finalErrorTitle = map[string]string{
		"40001": "Not routable", "40002": "Blocked as spam - temporary", "40003": "Blocked as spam - permanent",
		"40004": "Rejected by destination", "40005": "Message expired during transmission",
		"40006": "Recipient server unavailable", "40008": "Undeliverable", "40010": "Not 10DLC registered",
		"40011": "Too many requests",
	}
)

// isE164 reports whether s is an E.164 number: "+", then 8 to 15 digits.
func isE164(s string) bool { return e164Pattern.MatchString(s) }

// validFrom accepts what Telnyx accepts as a sender: an E.164 number, a short
// code or an alphanumeric sender ID (up to 11 characters, at least one letter).
// Ownership of the number is not checked.
func validFrom(s string) bool {
	return isE164(s) || shortCode.MatchString(s) || (alphanumeric.MatchString(s) && containsLetter.MatchString(s))
}
