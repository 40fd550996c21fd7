package tenancy

import (
	"context"
	"database/sql"
	"errors"

	"github.com/steeple-sms/steeple"
)

// AssignNumber records that a church owns a phone number (E.164); a number
// belongs to exactly one church. Assigning it again to its owner is fine.
// providerID is the provider's id for the number ("" if unknown).
// Errors: ECONFLICT when another church owns it (without saying which).
func (r *Registry) AssignNumber(ctx context.Context, tenantID, e164 string, providerID ...string) error {
	if _, err := r.Tenant(ctx, tenantID); err != nil {
		return err
	}
	pid := ""
	if len(providerID) > 0 {
		pid = providerID[0]
	}
	_, err := r.db.ExecContext(ctx, `INSERT INTO phone_numbers (e164, tenant_id, created_at, provider_id) VALUES ($1, $2, $3, $4)`,
		e164, tenantID, r.now().UTC(), pid)
	if IsUniqueViolation(err) {
		var owner string
		if r.db.QueryRowContext(ctx, `SELECT tenant_id FROM phone_numbers WHERE e164 = $1`, e164).Scan(&owner) == nil && owner == tenantID {
			return nil
		}
		return steeple.Errorf(steeple.ECONFLICT, "number %s already belongs to a church", e164)
	}
	return err
}

// TenantNumbers lists the numbers a church may send from (owned and not
// being released), oldest first.
func (r *Registry) TenantNumbers(ctx context.Context, tenantID string) ([]string, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT e164 FROM phone_numbers WHERE tenant_id = $1 AND state = 'active'
		ORDER BY created_at, e164`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// NumberOwner returns the church that owns a phone number (E.164): the one
// lookup that routes an inbound text. Errors: ENOTFOUND when no church owns it.
func (r *Registry) NumberOwner(ctx context.Context, e164 string) (string, error) {
	var id string
	err := r.db.QueryRowContext(ctx, `SELECT tenant_id FROM phone_numbers WHERE e164 = $1`, e164).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", steeple.Errorf(steeple.ENOTFOUND, "no church owns %s", e164)
	}
	return id, err
}
