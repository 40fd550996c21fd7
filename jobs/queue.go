// Package jobs runs Steeple's background work on River, whose tables live in
// the registry database: the pgx driver on PostgreSQL, the SQLite driver on
// the embedded default. Job arguments carry a tenant id; workers reach the
// church's data only through the tenant manager.
package jobs

import (
	"context"
	"database/sql"
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

// Config tunes the queue.
type Config struct {
	MaxWorkers int // concurrent send and other jobs in this process (default 10)
	// EventWorkers is how many webhook events this process applies at once
	// (QueueEvents); 0 leaves that queue to other processes.
	EventWorkers int
	PeriodicJobs []*river.PeriodicJob
	Logger       *slog.Logger
	// PollInterval is how often idle workers look for jobs (default 200 ms on
	// SQLite, which has no notifications).
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

// Queue is River on the registry, for either driver.
type Queue struct {
	start    func(context.Context) error
	stop     func(context.Context) error
	insertTx func(ctx context.Context, fn func(Execer) ([]river.InsertManyParams, error)) ([]*rivertype.JobInsertResult, error)
	// endpoints are River UI's API over this queue's client.
	endpoints uiendpoints.Bundle
}

// New builds the queue over the registry with the given workers.
func New(reg *tenancy.Registry, workers *river.Workers, c Config) (*Queue, error) {
	if c.MaxWorkers == 0 {
		c.MaxWorkers = 10
	}
	if c.RescueAfter == 0 {
		c.RescueAfter = 11 * time.Minute
	}
	queues := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: c.MaxWorkers}}
	if c.EventWorkers > 0 {
		queues[QueueEvents] = river.QueueConfig{MaxWorkers: c.EventWorkers}
	}
	rc := &river.Config{
		// A short gap between fetches: River's default (100 ms) caps a queue
		// at its workers × 10 jobs a second, which is too few for webhooks.
		FetchCooldown:        fetchCooldown,
		Queues:               queues,
		Workers:              workers,
		PeriodicJobs:         c.PeriodicJobs,
		Logger:               c.Logger,
		RescueStuckJobsAfter: c.RescueAfter,
		JobTimeout:           c.JobTimeout,
	}
	if pool := reg.Pool(); pool != nil {
		client, err := river.NewClient(riverpgxv5.New(pool), rc)
		if err != nil {
			return nil, fmt.Errorf("job queue: %w", err)
		}
		return &Queue{start: client.Start, stop: client.Stop, endpoints: riverui.NewEndpoints(client, nil),
			insertTx: func(ctx context.Context, fn func(Execer) ([]river.InsertManyParams, error)) ([]*rivertype.JobInsertResult, error) {
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
			}}, nil
	}
	rc.PollOnly = true
	rc.FetchPollInterval = c.PollInterval
	if rc.FetchPollInterval == 0 {
		rc.FetchPollInterval = 200 * time.Millisecond
	}
	rc.FetchCooldown = min(rc.FetchPollInterval, fetchCooldown)
	db := reg.DB()
	client, err := river.NewClient(riversqlite.New(db), rc)
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	return &Queue{start: client.Start, stop: client.Stop, endpoints: riverui.NewEndpoints(client, nil),
		insertTx: func(ctx context.Context, fn func(Execer) ([]river.InsertManyParams, error)) ([]*rivertype.JobInsertResult, error) {
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
		}}, nil
}

// UI returns River's web UI over this queue, served under prefix (e.g.
// "/ops/queue"). Start it with the process's context before serving.
func (q *Queue) UI(prefix string, log *slog.Logger) (*riverui.Handler, error) {
	return riverui.NewHandler(&riverui.HandlerOpts{Endpoints: q.endpoints, Prefix: prefix, Logger: log, JobListHideArgsByDefault: true})
}

// Start runs the workers until Stop.
func (q *Queue) Start(ctx context.Context) error { return q.start(ctx) }

// Stop waits for running jobs to finish (until ctx ends).
func (q *Queue) Stop(ctx context.Context) error { return q.stop(ctx) }

// InsertTx runs fn and inserts jobs in one registry transaction.
func (q *Queue) InsertTx(ctx context.Context, fn func(Execer) error, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
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
