package tenancy

import (
	"context"
	"database/sql"
	"errors"

	"github.com/steeple-sms/steeple"
)

// ServerMoveStep is how far a move got; the registry records it after each step
// so a rerun continues from there.
type ServerMoveStep string

// Move steps, in order. A move row is deleted once the old copy is dropped.
const (
	MoveStarted  ServerMoveStep = "started"  // recorded; the church still serves from its old server
	MoveSeeded   ServerMoveStep = "seeded"   // the new server holds a copy made while serving
	MovePaused   ServerMoveStep = "paused"   // status moving: writes paused, bringing the copy level
	MoveCopied   ServerMoveStep = "copied"   // the new server holds a copy with the same row counts
	MoveSwitched ServerMoveStep = "switched" // the registry points at the new server; old copy to drop
)

// TenantMove is a move under way, as recorded in tenant_moves.
type TenantMove struct {
	TenantID     string               `json:"tenant_id"`
	FromServer   string               `json:"from_server"`
	FromDatabase string               `json:"from_database"`
	ToServer     string               `json:"to_server"`
	ToDatabase   string               `json:"to_database"`
	PriorStatus  steeple.TenantStatus `json:"prior_status"`
	Step         ServerMoveStep       `json:"step"`
	StartedAt    int64                `json:"started_at"` // Unix seconds
	UpdatedAt    int64                `json:"updated_at"`
}

const moveColumns = `tenant_id, from_server, from_database, to_server, to_database, prior_status, step, started_at, updated_at`

func scanMove(row interface{ Scan(...any) error }) (*TenantMove, error) {
	var m TenantMove
	err := row.Scan(&m.TenantID, &m.FromServer, &m.FromDatabase, &m.ToServer, &m.ToDatabase, &m.PriorStatus,
		&m.Step, &m.StartedAt, &m.UpdatedAt)
	return &m, err
}

// Move returns the church's move under way, or nil when there is none.
func (r *Registry) Move(ctx context.Context, tenantID string) (*TenantMove, error) {
	m, err := scanMove(r.db.QueryRowContext(ctx, `SELECT `+moveColumns+` FROM tenant_moves WHERE tenant_id = $1`, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return m, err
}

// Moves lists every move under way (oldest first).
func (r *Registry) Moves(ctx context.Context) ([]*TenantMove, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT `+moveColumns+` FROM tenant_moves ORDER BY started_at, tenant_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*TenantMove
	for rows.Next() {
		m, err := scanMove(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// insertMove records a new move; ECONFLICT if the church has one already.
func (r *Registry) insertMove(ctx context.Context, m *TenantMove) error {
	now := r.now().Unix()
	m.StartedAt, m.UpdatedAt = now, now
	_, err := r.db.ExecContext(ctx, `INSERT INTO tenant_moves (`+moveColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		m.TenantID, m.FromServer, m.FromDatabase, m.ToServer, m.ToDatabase, m.PriorStatus, m.Step, m.StartedAt, m.UpdatedAt)
	if IsUniqueViolation(err) {
		return steeple.Errorf(steeple.ECONFLICT, "church %s is already being moved", m.TenantID)
	}
	return err
}

// pauseForMove marks the church moving (from the status the move recorded)
// and the move paused, in one transaction.
func (r *Registry) pauseForMove(ctx context.Context, m *TenantMove) error {
	return r.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tenants SET status = 'moving', updated_at = $1 WHERE id = $2 AND status = $3
			AND server_ref = $4 AND database_name = $5`, r.now().UTC(), m.TenantID, m.PriorStatus, m.FromServer, m.FromDatabase)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return steeple.Errorf(steeple.ECONFLICT, "church %s is no longer %s on %s: move abandoned", m.TenantID, m.PriorStatus, m.FromServer)
		}
		return r.setMoveStep(ctx, tx, m, MovePaused)
	})
}

// switchMove points the church at its new database and gives it back its
// status, in the same transaction that records the step: there is no
// moment when the registry names both copies or neither.
func (r *Registry) switchMove(ctx context.Context, m *TenantMove) error {
	return r.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tenants SET server_ref = $1, database_name = $2, status = $3, updated_at = $4
			WHERE id = $5 AND status = 'moving' AND server_ref = $6`,
			m.ToServer, m.ToDatabase, m.PriorStatus, r.now().UTC(), m.TenantID, m.FromServer)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return steeple.Errorf(steeple.ECONFLICT, "church %s is no longer paused for this move", m.TenantID)
		}
		return r.setMoveStep(ctx, tx, m, MoveSwitched)
	})
}

// abandonMove gives a church that had not switched its status back and
// forgets the move, in one transaction.
func (r *Registry) abandonMove(ctx context.Context, m *TenantMove) error {
	return r.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE tenants SET status = $1, updated_at = $2 WHERE id = $3 AND status = 'moving'
			AND server_ref = $4`, m.PriorStatus, r.now().UTC(), m.TenantID, m.FromServer); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM tenant_moves WHERE tenant_id = $1`, m.TenantID)
		return err
	})
}

func (r *Registry) finishMove(ctx context.Context, tenantID string) error {
	_, err := r.db.ExecContext(ctx, `DELETE FROM tenant_moves WHERE tenant_id = $1`, tenantID)
	return err
}

// advanceMove records a step outside the two transactions above.
func (r *Registry) advanceMove(ctx context.Context, m *TenantMove, step ServerMoveStep) error {
	return r.inTx(ctx, func(tx *sql.Tx) error { return r.setMoveStep(ctx, tx, m, step) })
}

func (r *Registry) setMoveStep(ctx context.Context, tx *sql.Tx, m *TenantMove, step ServerMoveStep) error {
	now := r.now().Unix()
	if _, err := tx.ExecContext(ctx, `UPDATE tenant_moves SET step = $1, updated_at = $2 WHERE tenant_id = $3`, step, now, m.TenantID); err != nil {
		return err
	}
	m.Step, m.UpdatedAt = step, now
	return nil
}

func (r *Registry) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// TenantsOn lists the churches whose database is on a server (deleted and
// provisioning ones apart), by id.
func (r *Registry) TenantsOn(ctx context.Context, server string) ([]*steeple.Tenant, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE server_ref = $1
		AND status NOT IN ('deleted', 'provisioning') ORDER BY id`, server)
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
