package telnyx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Telnyx error codes Steeple acts on. Codes are strings on the wire.
const (
	CodeRateLimited   = "10011" // HTTP 429: too many requests
	CodeOptedOut      = "40300" // blocked by the recipient's STOP (a provider block rule)
	CodeInvalidFrom   = "40305" // invalid or unusable 'from'
	CodeInvalidTo     = "40310" // invalid 'to'
	CodeNoContent     = "40316" // neither text nor media
	CodeInvalidMMS    = "40317" // more than 10 media or too large
	CodeQueueFull     = "40318" // Telnyx's queue is full: retry later
	CodeBlockedSpam   = "40322" // content blocked
	CodeSpendLimit    = "40333" // account spend limit reached
	CodeUndeliverable = "40008" // finalized: the carrier could not deliver
)

// Error is a non-2xx answer from Telnyx, taken from the first entry of its
// {"errors":[…]} body.
type Error struct {
	Status int    // HTTP status code
	Code   string // errors[0].code, e.g. "40310"; "" when the body had none
	Title  string // errors[0].title
	Detail string // errors[0].detail
	// Pointer is errors[0].source.pointer, e.g. "/to", when given.
	Pointer string
	// RetryAfter is how long Telnyx asked us to wait (429 and 503 answers),
	// from x-ratelimit-reset or Retry-After; 0 when not given.
	RetryAfter time.Duration
}

// Error describes the answer: status, code, title and detail.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "telnyx: HTTP %d", e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, " code %s", e.Code)
	}
	if e.Title != "" {
		b.WriteString(": " + e.Title)
	}
	if e.Detail != "" && e.Detail != e.Title {
		b.WriteString(": " + e.Detail)
	}
	return b.String()
}

// Retryable reports whether the same request may succeed later: rate limits
// (429), server errors (5xx) and a full queue (40318).
func (e *Error) Retryable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500 || e.Code == CodeQueueFull
}

// Retryable reports whether err is worth retrying: a retryable *Error, a
// timeout (client timeout or the request context's deadline), or a refused,
// reset or failed connection. A cancelled context is not retryable: the
// caller gave up. Note that a timeout after the request was sent may mean
// Telnyx accepted it, so retrying a send can duplicate a text.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var te *Error
	if errors.As(err, &te) {
		return te.Retryable()
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true // the request never left: safe to retry
	}
	return false
}

// IsOptOut reports whether err is Telnyx refusing a send because the
// recipient texted STOP (code 40300 on any 4xx; the status is undocumented).
func IsOptOut(err error) bool {
	var te *Error
	return errors.As(err, &te) && te.Status >= 400 && te.Status < 500 && te.Code == CodeOptedOut
}

// IsInvalidTo reports whether err is Telnyx rejecting the destination number
// (code 40310).
func IsInvalidTo(err error) bool {
	var te *Error
	return errors.As(err, &te) && te.Code == CodeInvalidTo
}

// ErrorCode returns the Telnyx code of err when it is an *Error, else "".
func ErrorCode(err error) string {
	var te *Error
	if errors.As(err, &te) {
		return te.Code
	}
	return ""
}

// flexString accepts a JSON string or number, so a code sent as 40310 instead
// of "40310" still decodes.
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}

// errorBody is Telnyx's error answer.
type errorBody struct {
	Errors []struct {
		Code   flexString `json:"code"`
		Title  string     `json:"title"`
		Detail string     `json:"detail"`
		Source struct {
			Pointer string `json:"pointer"`
		} `json:"source"`
	} `json:"errors"`
}

// decodeError builds the *Error for a non-2xx answer. A body that is not
// Telnyx's JSON (a proxy's HTML page) still yields the status and a title.
func decodeError(resp *http.Response, raw []byte, now time.Time) *Error {
	e := &Error{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode)}
	var body errorBody
	if json.Unmarshal(raw, &body) == nil && len(body.Errors) > 0 {
		first := body.Errors[0]
		e.Code, e.Title, e.Detail = string(first.Code), first.Title, first.Detail
		e.Pointer = first.Source.Pointer
	} else if s := strings.TrimSpace(string(raw)); s != "" {
		if len(s) > 200 {
			s = s[:200]
		}
		e.Detail = s
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		e.RetryAfter = retryAfter(resp.Header, now)
	}
	return e
}

// retryAfter reads x-ratelimit-reset, then Retry-After. x-ratelimit-reset is
// taken as seconds to wait, or as a Unix time when it is that large; Retry-After
// as seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("X-Ratelimit-Reset")); v != "" {
		if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
			if f > 1e9 { // a Unix timestamp, not a delay
				return clampWait(time.Unix(int64(f), 0).Sub(now))
			}
			return time.Duration(f * float64(time.Second))
		}
	}
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
			return time.Duration(f * float64(time.Second))
		}
		if t, err := http.ParseTime(v); err == nil {
			return clampWait(t.Sub(now))
		}
	}
	return 0
}

func clampWait(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	return d
}
