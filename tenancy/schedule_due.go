package tenancy

import (
	"context"
	"time"
)

// ScheduleDue is a schedule occurrence waiting to fire.
type ScheduleDue struct {
	TenantID, ScheduleID, Occurrence string
	DueAt                            time.Time
}

// SetScheduleDue records when a church's schedule next fires (replacing
// what was recorded).
func (r *Registry) SetScheduleDue(ctx context.Context, d ScheduleDue) error {
	_, err := r.db.ExecContext(ctx, `INSERT INTO schedule_due (tenant_id, schedule_id, occurrence, due_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant_id, schedule_id) DO UPDATE SET occurrence = $3, due_at = $4`,
		d.TenantID, d.ScheduleID, d.Occurrence, d.DueAt.Unix())
	return err
}

// HoldScheduleDue records a due time for an occurrence unless the schedule
// has another occurrence armed: a firing occurrence putting itself back
// (quiet hours, a suspended church) must not replace what an admin's edit
// armed meanwhile.
func (r *Registry) HoldScheduleDue(ctx context.Context, d ScheduleDue) error {
	_, err := r.db.ExecContext(ctx, `INSERT INTO schedule_due (tenant_id, schedule_id, occurrence, due_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant_id, schedule_id) DO UPDATE SET due_at = $4 WHERE schedule_due.occurrence = $3`,
		d.TenantID, d.ScheduleID, d.Occurrence, d.DueAt.Unix())
	return err
}

// ClearScheduleDue forgets a schedule that will not fire (paused,
// cancelled, done).
func (r *Registry) ClearScheduleDue(ctx context.Context, tenantID, scheduleID string) error {
	_, err := r.db.ExecContext(ctx, `DELETE FROM schedule_due WHERE tenant_id = $1 AND schedule_id = $2`, tenantID, scheduleID)
	return err
}

// DueSchedules lists occurrences due by now, oldest first, read through the
// due-time index: the cost is the number due, not the number of churches.
func (r *Registry) DueSchedules(ctx context.Context, now time.Time, limit int) ([]ScheduleDue, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT tenant_id, schedule_id, occurrence, due_at FROM schedule_due
		WHERE due_at <= $1 ORDER BY due_at LIMIT $2`, now.Unix(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ScheduleDue
	for rows.Next() {
		var d ScheduleDue
		var at int64
		if err := rows.Scan(&d.TenantID, &d.ScheduleID, &d.Occurrence, &at); err != nil {
			return nil, err
		}
		d.DueAt = time.Unix(at, 0).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

// ClaimScheduleDue removes a due occurrence if it is still the one
// recorded, with the due time it was read with (an occurrence held for
// quiet hours is recorded again with a later time: a tick that read the
// old row must not take the new one). Call it in the transaction that
// queues its fire job and queue the job only when it reports true, so an
// occurrence is queued once.
func (t Tx) ClaimScheduleDue(ctx context.Context, d ScheduleDue) (bool, error) {
	n, err := t.ex.Exec(ctx, `DELETE FROM schedule_due WHERE tenant_id = $1 AND schedule_id = $2 AND occurrence = $3 AND due_at = $4`,
		d.TenantID, d.ScheduleID, d.Occurrence, d.DueAt.Unix())
	return n == 1, err
}
