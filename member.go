package steeple

import "time"

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
