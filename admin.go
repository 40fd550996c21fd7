package steeple

import "time"

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
