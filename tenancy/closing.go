package tenancy

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/steeple-sms/steeple"
)

// Closure is a church's deletion as the registry records it: who asked and
// when, the status a restore goes back to, and when its data is purged.
type Closure struct {
	TenantID    string               `json:"id"`
	Status      steeple.TenantStatus `json:"status"`
	PriorStatus steeple.TenantStatus `json:"prior_status,omitempty"`
	RequestedBy string               `json:"requested_by,omitempty"`
	RequestedAt *time.Time           `json:"requested_at,omitempty"`
	PurgeAt     *time.Time           `json:"purge_at,omitempty"`
	// PurgeStarted: the purge has begun, so the church can no longer be restored.
	PurgeStarted bool `json:"purge_started,omitempty"`
	// PurgedAt is set once the purge is complete (from the audit record).
	PurgedAt *time.Time `json:"purged_at,omitempty"`
}

func unixPtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.Unix(v.Int64, 0).UTC()
	return &t
}

// Closure returns a church's deletion record (a church that is not being
// deleted has only its status). Errors: EINVALID, ENOTFOUND.
func (r *Registry) Closure(ctx context.Context, id string) (*Closure, error) {
	if !steeple.ValidID(id) {
		return nil, steeple.Errorf(steeple.EINVALID, "%q is not a church id", id)
	}
	c := &Closure{TenantID: id}
	var reqAt, purgeAt, started sql.NullInt64
	err := r.db.QueryRowContext(ctx, `SELECT status, prior_status, delete_requested_by, delete_requested_at, purge_at, purge_started_at
		FROM tenants WHERE id = $1`, id).Scan(&c.Status, &c.PriorStatus, &c.RequestedBy, &reqAt, &purgeAt, &started)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "church %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	c.RequestedAt, c.PurgeAt, c.PurgeStarted = unixPtr(reqAt), unixPtr(purgeAt), started.Valid
	if c.Status == steeple.TenantDeleted {
		var by string
		var at, purged int64
		err := r.db.QueryRowContext(ctx, `SELECT requested_by, requested_at, purged_at FROM tenant_purges WHERE tenant_id = $1`, id).
			Scan(&by, &at, &purged)
		if err == nil {
			c.RequestedBy, c.RequestedAt, c.PurgedAt = by, unixPtr(sql.NullInt64{Int64: at, Valid: true}), unixPtr(sql.NullInt64{Int64: purged, Valid: true})
		} else if !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
	}
	return c, nil
}

// MarkDeleting closes an active or suspended church: it is refused
// everywhere from now on, remembers the status a restore goes back to, and
// is purged at purgeAt. fresh is false when it was being deleted already
// (nothing changed). Errors: ENOTFOUND, ECONFLICT for any other status.
func (r *Registry) MarkDeleting(ctx context.Context, id, by string, purgeAt time.Time) (c *Closure, fresh bool, err error) {
	if _, err := r.Tenant(ctx, id); err != nil {
		return nil, false, err
	}
	now := r.now().UTC()
	res, err := r.db.ExecContext(ctx, `UPDATE tenants SET prior_status = status, status = 'deleting', delete_requested_by = $1,
		delete_requested_at = $2, purge_at = $3, purge_started_at = NULL, updated_at = $4
		WHERE id = $5 AND status IN ('active', 'suspended')`, by, now.Unix(), purgeAt.Unix(), now, id)
	if err != nil {
		return nil, false, err
	}
	n, _ := res.RowsAffected()
	if c, err = r.Closure(ctx, id); err != nil {
		return nil, false, err
	}
	if n == 0 && c.Status != steeple.TenantDeleting {
		return nil, false, steeple.Errorf(steeple.ECONFLICT, "church %s is %s; only an active or suspended church can be deleted", id, c.Status)
	}
	return c, n == 1, nil
}

// RestoreDeleted undoes a deletion whose purge has not begun: the church
// goes back to the status it had. Errors: ENOTFOUND, ECONFLICT when it is
// not being deleted or its purge has begun.
func (r *Registry) RestoreDeleted(ctx context.Context, id string) (*steeple.Tenant, error) {
	c, err := r.Closure(ctx, id)
	if err != nil {
		return nil, err
	}
	res, err := r.db.ExecContext(ctx, `UPDATE tenants SET status = prior_status, prior_status = '', delete_requested_by = '',
		delete_requested_at = NULL, purge_at = NULL, updated_at = $1
		WHERE id = $2 AND status = 'deleting' AND purge_started_at IS NULL AND prior_status IN ('active', 'suspended')`, r.now().UTC(), id)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if c.Status == steeple.TenantDeleting && c.PurgeStarted {
			return nil, steeple.Errorf(steeple.ECONFLICT, "church %s is being purged; it can no longer be restored", id)
		}
		return nil, steeple.Errorf(steeple.ECONFLICT, "church %s is %s, not deleting; there is nothing to restore", id, c.Status)
	}
	return r.Tenant(ctx, id)
}

