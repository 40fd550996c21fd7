package steeple

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. The HTTP layer maps each to exactly one status code.
const (
	ECONFLICT     = "conflict"     // the object already exists or the change clashes
	EINTERNAL     = "internal"     // a bug or an unexpected failure; details are logged, not shown
	EINVALID      = "invalid"      // bad input; Fields may name the bad ones
	ENOTFOUND     = "not_found"    // no such object, or not the caller's
	EUNAUTHORIZED = "unauthorized" // missing or bad credentials
	EFORBIDDEN    = "forbidden"    // authenticated but not allowed
	EUNAVAILABLE  = "unavailable"  // temporarily out of capacity; retry later
	ETOOMANY      = "too_many"     // rate limited; retry later
	ESUSPENDED    = "suspended"    // the church is suspended or deleted
	ESCHEMA       = "schema_newer" // the church's database is newer than this binary
	ETOOLARGE     = "too_large"    // the request body is over its limit
)

// Error is Steeple's one error type: a code for callers and machines, a
// message safe to show a user, and optional per-field messages.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
	// RetryAfter, when set, tells the client how long to wait (EUNAVAILABLE, ETOOMANY).
	RetryAfter time.Duration
	// Err is the underlying cause, for logs only.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap exposes the cause to errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EINVALID error naming one bad field.
func FieldError(field, message string) *Error {
	return &Error{Code: EINVALID, Message: field + ": " + message, Fields: map[string]string{field: message}}
}

// FieldMessage returns err's message for field: "" when err is nil or has
// no message for field.
func FieldMessage(err error, field string) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields[field]
	}
	return ""
}

// ErrorCode returns the code of the first *Error in err's chain: "" for nil,
// EINTERNAL for any other error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of err; internal errors get a
// generic message so that no detail leaks.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return "internal error"
}
