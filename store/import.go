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
}

const importBatch = 500

// ImportMembers creates members whose phone is new and updates those whose
// phone exists (names, email, groups added), in transactions of importBatch
// rows. New members get consent c. Rows are already validated, so a batch
// fails only on a database error, which is returned.
func (s *Store) ImportMembers(ctx context.Context, h *tenancy.Handle, rows []ImportRow, c steeple.Consent) ([]ImportResult, error) {
	existing, err := s.memberIDsByPhoneHash(ctx, h)
	if err != nil {
		return nil, err
	}
	groups := map[string]string{} // lower-cased name → id
	out := make([]ImportResult, 0, len(rows))
	for start := 0; start < len(rows); start += importBatch {
		batch := rows[start:min(start+importBatch, len(rows))]
		var results []ImportResult
		err := h.InTx(ctx, func(tx *sql.Tx) error {
			results = results[:0]
			for _, r := range batch {
				res, err := s.importRow(ctx, tx, r, c, existing, groups)
				if err != nil {
					return err
				}
				results = append(results, res)
			}
			return nil
		})
		if err != nil {
			return out, err
		}
		out = append(out, results...)
	}
	return out, nil
}

func (s *Store) importRow(ctx context.Context, tx *sql.Tx, r ImportRow, c steeple.Consent, existing, groups map[string]string) (ImportResult, error) {
	now := s.Now()
	hash := s.PhoneIndex(r.Member.Phone)
	res := ImportResult{Line: r.Line}
	if id, ok := existing[hash]; ok {
		email, emailHash := s.sealEmail(r.Member.Email)
		_, err := tx.ExecContext(ctx, `UPDATE members SET first_name = $1, last_name = $2, name_key = $3,
			email_cipher = COALESCE($4, email_cipher), email_hash = COALESCE($5, email_hash), updated_at = $6 WHERE id = $7`,
			r.Member.FirstName, r.Member.LastName, nameKey(r.Member.FirstName, r.Member.LastName), email, emailHash, now, id)
		if err != nil {
			return res, err
		}
		res.Outcome, res.MemberID = ImportUpdated, id
	} else {
		c.At = now
		m := &steeple.Member{ID: steeple.NewID(), FirstName: r.Member.FirstName, LastName: r.Member.LastName,
			Phone: r.Member.Phone, Email: r.Member.Email, Consent: c, CreatedAt: now}
		if err := s.keepTextedStop(ctx, tx, m); err != nil {
			return res, err
		}
		if err := s.insertMember(ctx, tx, m); err != nil {
			return res, err
		}
		existing[hash] = m.ID
		res.Outcome, res.MemberID = ImportCreated, m.ID
	}
	for _, g := range r.Groups {
		gid, err := groupID(ctx, tx, g, groups, now)
		if err != nil {
			return res, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO group_members (group_id, member_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			gid, res.MemberID); err != nil {
			return res, err
		}
	}
	return res, nil
}

// groupID finds or creates a group by name, caching ids.
func groupID(ctx context.Context, tx *sql.Tx, name string, cache map[string]string, now any) (string, error) {
	key := strings.ToLower(name)
	if id, ok := cache[key]; ok {
		return id, nil
	}
	var id string
	err := tx.QueryRowContext(ctx, `SELECT id FROM groups WHERE name_key = $1`, key).Scan(&id)
	if err == sql.ErrNoRows {
		id = steeple.NewID()
		_, err = tx.ExecContext(ctx, `INSERT INTO groups (id, name, name_key, created_at) VALUES ($1, $2, $3, $4)`, id, name, key, now)
	}
	if err != nil {
		return "", err
	}
	cache[key] = id
	return id, nil
}

func (s *Store) memberIDsByPhoneHash(ctx context.Context, h *tenancy.Handle) (map[string]string, error) {
	rows, err := h.QueryContext(ctx, `SELECT phone_hash, id FROM members`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var hash, id string
		if err := rows.Scan(&hash, &id); err != nil {
			return nil, err
		}
		m[hash] = id
	}
	return m, rows.Err()
}
