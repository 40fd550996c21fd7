package steeple

import "time"

// Template is reusable message text; {first_name} and {church_name} are
// filled in per recipient.
type Template struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}
