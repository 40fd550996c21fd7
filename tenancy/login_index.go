package tenancy

import (
	"context"
	"strconv"
	"strings"
)

// LoginEntry says that an email (by its blind index) is an admin's at a church.
type LoginEntry struct {
	TenantID string
	AdminID  string
}

// LoginEntries returns every church where the email with one of these
// blind indexes is an admin: one email may belong to several churches.
// During a blind-index rotation an email has two indexes (the current
// key's and the previous one's), and an admin may be listed under both
// until the recompute pass; it is returned once.
func (r *Registry) LoginEntries(ctx context.Context, emailHashes ...string) ([]LoginEntry, error) {
	if len(emailHashes) == 0 {
		return nil, nil
	}
	marks := make([]string, len(emailHashes))
	args := make([]any, len(emailHashes))
	for i, h := range emailHashes {
		marks[i], args[i] = "$"+strconv.Itoa(i+1), h
	}
	rows, err := r.db.QueryContext(ctx, `SELECT DISTINCT tenant_id, admin_id FROM login_index WHERE email_hash IN (`+
		strings.Join(marks, ", ")+`) ORDER BY tenant_id, admin_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LoginEntry
	for rows.Next() {
		var e LoginEntry
		if err := rows.Scan(&e.TenantID, &e.AdminID); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// AddLogin records that the admin with this email hash exists at the church.
// Adding an entry twice is harmless.
func (r *Registry) AddLogin(ctx context.Context, emailHash, tenantID, adminID string) error {
	_, err := r.db.ExecContext(ctx, `INSERT INTO login_index (email_hash, tenant_id, admin_id) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, emailHash, tenantID, adminID)
	return err
}

// RemoveLogin forgets one admin's login entry, under any of the email's
// blind indexes.
func (r *Registry) RemoveLogin(ctx context.Context, tenantID, adminID string, emailHashes ...string) error {
	for _, h := range emailHashes {
		if _, err := r.db.ExecContext(ctx, `DELETE FROM login_index WHERE email_hash = $1 AND tenant_id = $2 AND admin_id = $3`,
			h, tenantID, adminID); err != nil {
			return err
		}
	}
	return nil
}

// ReindexLogin moves an admin's login entry from the email's previous
// blind index to its current one, and says whether there was one to move.
// The new entry is written before the old is deleted, so a crash between
// leaves both (harmless) rather than neither.
func (r *Registry) ReindexLogin(ctx context.Context, tenantID, adminID, current, previous string) (bool, error) {
	if current == previous {
		return false, nil
	}
	if _, err := r.db.ExecContext(ctx, `INSERT INTO login_index (email_hash, tenant_id, admin_id)
		SELECT $1, tenant_id, admin_id FROM login_index WHERE email_hash = $2 AND tenant_id = $3 AND admin_id = $4
		ON CONFLICT DO NOTHING`, current, previous, tenantID, adminID); err != nil {
		return false, err
	}
	res, err := r.db.ExecContext(ctx, `DELETE FROM login_index WHERE email_hash = $1 AND tenant_id = $2 AND admin_id = $3`,
		previous, tenantID, adminID)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// LoginIndexedWith says whether the admin's login entry is (also) under
// this email blind index: `keys status` counts entries still under the
// previous key.
func (r *Registry) LoginIndexedWith(ctx context.Context, tenantID, adminID, emailHash string) (bool, error) {
	var n int
	err := r.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM login_index WHERE email_hash = $1 AND tenant_id = $2 AND admin_id = $3`,
		emailHash, tenantID, adminID).Scan(&n)
	return n > 0, err
}
