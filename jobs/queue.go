// Package jobs runs Steeple's background work on River, whose tables live in
// the registry database: the pgx driver on PostgreSQL, the SQLite driver on
// the embedded default. Job arguments carry a tenant id; workers reach the
// church's data only through the tenant manager.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"riverqueue.com/riverui"
	"riverqueue.com/riverui/uiendpoints"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// Execer runs a statement inside the queue's registry transaction and
// returns the rows it affected.
type Execer interface {
	Exec(ctx context.Context, query string, args ...any) (int64, error)
}

// QueueEvents is the queue of provider webhook events. It has workers of
// its own, so receipts and STOPs are applied at once even while every
// send worker is busy pacing a long broadcast.
const QueueEvents = "events"

// QueueMembers is the lane of members' texts (a STOP above all), with
// workers of its own beside the events queue's: on Sunday morning
// receipts are queued by the thousand, and a STOP waiting for a worker
// behind them stayed queued 7–40 s (docs/benchmarks.md, twelfth pass).
const QueueMembers = "members"

// Config tunes the queue.
type Config struct {
	MaxWorkers int // concurrent send and other jobs in this process (default 10)
	// EventWorkers is how many webhook events this process applies at once
	// (QueueEvents), and as many members' texts beside them (QueueMembers);
	// 0 leaves both queues to other processes.
	EventWorkers int
	// NoPeriodicJobs leaves out the periodic jobs services add (tests that
	// drive sweeps and ticks by hand).
	NoPeriodicJobs bool
	Logger         *slog.Logger
	// PollInterval is how often idle workers look for jobs (default 200 ms).
	// PostgreSQL also wakes them on inserts, but a send job that gave its
	// worker back after its slice (a snooze) is found only by polling, so
	// both backends poll this often.
	PollInterval time.Duration
	// RescueAfter is how long a job may stay running before the queue
	// assumes its process died and runs it again (default 11 minutes, just
	// past the send job's own 10-minute timeout: a chunk of 100 recipients
	// at 1 message a second takes about 2).
	RescueAfter time.Duration
	// JobTimeout bounds a job that sets no timeout of its own (River's
	// default, 1 minute, when zero); it must be shorter than RescueAfter.
	JobTimeout time.Duration
}

// fetchCooldown is the least time between two fetches of jobs.
const fetchCooldown = 5 * time.Millisecond

// Queue is River on the registry, for either driver. It is built first,
// takes the services' workers and periodic jobs as they are built (see
// Workers and AddPeriodic), and is opened last (Open); jobs may be inserted
// once it is open, and run once it is started.
type Queue struct {
	reg      *tenancy.Registry
	cfg      Config
	workers  *river.Workers
	periodic []*river.PeriodicJob
	opened   bool

	start    func(context.Context) error
	stop     func(context.Context) error
	retry    func(context.Context, int64) (*rivertype.JobRow, error)
	remove   func(context.Context, int64) (*rivertype.JobRow, error)
	insertTx func(ctx context.Context, fn func(Execer) ([]river.InsertManyParams, error)) ([]*rivertype.JobInsertResult, error)
	// endpoints are River UI's API over this queue's client.
	endpoints uiendpoints.Bundle
}

// withDefaults fills what c leaves zero.
func (c Config) withDefaults() Config {
	if c.MaxWorkers == 0 {
		c.MaxWorkers = 10
	}
	if c.RescueAfter == 0 {
		c.RescueAfter = 11 * time.Minute
	}
	return c
}

// validate refuses settings River would misread.
func (c Config) validate() error {
	switch {
	case c.MaxWorkers < 0:
		return fmt.Errorf("job queue: MaxWorkers is %d; want at least 1", c.MaxWorkers)
	case c.EventWorkers < 0:
		return fmt.Errorf("job queue: EventWorkers is %d; want 0 or more", c.EventWorkers)
	case c.PollInterval < 0, c.RescueAfter < 0, c.JobTimeout < 0:
		return fmt.Errorf("job queue: PollInterval, RescueAfter and JobTimeout may not be negative")
	case c.JobTimeout > 0 && c.JobTimeout >= c.RescueAfter:
		return fmt.Errorf("job queue: JobTimeout (%v) must be shorter than RescueAfter (%v)", c.JobTimeout, c.RescueAfter)
	}
	return nil
}

