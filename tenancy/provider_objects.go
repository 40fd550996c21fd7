package tenancy

import (
	"context"
	"database/sql"
	"errors"

	"github.com/steeple-sms/steeple"
)

// ProviderObject returns the id of a church's provider object of a kind
// ("" when there is none).
func (r *Registry) ProviderObject(ctx context.Context, tenantID, kind string) (string, error) {
	var id string
	err := r.db.QueryRowContext(ctx, `SELECT provider_id FROM provider_objects WHERE tenant_id = $1 AND kind = $2
		ORDER BY provider_id LIMIT 1`, tenantID, kind).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// AddProviderObject records that a provider object belongs to a church, so
// the provider's events about it route there.
func (r *Registry) AddProviderObject(ctx context.Context, tenantID, kind, providerID string) error {
	_, err := r.db.ExecContext(ctx, `INSERT INTO provider_objects (kind, provider_id, tenant_id) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, kind, providerID, tenantID)
	return err
}

// ClaimProviderObject records providerID as the church's one provider
// object of kind, unless it has one already; it returns the one the church
// has (providerID when the claim won). Two processes racing to create the
// church's first object (two first purchases creating a messaging profile
// each) thus agree on one. The church's registry row is locked meanwhile
// (SQLite transactions are serialized already).
func (r *Registry) ClaimProviderObject(ctx context.Context, tenantID, kind, providerID string) (string, error) {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	if r.backend == steeple.BackendPostgres {
		if _, err := tx.ExecContext(ctx, `SELECT id FROM tenants WHERE id = $1 FOR UPDATE`, tenantID); err != nil {
			return "", err
		}
	}
	var id string
	err = tx.QueryRowContext(ctx, `SELECT provider_id FROM provider_objects WHERE tenant_id = $1 AND kind = $2
		ORDER BY provider_id LIMIT 1`, tenantID, kind).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO provider_objects (kind, provider_id, tenant_id) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, kind, providerID, tenantID); err != nil {
			return "", err
		}
		id = providerID
	case err != nil:
		return "", err
	}
	return id, tx.Commit()
}

// ProviderObjectOwner returns the church a provider object belongs to.
// Errors: ENOTFOUND.
func (r *Registry) ProviderObjectOwner(ctx context.Context, kind, providerID string) (string, error) {
	var id string
	err := r.db.QueryRowContext(ctx, `SELECT tenant_id FROM provider_objects WHERE kind = $1 AND provider_id = $2`, kind, providerID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", steeple.Errorf(steeple.ENOTFOUND, "no church owns %s %s", kind, providerID)
	}
	return id, err
}
