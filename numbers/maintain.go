package numbers

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// MaintainArgs is the periodic job that drives stuck orders (a crash, a
// lost job, a provider that did not answer) and releases numbers whose
// grace is over. It reads only the registry.
type MaintainArgs struct{}

// Kind names the job.
func (MaintainArgs) Kind() string { return "numbers_maintain" }

// InsertOpts keeps one at a time.
func (MaintainArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: time.Minute}}
}

type maintainWorker struct {
	river.WorkerDefaults[MaintainArgs]
	svc *Service
}

func (w *maintainWorker) Work(ctx context.Context, _ *river.Job[MaintainArgs]) error {
	if _, err := w.svc.Recover(ctx); err != nil {
		return err
	}
	_, err := w.svc.ReleaseDue(ctx)
	return err
}

// periodicJobs run the maintenance every interval.
func (s *Service) periodicJobs(interval time.Duration) []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return MaintainArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})}
}

// Recover drives every order that has not moved for StuckAfter, right
// here: it finishes it, fails it or leaves it waiting, idempotently (each
// step is conditional on the step before). It returns how many it looked at.
func (s *Service) Recover(ctx context.Context) (int, error) {
	stuck, err := s.ten.Registry.StuckNumberOrders(ctx, s.cfg.Now().Add(-s.cfg.StuckAfter), 100)
	if err != nil {
		return 0, err
	}
	for _, o := range stuck {
		wait, err := s.advance(ctx, o.ID)
		if err != nil {
			s.log.Warn("number order recovery", "order", o.ID, "err", err)
			continue
		}
		if wait > 0 {
			s.drive(ctx, o.ID)
		}
	}
	return len(stuck), nil
}
