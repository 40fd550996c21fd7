package steeple

import "time"

// ScheduleKind is whether a schedule sends once or on a rule.
type ScheduleKind string

// Schedule kinds.
const (
	ScheduleOnce      ScheduleKind = "once"
	ScheduleRecurring ScheduleKind = "recurring"
)

// ScheduleStatus is where a schedule is in its life.
type ScheduleStatus string

// Schedule statuses. Only active schedules fire; cancelled and done ones
// are kept for their history.
const (
	ScheduleActive    ScheduleStatus = "active"
	SchedulePaused    ScheduleStatus = "paused"
	ScheduleCancelled ScheduleStatus = "cancelled"
	ScheduleDone      ScheduleStatus = "done"
)

// ScheduleRun is an occurrence of a schedule that fired: either the
// broadcast it made (MessageID) or why nothing was sent (NotSent), never
// both.
type ScheduleRun struct {
	Occurrence string    `json:"occurrence"`
	MessageID  string    `json:"message_id,omitempty"`
	NotSent    string    `json:"not_sent,omitempty"`
	FiredAt    time.Time `json:"fired_at"`
}

// Sent reports whether the occurrence made a broadcast.
func (r ScheduleRun) Sent() bool { return r.MessageID != "" }
