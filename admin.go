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
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Email      string    `json:"email"`
	Role       Role      `json:"role"`
	MFAEnabled bool      `json:"mfa_enabled"`
	CreatedAt  time.Time `json:"created_at"`
}
