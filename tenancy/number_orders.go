package tenancy

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/steeple-sms/steeple"
)

// Number order steps: placing (before the provider call), ordered (the
// provider has the order), active (the number is the account's and set up),
// then done (the church's) or failed (undone).
const (
	OrderPlacing = "placing"
	OrderOrdered = "ordered"
	OrderActive  = "active"
	OrderDone    = "done"
	OrderFailed  = "failed"
)

// NumberOrder is a number purchase under way, as the registry records it.
type NumberOrder struct {
	ID               string    `json:"id"`
	TenantID         string    `json:"-"`
	E164             string    `json:"number"`
	Step             string    `json:"step"`
	ProviderOrderID  string    `json:"-"`
	ProviderNumberID string    `json:"-"`
	Error            string    `json:"error,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// CreateNumberOrder records a purchase about to be placed. Errors:
// ECONFLICT when a church owns the number or an order for it is under way.
func (r *Registry) CreateNumberOrder(ctx context.Context, tenantID, e164 string) (*NumberOrder, error) {
	var owner string
	err := r.db.QueryRowContext(ctx, `SELECT tenant_id FROM phone_numbers WHERE e164 = $1`, e164).Scan(&owner)
	if err == nil {
		return nil, steeple.Errorf(steeple.ECONFLICT, "number %s is not available", e164)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	now := r.now().UTC()
	o := &NumberOrder{ID: steeple.NewID(), TenantID: tenantID, E164: e164, Step: OrderPlacing, CreatedAt: now, UpdatedAt: now}
	_, err = r.db.ExecContext(ctx, `INSERT INTO number_orders (id, tenant_id, e164, step, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5)`, o.ID, tenantID, e164, o.Step, now.Unix())
	if IsUniqueViolation(err) {
		return nil, steeple.Errorf(steeple.ECONFLICT, "number %s is being bought already", e164)
	}
	return o, err
}

const orderColumns = `id, tenant_id, e164, step, provider_order_id, provider_number_id, error, created_at, updated_at FROM number_orders`

func scanOrder(row interface{ Scan(...any) error }) (*NumberOrder, error) {
	var o NumberOrder
	var created, updated int64
	if err := row.Scan(&o.ID, &o.TenantID, &o.E164, &o.Step, &o.ProviderOrderID, &o.ProviderNumberID, &o.Error, &created, &updated); err != nil {
		return nil, err
	}
	o.CreatedAt, o.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	return &o, nil
}

// NumberOrderByID returns an order. Errors: ENOTFOUND.
func (r *Registry) NumberOrderByID(ctx context.Context, id string) (*NumberOrder, error) {
	o, err := scanOrder(r.db.QueryRowContext(ctx, `SELECT `+orderColumns+` WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "number order not found")
	}
	return o, err
}

func (r *Registry) queryOrders(ctx context.Context, where string, args ...any) ([]*NumberOrder, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT `+orderColumns+` WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*NumberOrder{}
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// ChurchNumberOrders lists a church's orders not yet done: under way, and
// failed ones of the last week (so the church sees why).
func (r *Registry) ChurchNumberOrders(ctx context.Context, tenantID string) ([]*NumberOrder, error) {
	return r.queryOrders(ctx, `tenant_id = $1 AND (step IN ('placing', 'ordered', 'active') OR (step = 'failed' AND updated_at > $2))
		ORDER BY created_at`, tenantID, r.now().Add(-7*24*time.Hour).Unix())
}

// StuckNumberOrders lists orders under way not moved since before, oldest first.
func (r *Registry) StuckNumberOrders(ctx context.Context, before time.Time, limit int) ([]*NumberOrder, error) {
	return r.queryOrders(ctx, `step IN ('placing', 'ordered', 'active') AND updated_at <= $1 ORDER BY updated_at LIMIT $2`,
		before.Unix(), limit)
}

// AdvanceNumberOrder moves an order on from step from (only from it, so two
// workers never both advance it), recording the provider ids when given.
// It reports whether it moved.
func (r *Registry) AdvanceNumberOrder(ctx context.Context, o *NumberOrder, from, to, errText string) (bool, error) {
	res, err := r.db.ExecContext(ctx, `UPDATE number_orders SET step = $1, provider_order_id = $2, provider_number_id = $3,
		error = $4, updated_at = $5 WHERE id = $6 AND step = $7`,
		to, o.ProviderOrderID, o.ProviderNumberID, errText, r.now().Unix(), o.ID, from)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	if n == 1 {
		o.Step, o.Error = to, errText
	}
	return n == 1, nil
}

// TouchNumberOrder marks an order as looked at now (the recovery job then
// leaves it alone for a while).
func (r *Registry) TouchNumberOrder(ctx context.Context, id string) error {
	_, err := r.db.ExecContext(ctx, `UPDATE number_orders SET updated_at = $1 WHERE id = $2`, r.now().Unix(), id)
	return err
}

// CompleteNumberOrder gives the number to the church and closes its
// order in one registry transaction. Errors: ECONFLICT when another church
// got the number meanwhile (an operator assigned it).
func (r *Registry) CompleteNumberOrder(ctx context.Context, o *NumberOrder) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := r.now().UTC()
	res, err := tx.ExecContext(ctx, `UPDATE number_orders SET step = 'done', updated_at = $1 WHERE id = $2 AND step = 'active'`,
		now.Unix(), o.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // done by another worker
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO phone_numbers (e164, tenant_id, created_at, provider_id) VALUES ($1, $2, $3, $4)
		ON CONFLICT (e164) DO UPDATE SET provider_id = $4 WHERE phone_numbers.tenant_id = $2`,
		o.E164, o.TenantID, now, o.ProviderNumberID)
	if err != nil {
		return err
	}
	var owner string
	if err := tx.QueryRowContext(ctx, `SELECT tenant_id FROM phone_numbers WHERE e164 = $1`, o.E164).Scan(&owner); err != nil {
		return err
	}
	if owner != o.TenantID {
		return steeple.Errorf(steeple.ECONFLICT, "number %s was given to another church meanwhile", o.E164)
	}
	// A church with a 10DLC campaign gets its registration looked at now, so
	// the number joins the campaign even if this process dies before it
	// asks for that itself.
	if _, err := tx.ExecContext(ctx, `INSERT INTO registration_polls (tenant_id, next_poll_at) SELECT $1, $2
		WHERE EXISTS (SELECT 1 FROM provider_objects WHERE tenant_id = $1 AND kind = 'campaign')
		ON CONFLICT (tenant_id) DO UPDATE SET next_poll_at = $2`, o.TenantID, now.Unix()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	o.Step = OrderDone
	return nil
}
