// Package messaging sends a church's texts: broadcasts with their audience
// and segment count, an outbox that hands them durably to the job queue,
// and the paced send worker. Church data is reached only through tenant
// handles; jobs carry the tenant id.
package messaging

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// Config tunes messaging.
type Config struct {
	// PublicURL is where the provider posts delivery receipts.
	PublicURL string
	// PerNumberRate is messages per second from one sending number (a church
	// may lower or raise its own with the send_rate setting).
	PerNumberRate float64
	// AccountRate is messages per second for the whole provider account.
	AccountRate float64
	// RegisteredRate is messages per second from a number of a church whose
	// 10DLC campaign is provisioned (PerNumberRate applies until then).
	RegisteredRate float64
	// UnregisteredDailyCap is how many texts a church not yet registered
	// may send per day, counted in the church's timezone (0: no cap); answers to STOP/START/HELP are not
	// held by it.
	UnregisteredDailyCap int
	// CapRecheck is how often a send held by the daily cap looks again
	// before the church's next day: a campaign provisioned meanwhile lifts the cap.
	CapRecheck time.Duration
	// Plans give each plan's monthly segment quota.
	Plans map[string]steeple.Plan
	// RetryBackoff are the waits between tries of one recipient inside a
	// job; after them the job itself is retried by the queue.
	RetryBackoff []time.Duration
	// SweepAge is how old an undispatched broadcast must be before the
	// recovery sweep dispatches it.
	SweepAge time.Duration
	// JobTimeout bounds one run of a send job (100 recipients); keep it
	// below the queue's RescueAfter.
	JobTimeout time.Duration
	// Now is the clock that says which day the daily cap counts (nil: the
	// wall clock). Pacing always runs on the wall clock.
	Now func() time.Time
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		PublicURL: "http://127.0.0.1:8080", PerNumberRate: 1, AccountRate: 50, RegisteredRate: 75,
		RetryBackoff: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second},
		SweepAge:     30 * time.Second,
		JobTimeout:   10 * time.Minute,
		CapRecheck:   15 * time.Minute,
	}
}

// Service creates broadcasts and sends them.
type Service struct {
	ten      *tenancy.Tenancy
	store    *store.Store
	provider Provider
	queue    *jobs.Queue
	cfg      Config
	log      *slog.Logger
	sleep    func(context.Context, time.Duration) error
	// quietWait says how long a welcome text must still wait for the
	// church's quiet hours to end (nil: never held); see HoldWelcomes.
	quietWait func(context.Context, *tenancy.Handle) (time.Duration, error)
}

// HoldWelcomes makes welcome texts wait, when their send job runs, for as
// long as wait says: the church's quiet hours. Checked at send time, so a
// welcome queued by any path (the recovery sweep included) is held.
func (s *Service) HoldWelcomes(wait func(context.Context, *tenancy.Handle) (time.Duration, error)) {
	s.quietWait = wait
}

// New builds the service. Register its workers, build the queue with them,
// then hand the queue over with UseQueue.
func New(ten *tenancy.Tenancy, st *store.Store, p Provider, cfg Config, log *slog.Logger) *Service {
	return &Service{ten: ten, store: st, provider: p, cfg: cfg, log: log, sleep: sleepCtx}
}

// Register adds the messaging workers to a worker set.
func (s *Service) Register(w *river.Workers) {
	river.AddWorker(w, &sendWorker{svc: s})
	river.AddWorker(w, &sweepWorker{svc: s})
	river.AddWorker(w, &replyWorker{svc: s})
}

// PeriodicJobs are the recovery sweep, every interval.
func (s *Service) PeriodicJobs(interval time.Duration) []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})}
}

// SetPublicURL changes where receipts are posted (tests learn their
// server's address only after it starts).
func (s *Service) SetPublicURL(u string) { s.cfg.PublicURL = u }

// UseQueue sets the queue broadcasts are dispatched to.
func (s *Service) UseQueue(q *jobs.Queue) { s.queue = q }

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
