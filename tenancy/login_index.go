package tenancy

import (
	"context"
)

// LoginEntry says that an email (by its blind index) is an admin's at a church.
type LoginEntry struct {
	TenantID string
	AdminID  string
}

// LoginEntries returns every church where the email with this blind index is
// an admin: one email may belong to several churches.
func (r *Registry) LoginEntries(ctx context.Context, emailHash string) ([]LoginEntry, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT tenant_id, admin_id FROM login_index WHERE email_hash = $1 ORDER BY tenant_id`, emailHash)
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

// RemoveLogin forgets one admin's login entry.
func (r *Registry) RemoveLogin(ctx context.Context, emailHash, tenantID, adminID string) error {
	_, err := r.db.ExecContext(ctx, `DELETE FROM login_index WHERE email_hash = $1 AND tenant_id = $2 AND admin_id = $3`,
		emailHash, tenantID, adminID)
	return err
}
