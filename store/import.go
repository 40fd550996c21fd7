package store

import (
	"context"
	"database/sql"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// ImportRow is one validated row of a member import.
type ImportRow struct {
	Line   int
	Member MemberInput
	Groups []string // group names; created if missing
	// Warning says what of the row was left out (an invalid email).
	Warning string
}

// Import outcomes.
const (
	ImportCreated   = "created"
	ImportUpdated   = "updated"
	ImportDuplicate = "skipped_duplicate"
	ImportInvalid   = "invalid"
)

// ImportResult says what happened to one row.
type ImportResult struct {
	Line     int    `json:"line"`
	Outcome  string `json:"outcome"`
	MemberID string `json:"member_id,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// SharedPhone says the row's phone also belongs to another member (a
	// household sharing one mobile): texts to the phone are sent once.
	SharedPhone bool `json:"shared_phone,omitempty"`
	// NotTextableReason says why the member's phone cannot be texted (a
	// number outside the church's phone region); "" when it can.
	NotTextableReason string `json:"not_textable_reason,omitempty"`
	// Warning says what of the row was left out (an invalid email).
	Warning string `json:"warning,omitempty"`
	// OptedIn says the import opted the member in (new, or present and
	// not opted in before): they are to be welcomed.
	OptedIn bool `json:"-"`
}

// phoneMember is an existing member found by phone, for matching rows.
type phoneMember struct{ id, firstKey, emailHash, consent, consentSource string }

// ImportMembers updates the member a row names (same phone and same first
// name, or same phone and same email: names, email, groups added) and creates
// the others; a row whose phone another member has is created too, marked
// SharedPhone (households share a mobile). All rows go in one transaction
// with prepared statements (10,000 rows in about a second on SQLite), so a
// failed import writes nothing. New members get consent c; with consent
// opted_in, members already present who had not opted in get it too.
// Rows are already validated, so it fails only on a database error.
func (s *Store) ImportMembers(ctx context.Context, h *tenancy.Handle, rows []ImportRow, c steeple.Consent) ([]ImportResult, error) {
	existing, err := s.memberIDsByPhoneHash(ctx, h)
	if err != nil {
		return nil, err
	}
	stopped, err := stoppedPhones(ctx, h)
	if err != nil {
		return nil, err
	}
	var out []ImportResult
	err = h.InTx(ctx, func(tx *sql.Tx) error {
		out = make([]ImportResult, 0, len(rows))
		it, err := s.prepareImport(ctx, tx, stopped)
		if err != nil {
			return err
		}
		defer it.close()
		groups := map[string]string{} // lower-cased name → id
		for _, r := range rows {
			res, err := s.importRow(ctx, it, r, c, existing, groups)
			if err != nil {
				return err
			}
			out = append(out, res)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// importTx is an import's transaction with its prepared statements.
type importTx struct {
	tx                    *sql.Tx
	insMember, insConsent *sql.Stmt
	insGroupMember        *sql.Stmt
	stopped               map[string]bool // phone hashes that texted STOP
}

func (s *Store) prepareImport(ctx context.Context, tx *sql.Tx, stopped map[string]bool) (*importTx, error) {
	it := &importTx{tx: tx, stopped: stopped}
	var err error
	if it.insMember, err = tx.PrepareContext(ctx, `INSERT INTO members (id, first_name, last_name, name_key, phone_cipher, phone_hash,
		email_cipher, email_hash, consent_status, consent_source, consent_at, consent_text, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)`); err != nil {
		return nil, err
	}
	if it.insConsent, err = tx.PrepareContext(ctx, `INSERT INTO consent_events (member_id, status, source, at, wording) VALUES ($1, $2, $3, $4, $5)`); err != nil {
		it.insMember.Close()
		return nil, err
	}
	if it.insGroupMember, err = tx.PrepareContext(ctx, `INSERT INTO group_members (group_id, member_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`); err != nil {
		it.insMember.Close()
		it.insConsent.Close()
		return nil, err
	}
	return it, nil
}

func (it *importTx) close() {
	it.insMember.Close()
	it.insConsent.Close()
	it.insGroupMember.Close()
}

// insert writes a new member and its first consent event; a phone that
// texted STOP before the member was entered stays opted out (see
// keepTextedStop).
func (s *Store) importInsert(ctx context.Context, it *importTx, m *steeple.Member, hash string) error {
	if it.stopped[hash] {
		m.Consent = steeple.Consent{Status: steeple.ConsentOptedOut, Source: steeple.ConsentSourceKeyword, At: m.Consent.At,
			Wording: "texted STOP before becoming a member"}
	}
	email, emailHash := s.sealEmail(m.Email)
	c := m.Consent
	if _, err := it.insMember.ExecContext(ctx, m.ID, m.FirstName, m.LastName, nameKey(m.FirstName, m.LastName),
		s.keys.Seal([]byte(m.Phone), phoneAAD), hash, email, emailHash, c.Status, c.Source, c.At, c.Wording, m.CreatedAt); err != nil {
		return err
	}
	_, err := it.insConsent.ExecContext(ctx, m.ID, c.Status, c.Source, c.At, c.Wording)
	return err
}

// stoppedPhones are the phone hashes whose conversation texted STOP.
func stoppedPhones(ctx context.Context, h *tenancy.Handle) (map[string]bool, error) {
	rows, err := h.QueryContext(ctx, `SELECT phone_hash FROM conversations WHERE opted_out`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]bool{}
	for rows.Next() {
		var hash string
		if err := rows.Scan(&hash); err != nil {
			return nil, err
		}
		m[hash] = true
	}
	return m, rows.Err()
}

func (s *Store) importRow(ctx context.Context, it *importTx, r ImportRow, c steeple.Consent, existing map[string][]phoneMember, groups map[string]string) (ImportResult, error) {
	tx := it.tx
	now := s.Now()
	hash, err := s.adoptImportPhone(ctx, it, r.Member.Phone, existing)
	if err != nil {
		return ImportResult{}, err
	}
	res := ImportResult{Line: r.Line}
	key := nameKey(r.Member.FirstName, r.Member.LastName)
	first := strings.ToLower(r.Member.FirstName)
	email := s.emailIndexes(r.Member.Email)
	var match *phoneMember
	for i, pm := range existing[hash] {
		if pm.firstKey == first || (r.Member.Email != "" && email.has(pm.emailHash)) {
			match = &existing[hash][i]
			break
		}
	}
	if match != nil {
		email, emailHash := s.sealEmail(r.Member.Email)
		_, err := tx.ExecContext(ctx, `UPDATE members SET first_name = $1, last_name = $2, name_key = $3,
			email_cipher = COALESCE($4, email_cipher), email_hash = COALESCE($5, email_hash), updated_at = $6 WHERE id = $7`,
			r.Member.FirstName, r.Member.LastName, key, email, emailHash, now, match.id)
		if err != nil {
			return res, err
		}
		res.Outcome, res.MemberID = ImportUpdated, match.id
		// Re-importing with consent records it for members already here,
		// except one who texted STOP: what the admin imports cannot
		// override that.
		if c.Status == steeple.ConsentOptedIn && match.consent != steeple.ConsentOptedIn && match.consentSource != steeple.ConsentSourceKeyword && match.consentSource != steeple.ConsentSourceProvider {
			c.At = now
			if err := setConsentTx(ctx, tx, match.id, c); err != nil {
				return res, err
			}
			match.consent, match.consentSource = c.Status, c.Source
			res.OptedIn = true
		}
	} else {
		c.At = now
		m := &steeple.Member{ID: steeple.NewID(), FirstName: r.Member.FirstName, LastName: r.Member.LastName,
			Phone: r.Member.Phone, Email: r.Member.Email, Consent: c, CreatedAt: now}
		if err := s.importInsert(ctx, it, m, hash); err != nil {
			return res, err
		}
		eh := ""
		if r.Member.Email != "" {
			eh = email.cur
		}
		existing[hash] = append(existing[hash], phoneMember{id: m.ID, firstKey: first, emailHash: eh,
			consent: m.Consent.Status, consentSource: m.Consent.Source})
		res.Outcome, res.MemberID = ImportCreated, m.ID
		res.OptedIn = m.Consent.Status == steeple.ConsentOptedIn
	}
	res.SharedPhone = len(existing[hash]) > 1
	for _, g := range r.Groups {
		gid, err := groupID(ctx, tx, g, groups, now)
		if err != nil {
			return res, err
		}
		if _, err := it.insGroupMember.ExecContext(ctx, gid, res.MemberID); err != nil {
			return res, err
		}
	}
	return res, nil
}

// adoptImportPhone adopts a row's phone (see adopt) and moves what the
// import read before its transaction under the previous key's index to the
// current one, returning that.
func (s *Store) adoptImportPhone(ctx context.Context, it *importTx, phone string, existing map[string][]phoneMember) (string, error) {
	ix := s.phoneIndexes(phone)
	if !ix.rotating() {
		return ix.cur, nil
	}
	if _, err := s.adoptPhone(ctx, it.tx, phone); err != nil {
		return "", err
	}
	if old, ok := existing[ix.prev]; ok {
		existing[ix.cur] = append(existing[ix.cur], old...)
		delete(existing, ix.prev)
	}
	if it.stopped[ix.prev] {
		it.stopped[ix.cur] = true
	}
	return ix.cur, nil
}

// groupID finds or creates a group by name, caching ids.
func groupID(ctx context.Context, tx *sql.Tx, name string, cache map[string]string, now any) (string, error) {
	key := strings.ToLower(name)
	if id, ok := cache[key]; ok {
		return id, nil
	}
	// A group created meanwhile by someone else (an admin, another import)
	// is used, not an error: the insert yields to it, and the select then
	// sees it (each statement sees what committed before it).
	if _, err := tx.ExecContext(ctx, `INSERT INTO groups (id, name, name_key, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name_key) DO NOTHING`, steeple.NewID(), name, key, now); err != nil {
		return "", err
	}
	var id string
	if err := tx.QueryRowContext(ctx, `SELECT id FROM groups WHERE name_key = $1`, key).Scan(&id); err != nil {
		return "", err
	}
	cache[key] = id
	return id, nil
}

func (s *Store) memberIDsByPhoneHash(ctx context.Context, h *tenancy.Handle) (map[string][]phoneMember, error) {
	rows, err := h.QueryContext(ctx, `SELECT phone_hash, id, LOWER(first_name), COALESCE(email_hash, ''),
		consent_status, COALESCE(consent_source, '') FROM members ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string][]phoneMember{}
	for rows.Next() {
		var hash string
		var pm phoneMember
		if err := rows.Scan(&hash, &pm.id, &pm.firstKey, &pm.emailHash, &pm.consent, &pm.consentSource); err != nil {
			return nil, err
		}
		m[hash] = append(m[hash], pm)
	}
	return m, rows.Err()
}
