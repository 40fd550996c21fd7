package steeple

import "time"

// Keyword is a text-to-join word: texting it to any of the church's
// numbers joins the sender to Group, records their consent with the
// keyword's wording, and answers with Reply.
type Keyword struct {
	ID   string `json:"id"`
	Word string `json:"word"`
	// GroupID is the group joined ("" for none, or after the group was deleted).
	GroupID   string `json:"group_id"`
	GroupName string `json:"group_name"`
	Reply     string `json:"reply"`
	// Resubscribes makes the keyword a clear opt-in: a phone that texted
	// STOP is subscribed again by it (and the answer says so). Otherwise an
	// opted-out phone is joined to the group but stays opted out, unanswered.
	Resubscribes bool `json:"resubscribes"`
	// ConnectCard asks a sender who is not yet a member for their name.
	ConnectCard bool      `json:"connect_card"`
	Joins       int       `json:"joins"` // all time
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}
