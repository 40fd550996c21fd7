package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

var einAAD = []byte("registration.ein")

// BrandProfile is what a 10DLC brand needs to know about the church.
type BrandProfile struct {
	LegalName    string `json:"legal_name"`
	EIN          string `json:"ein,omitempty"` // given on submission, never shown again
	EINLast4     string `json:"ein_last4"`
	Street       string `json:"street"`
	City         string `json:"city"`
	State        string `json:"state"`
	PostalCode   string `json:"postal_code"`
	Website      string `json:"website"`
	ContactEmail string `json:"contact_email"`
	ContactPhone string `json:"contact_phone"`
}

// Registration is where the church's 10DLC registration stands.
type Registration struct {
	Status      steeple.RegistrationStatus `json:"status"`
	Profile     BrandProfile               `json:"profile"`
	BrandID     string                     `json:"brand_id,omitempty"`
	CampaignID  string                     `json:"campaign_id,omitempty"`
	Reasons     []string                   `json:"reasons"`
	SubmittedAt time.Time                  `json:"submitted_at"`
	UpdatedAt   time.Time                  `json:"updated_at"`
}

// Registration returns the church's registration. Errors: ENOTFOUND when it
// has never submitted one.
func (s *Store) Registration(ctx context.Context, h *tenancy.Handle) (*Registration, error) {
	var r Registration
	var reasons string
	p := &r.Profile
	err := h.QueryRowContext(ctx, `SELECT legal_name, ein_last4, street, city, state, postal_code, website, contact_email,
		contact_phone, status, brand_id, campaign_id, reasons, submitted_at, updated_at FROM registration WHERE id = 1`).
		Scan(&p.LegalName, &p.EINLast4, &p.Street, &p.City, &p.State, &p.PostalCode, &p.Website, &p.ContactEmail, &p.ContactPhone,
			&r.Status, &r.BrandID, &r.CampaignID, &reasons, &r.SubmittedAt, &r.UpdatedAt)
	if err != nil {
		return nil, translate(err, "registration")
	}
	if err := json.Unmarshal([]byte(reasons), &r.Reasons); err != nil {
		return nil, err
	}
	r.SubmittedAt, r.UpdatedAt = r.SubmittedAt.UTC(), r.UpdatedAt.UTC()
	return &r, nil
}

// RegistrationEIN returns the church's EIN, for the provider only.
func (s *Store) RegistrationEIN(ctx context.Context, h *tenancy.Handle) (string, error) {
	var sealed []byte
	if err := h.QueryRowContext(ctx, `SELECT ein_cipher FROM registration WHERE id = 1`).Scan(&sealed); err != nil {
		return "", translate(err, "registration")
	}
	ein, err := s.keys.Open(sealed, einAAD)
	return string(ein), err
}

// SubmitRegistration saves the brand profile (the EIN sealed) with status,
// clearing the reasons; the provider ids are kept for a resubmission. It
// only proceeds from one of the from statuses (any, for a first
// submission). Errors: ECONFLICT when the registration is elsewhere.
func (s *Store) SubmitRegistration(ctx context.Context, h *tenancy.Handle, p BrandProfile, status steeple.RegistrationStatus, from ...steeple.RegistrationStatus) error {
	now := s.Now()
	return h.InTx(ctx, func(tx *sql.Tx) error {
		var cur steeple.RegistrationStatus
		err := tx.QueryRowContext(ctx, `SELECT status FROM registration WHERE id = 1`).Scan(&cur)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		if err == nil && !slices.Contains(from, cur) {
			return steeple.Errorf(steeple.ECONFLICT, "the registration is %s; it can be resubmitted only after a failure", cur)
		}
		// Only from the status read: of concurrent submissions one wins,
		// the others find the status moved (or the row there) and get a 409.
		res, err := tx.ExecContext(ctx, `INSERT INTO registration (id, legal_name, ein_cipher, ein_last4, street, city, state,
			postal_code, website, contact_email, contact_phone, status, reasons, submitted_at, updated_at)
			VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '[]', $12, $12)
			ON CONFLICT (id) DO UPDATE SET legal_name = $1, ein_cipher = $2, ein_last4 = $3, street = $4, city = $5,
			state = $6, postal_code = $7, website = $8, contact_email = $9, contact_phone = $10, status = $11,
			reasons = '[]', submitted_at = $12, updated_at = $12 WHERE registration.status = $13`,
			p.LegalName, s.keys.Seal([]byte(p.EIN), einAAD), p.EINLast4, p.Street, p.City, p.State, p.PostalCode, p.Website,
			p.ContactEmail, p.ContactPhone, status, now, cur)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return steeple.Errorf(steeple.ECONFLICT, "the registration was submitted meanwhile")
		}
		return nil
	})
}

// RegistrationChange moves the registration on.
type RegistrationChange struct {
	Status     steeple.RegistrationStatus
	BrandID    string // set when not ""
	CampaignID string // set when not ""
	Reasons    []string
}

// AdvanceRegistration applies a change if the registration is in one of
// the from statuses (so a late or repeated event changes nothing). It
// reports whether it applied.
func (s *Store) AdvanceRegistration(ctx context.Context, h *tenancy.Handle, c RegistrationChange, from ...steeple.RegistrationStatus) (bool, error) {
	if c.Reasons == nil {
		c.Reasons = []string{}
	}
	reasons, err := json.Marshal(c.Reasons)
	if err != nil {
		return false, err
	}
	args := []any{c.Status, nilIfEmpty(c.BrandID), nilIfEmpty(c.CampaignID), string(reasons), s.Now()}
	in := ""
	for i, f := range from {
		if i > 0 {
			in += ", "
		}
		args = append(args, f)
		in += "$" + strconv.Itoa(len(args))
	}
	res, err := h.ExecContext(ctx, `UPDATE registration SET status = $1, brand_id = COALESCE($2, brand_id),
		campaign_id = COALESCE($3, campaign_id), reasons = $4, updated_at = $5 WHERE id = 1 AND status IN (`+in+`)`, args...)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// TakeDailySend counts one text against the day's cap; it reports false,
// counting nothing, when the cap is reached.
func (s *Store) TakeDailySend(ctx context.Context, h *tenancy.Handle, day string, limit int) (bool, error) {
	var sent int64
	err := h.QueryRowContext(ctx, `INSERT INTO daily_sends (day, sent) VALUES ($1, 1)
		ON CONFLICT (day) DO UPDATE SET sent = daily_sends.sent + 1 WHERE daily_sends.sent < $2 RETURNING sent`, day, limit).Scan(&sent)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, err
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// DailySent is how many texts were counted against the cap on day
// (YYYY-MM-DD, UTC).
func (s *Store) DailySent(ctx context.Context, h *tenancy.Handle, day string) (int, error) {
	var sent int
	err := h.QueryRowContext(ctx, `SELECT COALESCE(MAX(sent), 0) FROM daily_sends WHERE day = $1`, day).Scan(&sent)
	return sent, err
}
