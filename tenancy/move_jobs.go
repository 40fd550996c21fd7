package tenancy

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivershared/uniquestates"
	"github.com/riverqueue/river/rivertype"
)

// movedJobKey marks, in a job's metadata, a job carried over from SQLite,
// so that a re-run replaces exactly those.
const movedJobKey = "steeple_moved_from_sqlite"

// copyJobs carries the job queue's unfinished jobs (available, scheduled,
// retryable, pending; running ones as available, since their process is
// gone) from the SQLite registry into tx, through the queue's own drivers:
// the two schemas store arguments, tags and uniqueness differently. Queue,
// priority, schedule, attempts and unique key are kept, so a unique job is
// still unique. Finished jobs stay behind; periodic jobs recreate
// themselves.
func copyJobs(ctx context.Context, src *sql.DB, tx pgx.Tx) (int, error) {
	if _, err := tx.Exec(ctx, `DELETE FROM river_job WHERE metadata ? '`+movedJobKey+`'`); err != nil {
		return 0, err
	}
	from := riversqlite.New(src).GetExecutor()
	to := riverpgxv5.New(nil).UnwrapExecutor(tx)
	total := 0
	var after int64
	for {
		jobs, err := from.JobList(ctx, &riverdriver.JobListParams{
			Max:           500,
			WhereClause:   "state IN ('available', 'scheduled', 'retryable', 'pending', 'running') AND id > @after",
			NamedArgs:     map[string]any{"after": after},
			OrderByClause: "id",
		})
		if err != nil {
			return total, fmt.Errorf("read jobs: %w", err)
		}
		if len(jobs) == 0 {
			return total, nil
		}
		params := make([]*riverdriver.JobInsertFullParams, len(jobs))
		for i, j := range jobs {
			if params[i], err = movedJob(j); err != nil {
				return total, fmt.Errorf("job %d (%s): %w", j.ID, j.Kind, err)
			}
		}
		if _, err := to.JobInsertFullMany(ctx, &riverdriver.JobInsertFullManyParams{Jobs: params}); err != nil {
			return total, fmt.Errorf("insert jobs: %w", err)
		}
		total += len(jobs)
		after = jobs[len(jobs)-1].ID
	}
}

func movedJob(j *rivertype.JobRow) (*riverdriver.JobInsertFullParams, error) {
	meta := map[string]json.RawMessage{}
	if len(j.Metadata) > 0 {
		if err := json.Unmarshal(j.Metadata, &meta); err != nil {
			return nil, fmt.Errorf("metadata: %w", err)
		}
	}
	meta[movedJobKey] = json.RawMessage(`true`)
	metadata, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	errs := make([][]byte, len(j.Errors))
	for i, e := range j.Errors {
		if errs[i], err = json.Marshal(e); err != nil {
			return nil, err
		}
	}
	state, attemptedAt := j.State, j.AttemptedAt
	if state == rivertype.JobStateRunning {
		state = rivertype.JobStateAvailable
	}
	created := j.CreatedAt
	return &riverdriver.JobInsertFullParams{
		Attempt: j.Attempt, AttemptedAt: attemptedAt, AttemptedBy: j.AttemptedBy, CreatedAt: &created,
		EncodedArgs: j.EncodedArgs, Errors: errs, Kind: j.Kind, MaxAttempts: j.MaxAttempts, Metadata: metadata,
		Priority: j.Priority, Queue: j.Queue, ScheduledAt: &j.ScheduledAt, State: state, Tags: j.Tags,
		UniqueKey: j.UniqueKey, UniqueStates: uniquestates.UniqueStatesToBitmask(j.UniqueStates),
	}, nil
}