// OthersWaiting says whether jobs of the default queue are ready and waiting
// for a worker (one indexed look at River's table). A send job gives its
// worker back after its slice only then: alone, it keeps its pace.
func (q *Queue) OthersWaiting(ctx context.Context) (bool, error) {
	var n int
	err := q.reg.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM river_job WHERE state = 'available' AND queue = $1 LIMIT 1) w`,
		river.QueueDefault).Scan(&n)
	return n > 0, err
}

// MaxWorkers is how many jobs of the default queue this process runs at once.
func (q *Queue) MaxWorkers() int { return q.cfg.MaxWorkers }

// Promote puts the oldest job of kind whose argument key is value and that
// waits to run within soon (ready, or snoozed briefly) back in its place
// in the line: ready, as if scheduled when it was inserted, so it goes
// before the jobs inserted after it (River hands jobs out by priority,
// then scheduled time). It reports whether it moved one. A running or
// failed job, and one snoozed for longer (a chunk held by a daily cap
// until its day), are left alone. River's API can only make a job ready
// now, which is the end of the line.
func (q *Queue) Promote(ctx context.Context, kind, key, value string, soon time.Duration) (bool, error) {
	// Looked up first, so a broadcast with nothing left waits for no
	// writer (on SQLite the registry has one).
	find := `SELECT id FROM river_job WHERE kind = $1 AND state IN ('available', 'scheduled')
		AND json_extract(args, '$.' || $2) = $3
		AND scheduled_at <= datetime('now', 'subsec', '+' || $4 || ' seconds') ORDER BY id LIMIT 1`
	if q.reg.Backend() == steeple.BackendPostgres {
		find = `SELECT id FROM river_job WHERE kind = $1 AND state IN ('available', 'scheduled')
			AND args @> jsonb_build_object($2::text, $3::text) -- River's index of the arguments
			AND scheduled_at <= now() + make_interval(secs => $4) ORDER BY id LIMIT 1`
	}
	var id int64
	err := q.reg.DB().QueryRowContext(ctx, find, kind, key, value, soon.Seconds()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	// A worker may have fetched it meanwhile: then it is running, and
	// nothing changes.
	res, err := q.reg.DB().ExecContext(ctx, `UPDATE river_job SET state = 'available', scheduled_at = created_at
		WHERE id = $1 AND state IN ('available', 'scheduled')`, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// New makes the queue over the registry. Services add their workers and
// periodic jobs; Open then builds the River client.
func New(reg *tenancy.Registry, c Config) (*Queue, error) {
	c = c.withDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &Queue{reg: reg, cfg: c, workers: river.NewWorkers()}, nil
}

// Workers is the worker set services add theirs to before Open.
func (q *Queue) Workers() *river.Workers { return q.workers }

// AddPeriodic adds periodic jobs before Open (left out under
// Config.NoPeriodicJobs).
func (q *Queue) AddPeriodic(jobs ...*river.PeriodicJob) {
	if q.opened {
		panic("jobs: AddPeriodic after Open")
	}
	if !q.cfg.NoPeriodicJobs {
		q.periodic = append(q.periodic, jobs...)
	}
}

// Open builds the River client over every worker and periodic job added so
// far. Jobs may be inserted from then on; Start runs them.
func (q *Queue) Open() error {
	if q.opened {
		return nil
	}
	c, reg := q.cfg, q.reg
	queues := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: c.MaxWorkers}}
	if c.EventWorkers > 0 {
		queues[QueueEvents] = river.QueueConfig{MaxWorkers: c.EventWorkers}
		queues[QueueMembers] = river.QueueConfig{MaxWorkers: c.EventWorkers}
	}
	pollEvery := c.PollInterval
	if pollEvery == 0 {
		pollEvery = 200 * time.Millisecond
	}
	rc := &river.Config{
		// A short gap between fetches: River's default (100 ms) caps a queue
		// at its workers × 10 jobs a second, which is too few for webhooks.
		FetchCooldown:        fetchCooldown,
		Queues:               queues,
		Workers:              q.workers,
		PeriodicJobs:         q.periodic,
		Logger:               quietRiver(c.Logger),
		RescueStuckJobsAfter: c.RescueAfter,
		JobTimeout:           c.JobTimeout,
		FetchPollInterval:    pollEvery,
		Middleware:           []rivertype.Middleware{river.WorkerMiddlewareFunc(snoozeWhileMoving)},
	}
	if pool := reg.Pool(); pool != nil {
		client, err := river.NewClient(riverpgxv5.New(pool), rc)
		if err != nil {
			return fmt.Errorf("job queue: %w", err)
		}
		q.start, q.stop, q.retry, q.remove, q.endpoints = client.Start, client.Stop, client.JobRetry, client.JobDelete, riverui.NewEndpoints(client, nil)
		q.insertTx = func(ctx context.Context, fn func(Execer) ([]river.InsertManyParams, error)) ([]*rivertype.JobInsertResult, error) {
			var res []*rivertype.JobInsertResult
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				params, err := fn(pgxExecer{tx})
				if err != nil {
					return err
				}
				if len(params) == 0 {
					return nil
				}
				res, err = client.InsertManyTx(ctx, tx, params)
				return err
			})
			return res, err
		}
		q.opened = true
		return nil
	}
	rc.PollOnly = true
	rc.FetchCooldown = min(rc.FetchPollInterval, fetchCooldown)
	db := reg.DB()
	client, err := river.NewClient(riversqlite.New(db), rc)
	if err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	q.start, q.stop, q.retry, q.remove, q.endpoints = client.Start, client.Stop, client.JobRetry, client.JobDelete, riverui.NewEndpoints(client, nil)
	q.insertTx = func(ctx context.Context, fn func(Execer) ([]river.InsertManyParams, error)) ([]*rivertype.JobInsertResult, error) {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return nil, err
		}
		defer tx.Rollback()
		params, err := fn(sqlExecer{tx})
		if err != nil {
			return nil, err
		}
		if len(params) == 0 {
			return nil, tx.Commit()
		}
		res, err := client.InsertManyTx(ctx, tx, params)
		if err != nil {
			return nil, err
		}
		return res, tx.Commit()
	}
	q.opened = true
	return nil
}

// errNotOpen is what a queue that was never opened answers.
var errNotOpen = errors.New("job queue: not open (call Open after building the services)")

// UI returns River's web UI over this queue, served under prefix (e.g.
// "/ops/queue"). Start it with the process's context before serving.
func (q *Queue) UI(prefix string, log *slog.Logger) (*riverui.Handler, error) {
	if !q.opened {
		return nil, errNotOpen
	}
	return riverui.NewHandler(&riverui.HandlerOpts{Endpoints: q.endpoints, Prefix: prefix, Logger: log, JobListHideArgsByDefault: true})
}

// Start runs the workers until Stop.
func (q *Queue) Start(ctx context.Context) error {
	if !q.opened {
		return errNotOpen
	}
	return q.start(ctx)
}

// Stop waits for running jobs to finish (until ctx ends).
func (q *Queue) Stop(ctx context.Context) error {
	if !q.opened {
		return nil
	}
	return q.stop(ctx)
}

// Wake makes a job that waits (snoozed, scheduled or retryable) available
// now, and one already done runs again. A running job is left alone: Wake
// then reports false. (A job whose worker has just returned is still
// running until the queue records the outcome, a few milliseconds later.)
func (q *Queue) Wake(ctx context.Context, id int64) (bool, error) {
	if !q.opened {
		return false, errNotOpen
	}
	row, err := q.retry(ctx, id)
	if err != nil {
		return false, err
	}
	return row.State != rivertype.JobStateRunning, nil
}

// TakeBack deletes a job whose work was done another way (a member's text
// applied by its webhook's own wait), unless it is running: a job already
// started is left to finish, so nothing it does is cut short. It reports
// whether the job was taken back (false too for one already gone).
func (q *Queue) TakeBack(ctx context.Context, id int64) (bool, error) {
	if !q.opened {
		return false, errNotOpen
	}
	_, err := q.remove(ctx, id)
	switch {
	case errors.Is(err, rivertype.ErrJobRunning), errors.Is(err, rivertype.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// InsertTx runs fn and inserts jobs in one registry transaction.
func (q *Queue) InsertTx(ctx context.Context, fn func(Execer) error, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	if !q.opened {
		return nil, errNotOpen
	}
	return q.insertTx(ctx, func(tx Execer) ([]river.InsertManyParams, error) {
		if fn == nil {
			return params, nil
		}
		return params, fn(tx)
	})
}

// InsertTxFunc runs fn, then inserts the jobs it returns, in one registry
// transaction (for callers that learn what to insert inside it).
func (q *Queue) InsertTxFunc(ctx context.Context, fn func(Execer) ([]river.InsertManyParams, error)) ([]*rivertype.JobInsertResult, error) {
	if !q.opened {
		return nil, errNotOpen
	}
	return q.insertTx(ctx, fn)
}

type pgxExecer struct{ tx pgx.Tx }

func (e pgxExecer) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := e.tx.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}

type sqlExecer struct{ tx *sql.Tx }

func (e sqlExecer) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := e.tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// snoozeWhileMoving puts off, without counting an attempt, a job that found
// its church paused for a move (a few seconds): retrying it with the
// queue's growing backoff would delay it by minutes, and use up its
// attempts, for a pause of seconds.
func snoozeWhileMoving(ctx context.Context, _ *rivertype.JobRow, doInner func(context.Context) error) error {
	err := doInner(ctx)
	if errors.Is(err, tenancy.ErrMoving) {
		return river.JobSnooze(tenancy.MoveRetryAfter)
	}
	return err
}
