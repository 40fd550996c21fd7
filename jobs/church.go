package jobs

import (
	"context"

	"github.com/steeple-sms/steeple"
)

// DeleteChurchJobs removes every job whose arguments name the church
// (tenant_id) and that is not running: queued, scheduled, retrying and
// parked ones never run, and finished ones leave no trace of it. A running
// job finishes on its own (the church is refused) and keeps only the id.
// It reads the job table, not any church: a purge calls it once.
func (q *Queue) DeleteChurchJobs(ctx context.Context, tenantID string) (int64, error) {
	query := `DELETE FROM river_job WHERE json_extract(args, '$.tenant_id') = $1 AND state <> 'running'`
	if q.reg.Backend() == steeple.BackendPostgres {
		query = `DELETE FROM river_job WHERE args->>'tenant_id' = $1 AND state <> 'running'`
	}
	res, err := q.reg.DB().ExecContext(ctx, query, tenantID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