// DuePurges lists deleting churches whose purge time has come, oldest
// first. It reads the purge_at index: O(due purges), never every church.
func (r *Registry) DuePurges(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT id FROM tenants WHERE purge_at <= $1 AND status = 'deleting'
		ORDER BY purge_at LIMIT $2`, now.Unix(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// StartPurge records that a deleting church's purge has begun (from then
// on it cannot be restored); a purge already begun keeps its start. An
// early purge (--now) also moves purge_at to now, so that if it stops
// part-way the periodic purge finishes it. Errors: ECONFLICT when the
// church is not deleting.
func (r *Registry) StartPurge(ctx context.Context, id string) error {
	res, err := r.db.ExecContext(ctx, `UPDATE tenants SET purge_started_at = COALESCE(purge_started_at, $1),
		purge_at = CASE WHEN purge_at IS NULL OR purge_at > $1 THEN $1 ELSE purge_at END
		WHERE id = $2 AND status = 'deleting'`, r.now().Unix(), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return steeple.Errorf(steeple.ECONFLICT, "church %s is not being deleted", id)
	}
	return nil
}

// ForgetChurchNumber removes a number of a church being purged, with its
// pacing slot (whose key names the number).
func (r *Registry) ForgetChurchNumber(ctx context.Context, tenantID, e164 string) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM phone_numbers WHERE e164 = $1 AND tenant_id = $2`, e164, tenantID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM send_pacing WHERE key = $1`, "number:"+e164); err != nil {
		return err
	}
	return tx.Commit()
}

// churchIndexTables are the registry tables whose rows name a church by
// tenant_id. A purge empties them of the church.
var churchIndexTables = []string{"login_index", "phone_numbers", "provider_objects", "schedule_due",
	"dispatch_intents", "number_orders", "registration_polls"}

// FinishPurge is a purge's last step, in one transaction: every registry
// row naming the church goes (index rows, pacing slots of its numbers, the
// login lockouts of emails that are no other church's), the tenant row is
// scrubbed to status deleted with no name (name "deleted church", slug =
// id), and the audit record is written. Running it again changes nothing.
func (r *Registry) FinishPurge(ctx context.Context, id string) error {
	c, err := r.Closure(ctx, id)
	if err != nil {
		return err
	}
	if c.Status == steeple.TenantDeleted {
		return nil
	}
	if c.Status != steeple.TenantDeleting {
		return steeple.Errorf(steeple.ECONFLICT, "church %s is %s, not deleting", id, c.Status)
	}
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmts := []string{
		`DELETE FROM login_throttle WHERE key IN (SELECT email_hash FROM login_index WHERE tenant_id = $1)
			AND key NOT IN (SELECT email_hash FROM login_index WHERE tenant_id <> $1)`,
		`DELETE FROM send_pacing WHERE key IN (SELECT 'number:' || e164 FROM phone_numbers WHERE tenant_id = $1)`,
	}
	for _, t := range churchIndexTables {
		stmts = append(stmts, `DELETE FROM `+t+` WHERE tenant_id = $1`)
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return err
		}
	}
	var reqAt int64
	if c.RequestedAt != nil {
		reqAt = c.RequestedAt.Unix()
	}
	now := r.now().UTC()
	if _, err := tx.ExecContext(ctx, `INSERT INTO tenant_purges (tenant_id, requested_by, requested_at, purged_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, id, c.RequestedBy, reqAt, now.Unix()); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE tenants SET status = 'deleted', name = 'deleted church', slug = id, prior_status = '',
		delete_requested_by = '', delete_requested_at = NULL, purge_at = NULL, updated_at = $1 WHERE id = $2`, now, id); err != nil {
		return err
	}
	return tx.Commit()
}

// Compact makes sure deleted bytes are gone from the registry's files. On
// SQLite the connections zero freed space (secure_delete), and a TRUNCATE
// checkpoint copies the WAL into the database and empties it, so no older
// copy of a page survives in the -wal file. PostgreSQL's dead rows are
// reclaimed by autovacuum and never appear in a dump.
// Errors: EUNAVAILABLE when a reader kept the checkpoint from finishing
// (the next purge, or SQLite's own checkpoints, finish it).
func (r *Registry) Compact(ctx context.Context) error {
	if r.backend != steeple.BackendSQLite {
		return nil
	}
	var busy, logFrames, done int
	if err := r.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil {
		return err
	}
	if busy != 0 {
		return steeple.Errorf(steeple.EUNAVAILABLE, "the registry's WAL could not be emptied: a reader was busy")
	}
	return nil
}

// DropChurchDatabase removes a deleting church's database (SQLite: the
// file with its -wal and -shm; PostgreSQL: DROP DATABASE … WITH (FORCE)),
// after closing this process's pool on it. A database already gone is
// fine. Errors: ECONFLICT when the church is not being deleted.
func (t *Tenancy) DropChurchDatabase(ctx context.Context, id string) error {
	tn, err := t.Registry.Tenant(ctx, id)
	if err != nil {
		return err
	}
	if tn.Status != steeple.TenantDeleting {
		return steeple.Errorf(steeple.ECONFLICT, "church %s is %s, not deleting", id, tn.Status)
	}
	if err := t.Manager.Evict(ctx, id); err != nil {
		return err
	}
	return t.Manager.withRoom(ctx, func() error { return t.be.drop(ctx, tn) })
}
