package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

var (
	phoneAAD       = []byte("members.phone")
	memberEmailAAD = []byte("members.email")
)

// PhoneIndex is the blind index of an E.164 phone number.
func (s *Store) PhoneIndex(e164 string) string { return s.keys.BlindIndex("phone", e164) }

// MemberInput is a member's editable fields, already validated and
// normalised (phone in E.164, email lower-cased).
type MemberInput struct {
	FirstName, LastName, Phone, Email string
}

// CreateMember adds a member with its initial consent. Several members may
// share a phone (a household's one mobile).
func (s *Store) CreateMember(ctx context.Context, h *tenancy.Handle, in MemberInput, c steeple.Consent) (*steeple.Member, error) {
	now := s.Now()
	c.At = now
	m := &steeple.Member{ID: steeple.NewID(), FirstName: in.FirstName, LastName: in.LastName, Phone: in.Phone, Email: in.Email,
		Groups: []steeple.GroupRef{}, Consent: c, CreatedAt: now, UpdatedAt: now}
	err := h.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.keepTextedStop(ctx, tx, m); err != nil {
			return err
		}
		return s.insertMember(ctx, tx, m)
	})
	if tenancy.IsUniqueViolation(err) {
		// Looked up after the transaction: PostgreSQL refuses queries in a failed one.
		return nil, s.duplicatePhone(ctx, h, in.Phone)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// keepTextedStop makes a new member opted out when their phone texted
// STOP to the church before they were a member: what the admin entered
// cannot override that.
func (s *Store) keepTextedStop(ctx context.Context, tx *sql.Tx, m *steeple.Member) error {
	var out bool
	ix := s.phoneIndexes(m.Phone)
	err := tx.QueryRowContext(ctx, `SELECT opted_out FROM conversations WHERE phone_hash IN ($1, $2)`, ix.cur, ix.prev).Scan(&out)
	if err == sql.ErrNoRows || (err == nil && !out) {
		return nil
	}
	if err != nil {
		return err
	}
	m.Consent = steeple.Consent{Status: steeple.ConsentOptedOut, Source: steeple.ConsentSourceKeyword, At: m.Consent.At,
		Wording: "texted STOP before becoming a member"}
	return nil
}

// insertMember writes a new member and its first consent event.
func (s *Store) insertMember(ctx context.Context, q querier, m *steeple.Member) error {
	hash, err := s.adoptPhone(ctx, q, m.Phone)
	if err != nil {
		return err
	}
	email, emailHash := s.sealEmail(m.Email)
	c := m.Consent
	source, method := storedSource(c.Source)
	_, err = q.ExecContext(ctx, `INSERT INTO members (id, first_name, last_name, name_key, phone_cipher, phone_hash,
		email_cipher, email_hash, consent_status, consent_source, consent_at, consent_text, created_at, updated_at,
		consent_method, consent_by, consent_note)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15, $16)`,
		m.ID, m.FirstName, m.LastName, nameKey(m.FirstName, m.LastName), s.keys.Seal([]byte(m.Phone), phoneAAD),
		hash, email, emailHash, c.Status, source, c.At, c.Wording, m.CreatedAt, method, c.RecordedBy, c.Note)
	if err != nil {
		return err
	}
	return insertConsentEvent(ctx, q, m.ID, c)
}

// duplicatePhone builds the conflict error naming the member who has the number.
func (s *Store) duplicatePhone(ctx context.Context, q querier, phone string) error {
	var id, first, last string
	ix := s.phoneIndexes(phone)
	err := q.QueryRowContext(ctx, `SELECT id, first_name, last_name FROM members WHERE phone_hash IN ($1, $2) ORDER BY created_at, id LIMIT 1`,
		ix.cur, ix.prev).Scan(&id, &first, &last)
	if err != nil {
		return steeple.Errorf(steeple.ECONFLICT, "a member already has phone %s", phone)
	}
	e := steeple.Errorf(steeple.ECONFLICT, "phone %s already belongs to member %s %s (%s)", phone, first, last, id)
	e.Fields = map[string]string{"phone": "already belongs to member " + id}
	return e
}

func insertConsentEvent(ctx context.Context, q querier, memberID string, c steeple.Consent) error {
	source, method := storedSource(c.Source)
	_, err := q.ExecContext(ctx, `INSERT INTO consent_events (member_id, status, source, at, wording, method, recorded_by, note)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		memberID, c.Status, source, c.At, c.Wording, method, c.RecordedBy, c.Note)
	return err
}

// methodInPerson marks admin consent given face to face.
const methodInPerson = "in_person"

// storedSource splits a consent source into the stored source (the
// column's fixed set) and method: in-person consent is an admin entry.
func storedSource(source string) (string, string) {
	if source == steeple.ConsentSourceInPerson {
		return steeple.ConsentSourceAdmin, methodInPerson
	}
	return source, ""
}

// shownSource is the source as the API shows it.
func shownSource(source, method string) string {
	if source == steeple.ConsentSourceAdmin && method == methodInPerson {
		return steeple.ConsentSourceInPerson
	}
	return source
}

// ConsentHistory lists a member's consent changes, oldest first.
// Errors: ENOTFOUND.
func (s *Store) ConsentHistory(ctx context.Context, h *tenancy.Handle, id string) ([]steeple.Consent, error) {
	var one int
	if err := h.QueryRowContext(ctx, `SELECT 1 FROM members WHERE id = $1`, id).Scan(&one); err != nil {
		return nil, translate(err, "member")
	}
	rows, err := h.QueryContext(ctx, `SELECT status, source, at, wording, method, recorded_by, note FROM consent_events
		WHERE member_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []steeple.Consent{}
	for rows.Next() {
		var c steeple.Consent
		var method string
		if err := rows.Scan(&c.Status, &c.Source, &c.At, &c.Wording, &method, &c.RecordedBy, &c.Note); err != nil {
			return nil, err
		}
		c.Source, c.At = shownSource(c.Source, method), c.At.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *Store) sealEmail(email string) (any, any) {
	if email == "" {
		return nil, nil
	}
	return s.keys.Seal([]byte(email), memberEmailAAD), s.keys.BlindIndex("email", email)
}

const memberColumns = `id, first_name, last_name, phone_cipher, email_cipher, consent_status, consent_source, consent_at,
	consent_text, phone_invalid, created_at, updated_at, name_key, consent_method, consent_by, consent_note`

func (s *Store) scanMember(row interface{ Scan(...any) error }) (*steeple.Member, string, error) {
	var m steeple.Member
	var phone, email []byte
	var key, method string
	err := row.Scan(&m.ID, &m.FirstName, &m.LastName, &phone, &email, &m.Consent.Status, &m.Consent.Source, &m.Consent.At,
		&m.Consent.Wording, &m.PhoneInvalid, &m.CreatedAt, &m.UpdatedAt, &key, &method, &m.Consent.RecordedBy, &m.Consent.Note)
	if err != nil {
		return nil, "", err
	}
	m.Consent.Source = shownSource(m.Consent.Source, method)
	p, err := s.keys.Open(phone, phoneAAD)
	if err != nil {
		return nil, "", err
	}
	m.Phone = string(p)
	if m.Email, err = s.openOptional(email, memberEmailAAD); err != nil {
		return nil, "", err
	}
	m.Consent.At, m.CreatedAt, m.UpdatedAt = m.Consent.At.UTC(), m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	m.Groups = []steeple.GroupRef{}
	return &m, key, nil
}

// Member returns one member with its groups. Errors: ENOTFOUND.
func (s *Store) Member(ctx context.Context, h *tenancy.Handle, id string) (*steeple.Member, error) {
	m, _, err := s.scanMember(h.QueryRowContext(ctx, `SELECT `+memberColumns+` FROM members WHERE id = $1`, id))
	if err != nil {
		return nil, translate(err, "member")
	}
	return m, s.fillGroups(ctx, h, []*steeple.Member{m})
}

// MemberByPhone finds a member by E.164 phone: the first entered of those
// who share it. Errors: ENOTFOUND.
func (s *Store) MemberByPhone(ctx context.Context, h *tenancy.Handle, e164 string) (*steeple.Member, error) {
	ix := s.phoneIndexes(e164)
	m, _, err := s.scanMember(h.QueryRowContext(ctx, `SELECT `+memberColumns+` FROM members WHERE phone_hash IN ($1, $2)
		ORDER BY created_at, id LIMIT 1`, ix.cur, ix.prev))
	if err != nil {
		return nil, translate(err, "member")
	}
	return m, s.fillGroups(ctx, h, []*steeple.Member{m})
}

// fillGroups loads the groups of the given members.
func (s *Store) fillGroups(ctx context.Context, h *tenancy.Handle, ms []*steeple.Member) error {
	if len(ms) == 0 {
		return nil
	}
	byID := map[string]*steeple.Member{}
	args := make([]any, len(ms))
	marks := make([]string, len(ms))
	for i, m := range ms {
		byID[m.ID] = m
		args[i] = m.ID
		marks[i] = "$" + strconv.Itoa(i+1)
	}
	rows, err := h.QueryContext(ctx, `SELECT gm.member_id, g.id, g.name FROM group_members gm JOIN groups g ON g.id = gm.group_id
		WHERE gm.member_id IN (`+strings.Join(marks, ", ")+`) ORDER BY g.name_key`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var mid string
		var g steeple.GroupRef
		if err := rows.Scan(&mid, &g.ID, &g.Name); err != nil {
			return err
		}
		byID[mid].Groups = append(byID[mid].Groups, g)
	}
	return rows.Err()
}

// UpdateMember replaces a member's editable fields. Errors: ENOTFOUND.
func (s *Store) UpdateMember(ctx context.Context, h *tenancy.Handle, id string, in MemberInput) (*steeple.Member, error) {
	m, _, err := s.UpdateMemberConsent(ctx, h, id, in, nil)
	return m, err
}

// UpdateMemberConsent replaces a member's editable fields and, when c is
// given, records the consent an admin entered: all in one transaction, so
// a refused consent leaves the fields as they were. It reports whether the
// consent status changed. An opt-out the member made (a STOP, or one the
// provider reported) is undone only by the member: an admin's opt-in is
// refused. Errors: ENOTFOUND, EINVALID (consent).
func (s *Store) UpdateMemberConsent(ctx context.Context, h *tenancy.Handle, id string, in MemberInput, c *steeple.Consent) (*steeple.Member, bool, error) {
	changed := false
	err := h.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		changed, err = s.updateMemberTx(ctx, tx, id, in, c)
		return err
	})
	if tenancy.IsUniqueViolation(err) {
		return nil, false, s.duplicatePhone(ctx, h, in.Phone)
	}
	if err != nil {
		return nil, false, err
	}
	m, err := s.Member(ctx, h, id)
	return m, changed, err
}

// MemberPatch is a partial update: nil fields stay as they are. Values are
// already validated and normalised.
type MemberPatch struct {
	FirstName, LastName, Phone, Email *string
}

// PatchMember changes the given fields (and records consent, when c is
// given) in one transaction: fields absent from the patch are read and
// kept inside it, so a concurrent edit of another field is not undone.
// It reports whether the consent status changed. Errors: ENOTFOUND,
// EINVALID (consent), ECONFLICT.
func (s *Store) PatchMember(ctx context.Context, h *tenancy.Handle, id string, p MemberPatch, c *steeple.Consent) (*steeple.Member, bool, error) {
	changed := false
	var in MemberInput
	err := h.InTx(ctx, func(tx *sql.Tx) error {
		cur, _, err := s.scanMember(tx.QueryRowContext(ctx, `SELECT `+memberColumns+` FROM members WHERE id = $1`, id))
		if err != nil {
			return translate(err, "member")
		}
		in = MemberInput{FirstName: cur.FirstName, LastName: cur.LastName, Phone: cur.Phone, Email: cur.Email}
		for _, f := range []struct{ dst, src *string }{{&in.FirstName, p.FirstName}, {&in.LastName, p.LastName},
			{&in.Phone, p.Phone}, {&in.Email, p.Email}} {
			if f.src != nil {
				*f.dst = *f.src
			}
		}
		changed, err = s.updateMemberTx(ctx, tx, id, in, c)
		return err
	})
	if tenancy.IsUniqueViolation(err) {
		return nil, false, s.duplicatePhone(ctx, h, in.Phone)
	}
	if err != nil {
		return nil, false, err
	}
	m, err := s.Member(ctx, h, id)
	return m, changed, err
}

// updateMemberTx writes a member's fields and the consent an admin
// entered, and reports whether the consent status changed.
func (s *Store) updateMemberTx(ctx context.Context, tx *sql.Tx, id string, in MemberInput, c *steeple.Consent) (bool, error) {
	changed := false
	err := func() error {
		var before string
		if err := tx.QueryRowContext(ctx, `SELECT consent_status FROM members WHERE id = $1`, id).Scan(&before); err != nil {
			return translate(err, "member")
		}
		hash, err := s.adoptPhone(ctx, tx, in.Phone)
		if err != nil {
			return err
		}
		email, emailHash := s.sealEmail(in.Email)
		res, err := tx.ExecContext(ctx, `UPDATE members SET first_name = $1, last_name = $2, name_key = $3, phone_cipher = $4,
			phone_hash = $5, email_cipher = $6, email_hash = $7, phone_invalid = CASE WHEN phone_hash = $5 THEN phone_invalid ELSE FALSE END,
			updated_at = $8 WHERE id = $9`,
			in.FirstName, in.LastName, nameKey(in.FirstName, in.LastName), s.keys.Seal([]byte(in.Phone), phoneAAD),
			hash, email, emailHash, s.Now(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return steeple.Errorf(steeple.ENOTFOUND, "member not found")
		}
		// A new phone that texted STOP brings its opt-out with it.
		m := &steeple.Member{ID: id, Phone: in.Phone, Consent: steeple.Consent{Status: steeple.ConsentOptedIn, At: s.Now()}}
		if err := s.keepTextedStop(ctx, tx, m); err != nil {
			return err
		}
		var cur, source string
		if err := tx.QueryRowContext(ctx, `SELECT consent_status, consent_source FROM members WHERE id = $1`, id).Scan(&cur, &source); err != nil {
			return err
		}
		if m.Consent.Status == steeple.ConsentOptedOut && cur != steeple.ConsentOptedOut {
			if err := setConsentTx(ctx, tx, id, m.Consent); err != nil {
				return err
			}
			cur, source = m.Consent.Status, m.Consent.Source
		}
		if c != nil {
			if err := s.adminConsentTx(ctx, tx, id, cur, source, *c); err != nil {
				return err
			}
			cur = c.Status
		}
		changed = cur != before
		return nil
	}()
	return changed, err
}

// memberOptOut reports whether an opt-out was the member's own (a STOP
// keyword, or a block the provider reported for them).
func memberOptOut(status, source string) bool {
	return status == steeple.ConsentOptedOut && (source == steeple.ConsentSourceKeyword || source == steeple.ConsentSourceProvider)
}

// adminConsentTx records consent an admin entered over the member's
// current status and source. An opt-out stays the member's own when the
// admin repeats it; an admin cannot undo it. Errors: EINVALID (consent).
func (s *Store) adminConsentTx(ctx context.Context, tx *sql.Tx, id, cur, source string, c steeple.Consent) error {
	if memberOptOut(cur, source) {
		if c.Status == steeple.ConsentOptedIn {
			return &steeple.Error{Code: steeple.EINVALID, Message: "consent: this member opted out themselves (by texting STOP); only they can opt back in",
				Fields: map[string]string{"consent": "this member opted out themselves (by texting STOP); only they can opt back in, by texting START"}}
		}
		return nil // already opted out by the member: keep their record of it
	}
	c.At = s.Now()
	return setConsentTx(ctx, tx, id, c)
}

// DeleteMember removes a member. Errors: ENOTFOUND.
func (s *Store) DeleteMember(ctx context.Context, h *tenancy.Handle, id string) error {
	res, err := h.ExecContext(ctx, `DELETE FROM members WHERE id = $1`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return steeple.Errorf(steeple.ENOTFOUND, "member not found")
	}
	return nil
}

// SetConsent records a consent change (and its history). It reports
// whether the status changed. Errors: ENOTFOUND.
func (s *Store) SetConsent(ctx context.Context, h *tenancy.Handle, id string, c steeple.Consent) (bool, error) {
	changed := false
	c.At = s.Now()
	err := h.InTx(ctx, func(tx *sql.Tx) error {
		var cur string
		if err := tx.QueryRowContext(ctx, `SELECT consent_status FROM members WHERE id = $1`, id).Scan(&cur); err != nil {
			return translate(err, "member")
		}
		changed = cur != c.Status
		return setConsentTx(ctx, tx, id, c)
	})
	return changed, err
}

// setConsentTx writes a consent change and its history row.
func setConsentTx(ctx context.Context, q querier, id string, c steeple.Consent) error {
	source, method := storedSource(c.Source)
	if _, err := q.ExecContext(ctx, `UPDATE members SET consent_status = $1, consent_source = $2, consent_at = $3,
		consent_text = $4, updated_at = $3, consent_method = $6, consent_by = $7, consent_note = $8 WHERE id = $5`,
		c.Status, source, c.At, c.Wording, id, method, c.RecordedBy, c.Note); err != nil {
		return err
	}
	return insertConsentEvent(ctx, q, id, c)
}

// MarkPhoneInvalid flags a member whose number the provider rejected.
func (s *Store) MarkPhoneInvalid(ctx context.Context, h *tenancy.Handle, id string) error {
	_, err := h.ExecContext(ctx, `UPDATE members SET phone_invalid = TRUE, updated_at = $1 WHERE id = $2`, s.Now(), id)
	return err
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func encodeCursor(key, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(key + "\x00" + id))
}

func decodeCursor(c string) (string, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	key, id, ok := strings.Cut(string(b), "\x00")
	if err != nil || !ok || !steeple.ValidID(id) {
		return "", "", steeple.FieldError("cursor", "is not a cursor from a previous page")
	}
	return key, id, nil
}
