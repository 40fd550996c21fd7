package tenancy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/steeple-sms/steeple"
)

const tenantColumns = `id, name, slug, status, timezone, backend, COALESCE(server_ref, ''), database_name, schema_version, plan, created_at, updated_at`

func scanTenant(row interface{ Scan(...any) error }) (*steeple.Tenant, error) {
	var t steeple.Tenant
	err := row.Scan(&t.ID, &t.Name, &t.Slug, &t.Status, &t.Timezone, &t.Backend, &t.Server,
		&t.DatabaseName, &t.SchemaVersion, &t.Plan, &t.CreatedAt, &t.UpdatedAt)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// Tenant returns one tenant by id: EINVALID for a malformed id, ENOTFOUND for
// an unknown one.
func (r *Registry) Tenant(ctx context.Context, id string) (*steeple.Tenant, error) {
	if !steeple.ValidID(id) {
		return nil, steeple.Errorf(steeple.EINVALID, "%q is not a church id", id)
	}
	t, err := scanTenant(r.db.QueryRowContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "church %s not found", id)
	}
	return t, err
}

// TenantByRef finds a tenant by id or by slug (for operators at a terminal).
func (r *Registry) TenantByRef(ctx context.Context, ref string) (*steeple.Tenant, error) {
	if steeple.ValidID(ref) {
		return r.Tenant(ctx, ref)
	}
	t, err := scanTenant(r.db.QueryRowContext(ctx,
		`SELECT `+tenantColumns+` FROM tenants WHERE slug = $1 AND status <> 'deleted'`, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "church %q not found", ref)
	}
	return t, err
}

// TenantFilter narrows Tenants. Zero values mean no filter.
type TenantFilter struct {
	Status steeple.TenantStatus
	// Migratable keeps tenants whose database may be migrated: active,
	// suspended, or deleted but restorable (its purge not begun).
	Migratable bool
}

// Tenants lists tenants ordered by id.
func (r *Registry) Tenants(ctx context.Context, f TenantFilter) ([]*steeple.Tenant, error) {
	q := `SELECT ` + tenantColumns + ` FROM tenants WHERE 1=1`
	var args []any
	if f.Status != "" {
		args = append(args, f.Status)
		q += fmt.Sprintf(" AND status = $%d", len(args))
	}
	if f.Migratable {
		q += " AND (status IN ('active', 'suspended') OR (status = 'deleting' AND purge_started_at IS NULL))"
	}
	rows, err := r.db.QueryContext(ctx, q+" ORDER BY id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*steeple.Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func (r *Registry) insertTenant(ctx context.Context, t *steeple.Tenant) error {
	var server any
	if t.Server != "" {
		server = t.Server
	}
	_, err := r.db.ExecContext(ctx, `INSERT INTO tenants (id, name, slug, status, timezone, backend, server_ref,
		database_name, schema_version, plan, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		t.ID, t.Name, t.Slug, t.Status, t.Timezone, t.Backend, server, t.DatabaseName, t.SchemaVersion, t.Plan, t.CreatedAt, t.UpdatedAt)
	if IsUniqueViolation(err) {
		return steeple.Errorf(steeple.ECONFLICT, "a church with the short name %q already exists", t.Slug)
	}
	return err
}

// SetStatus moves a tenant to status `to` if it is currently in one of
// `from`; otherwise it answers ECONFLICT naming the status it is in.
func (r *Registry) SetStatus(ctx context.Context, id string, to steeple.TenantStatus, from ...steeple.TenantStatus) (*steeple.Tenant, error) {
	t, err := r.Tenant(ctx, id)
	if err != nil {
		return nil, err
	}
	if t.Status == to {
		return t, nil
	}
	args := []any{to, r.now().UTC(), id}
	marks := make([]string, len(from))
	for i, s := range from {
		args = append(args, s)
		marks[i] = fmt.Sprintf("$%d", len(args))
	}
	res, err := r.db.ExecContext(ctx, `UPDATE tenants SET status = $1, updated_at = $2 WHERE id = $3 AND status IN (`+strings.Join(marks, ", ")+`)`, args...)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, steeple.Errorf(steeple.ECONFLICT, "church %s is %s; it cannot become %s", id, t.Status, to)
	}
	return r.Tenant(ctx, id)
}

// SetProfile changes a church's name and timezone (validated as at
// sign-up). Errors: EINVALID naming name or timezone, ENOTFOUND.
func (r *Registry) SetProfile(ctx context.Context, id, name, timezone string) (*steeple.Tenant, error) {
	name, tz, err := validateNewTenant(NewTenant{Name: name, Timezone: timezone})
	if err != nil {
		return nil, err
	}
	res, err := r.db.ExecContext(ctx, `UPDATE tenants SET name = $1, timezone = $2, updated_at = $3 WHERE id = $4`, name, tz, r.now().UTC(), id)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "church not found")
	}
	return r.Tenant(ctx, id)
}

func (r *Registry) setSchemaVersion(ctx context.Context, id string, v int64) error {
	_, err := r.db.ExecContext(ctx, `UPDATE tenants SET schema_version = $1, updated_at = $2 WHERE id = $3`, v, r.now().UTC(), id)
	return err
}

// deleteTenantRow removes a church that never became active, with every
// index entry pointing at it, in one transaction.
func (r *Registry) deleteTenantRow(ctx context.Context, id string) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, table := range []string{"login_index", "phone_numbers", "provider_objects"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE tenant_id = $1`, id); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM tenants WHERE id = $1 AND status = 'provisioning'`, id); err != nil {
		return err
	}
	return tx.Commit()
}
