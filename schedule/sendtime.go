package schedule

import (
	"encoding/json"
	"time"

	"github.com/steeple-sms/steeple"
)

// SendTime is a send_at as the admin gave it: RFC 3339 with an offset or
// "Z" (an instant), or a date and time without one ("2026-12-05T09:00" or
// "2026-12-05T09:00:00"), which is the church's own clock.
type SendTime struct{ raw string }

// UnmarshalJSON keeps the string; In reads it, so a bad value is reported
// as a send_at field error rather than a decoding error.
func (t *SendTime) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &t.raw); err != nil {
		return steeple.FieldError("send_at", `must be a date and time, e.g. "2026-12-05T09:00" (the church's time) or with an offset`)
	}
	return nil
}

// NewSendTime is a SendTime for a string (for callers not decoding JSON).
func NewSendTime(s string) SendTime { return SendTime{raw: s} }

// localLayouts are the accepted forms without an offset.
var localLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"}

// In is the instant meant, reading a time without an offset in loc. A
// local time skipped by a daylight-saving change (02:30 on the spring
// forward) is refused; one that happens twice is the first. Errors:
// EINVALID on send_at.
func (t SendTime) In(loc *time.Location) (time.Time, error) {
	if at, err := time.Parse(time.RFC3339Nano, t.raw); err == nil {
		return at, nil
	}
	for _, layout := range localLayouts {
		wall, err := time.Parse(layout, t.raw)
		if err != nil {
			continue
		}
		at := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, loc)
		if at.Hour() != wall.Hour() || at.Minute() != wall.Minute() {
			return time.Time{}, steeple.FieldError("send_at", "does not exist in the church's timezone (the clocks change at that time)")
		}
		// Go picks either side of a repeated hour: take the first.
		if earlier := at.Add(-time.Hour); earlier.In(loc).Hour() == at.Hour() && earlier.In(loc).Minute() == at.Minute() {
			at = earlier
		}
		return at, nil
	}
	return time.Time{}, steeple.FieldError("send_at", `must be a date and time, e.g. "2026-12-05T09:00" (the church's time) or "2026-12-05T15:00:00Z"`)
}

// localString is t in loc with its offset, for answers beside UTC.
func localString(t *time.Time, loc *time.Location) string {
	if t == nil {
		return ""
	}
	return t.In(loc).Format(time.RFC3339)
}
