// Package steeple holds Steeple's domain types and its error type. It imports
// nothing from this module, so every other package may depend on it.
package steeple

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
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

// TenantStatus is where a church is in its lifecycle.
type TenantStatus string

// Tenant statuses. Only active tenants are served.
const (
	TenantProvisioning TenantStatus = "provisioning"
	TenantActive       TenantStatus = "active"
	TenantSuspended    TenantStatus = "suspended"
	TenantDeleting     TenantStatus = "deleting"
	TenantDeleted      TenantStatus = "deleted"
)

// Backend names where tenant databases live.
type Backend string

// The two backends.
const (
	BackendSQLite   Backend = "sqlite"
	BackendPostgres Backend = "postgres"
)

// Tenant is a church as the registry knows it.
type Tenant struct {
	ID            string       `json:"id"`
	Name          string       `json:"name"`
	Slug          string       `json:"slug"`
	Status        TenantStatus `json:"status"`
	Timezone      string       `json:"timezone"`
	Backend       Backend      `json:"backend"`
	Server        string       `json:"server,omitempty"` // reference of the PostgreSQL server; "" on SQLite
	DatabaseName  string       `json:"database_name"`    // file name on SQLite, database name on PostgreSQL
	SchemaVersion int64        `json:"schema_version"`
	Plan          string       `json:"plan"`
	CreatedAt     time.Time    `json:"created_at"`
	UpdatedAt     time.Time    `json:"updated_at"`
}

// NewID returns a random UUID (version 4) in its canonical text form.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// ValidID reports whether s is a canonical lower-case UUID as NewID makes.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdef", c) {
				return false
			}
		}
	}
	return true
}

// Role is what an admin may do in their church.
type Role string

// Admin roles. Owners also manage admins and read the audit log.
const (
	RoleOwner Role = "owner"
	RoleAdmin Role = "admin"
)

// Admin is a person who runs a church's Steeple.
type Admin struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Email      string `json:"email"`
	Role       Role   `json:"role"`
	MFAEnabled bool   `json:"mfa_enabled"`
	// ReplyNotifications is when the admin gets an email about replies
	// texted to the church: ReplyNotifyOff, ReplyNotifyImmediate or
	// ReplyNotifyHourly.
	ReplyNotifications string    `json:"reply_notifications"`
	CreatedAt          time.Time `json:"created_at"`
}

// An admin's choices of email about new replies.
const (
	ReplyNotifyOff       = "off"
	ReplyNotifyImmediate = "immediate"
	ReplyNotifyHourly    = "hourly"
)

// Plan is a church's limits.
type Plan struct {
	Name            string `json:"name"`
	MaxAdmins       int    `json:"max_admins"`       // 0: no limit
	MonthlySegments int    `json:"monthly_segments"` // 0: no limit
}

// Consent statuses and sources.
const (
	ConsentOptedIn  = "opted_in"
	ConsentOptedOut = "opted_out"

	ConsentSourceAdmin    = "admin"    // entered by an admin who collected consent
	ConsentSourceImport   = "import"   // imported from a file
	ConsentSourceKeyword  = "keyword"  // the member texted STOP / START
	ConsentSourceProvider = "provider" // the provider reported a block (40300)
	// ConsentSourceInPerson is consent an admin recorded after asking the
	// member face to face (stored as an admin entry with method "in_person").
	ConsentSourceInPerson = "in_person"
)

// Consent is a member's current permission to be texted.
type Consent struct {
	Status  string    `json:"status"`
	Source  string    `json:"source"`
	At      time.Time `json:"at"`
	Wording string    `json:"wording,omitempty"` // the consent language shown when it was given
	// RecordedBy is the admin who recorded it (admin and in-person consent);
	// Note is what they wrote about it.
	RecordedBy string `json:"recorded_by,omitempty"`
	Note       string `json:"note,omitempty"`
}

// GroupRef names a group a member belongs to.
type GroupRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Member is a person a church texts.
type Member struct {
	ID           string     `json:"id"`
	FirstName    string     `json:"first_name"`
	LastName     string     `json:"last_name"`
	Phone        string     `json:"phone"` // E.164
	Email        string     `json:"email,omitempty"`
	Groups       []GroupRef `json:"groups"`
	Consent      Consent    `json:"consent"`
	PhoneInvalid bool       `json:"phone_invalid,omitempty"`
	// Textable says whether the church's number can text the phone;
	// NotTextableReason says why not (another country, rejected by the carrier).
	Textable          bool      `json:"textable"`
	NotTextableReason string    `json:"not_textable_reason,omitempty"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// Group is a named set of members.
type Group struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Members   int       `json:"members"`
	CreatedAt time.Time `json:"created_at"`
}

// Template is reusable message text; {first_name} and {church_name} are
// filled in per recipient.
type Template struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}
