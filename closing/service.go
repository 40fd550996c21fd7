// Package closing closes a church: deletion with a grace period (the church
// is refused everywhere at once and can be restored until its purge time),
// and the purge, which leaves in the registry only an audit record of the
// church's id, who asked, and when. Every purge step is idempotent, so a
// purge stopped anywhere is completed by running it again.
package closing

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/numbers"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// Operator is the actor recorded when an operator closes or restores a
// church from the command line.
const Operator = "operator"

// Config tunes closing.
type Config struct {
	// Grace is how long a closed church can be restored before it is
	// purged (STEEPLE_DELETE_GRACE; 0 purges at the next run).
	Grace time.Duration
	// PurgeEvery is how often due purges are looked for (default 10 minutes).
	PurgeEvery time.Duration
	// Now is the clock (time.Now if nil).
	Now func() time.Time
}

// DefaultGrace is STEEPLE_DELETE_GRACE's default.
const DefaultGrace = 30 * 24 * time.Hour

// Service closes, restores and purges churches.
type Service struct {
	ten     *tenancy.Tenancy
	store   *store.Store
	numbers *numbers.Service
	queue   *jobs.Queue
	cfg     Config
	log     *slog.Logger
	// after is called after each purge step (tests stop a purge there).
	after func(step string) error
}

// New returns the service over a queue that is not open yet: it adds the
// purge worker and its periodic job (every cfg.PurgeEvery) to q.
func New(ten *tenancy.Tenancy, st *store.Store, nums *numbers.Service, q *jobs.Queue, cfg Config, log *slog.Logger) (*Service, error) {
	if cfg.Grace < 0 || cfg.PurgeEvery < 0 {
		return nil, steeple.Errorf(steeple.EINVALID, "closing: durations may not be negative")
	}
	if cfg.PurgeEvery == 0 {
		cfg.PurgeEvery = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{ten: ten, store: st, numbers: nums, queue: q, cfg: cfg, log: log, after: func(string) error { return nil }}
	river.AddWorker(q.Workers(), &purgeWorker{svc: s})
	q.AddPeriodic(river.NewPeriodicJob(river.PeriodicInterval(cfg.PurgeEvery),
		func() (river.JobArgs, *river.InsertOpts) { return PurgeArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true}))
	return s, nil
}

// Grace is how long a closed church can be restored.
func (s *Service) Grace() time.Duration { return s.cfg.Grace }

// Close deletes a church with a grace period: it is refused everywhere
// from now on (sign-in, the API, jobs, sends), its web sessions end and its
// API refresh tokens are revoked, and its purge time is recorded. actor is
// the owner's admin id or Operator. h is a handle on the church the caller
// already holds (a web request's), or nil. Closing a church that is being
// deleted already changes nothing and answers its record. Errors:
// ENOTFOUND, ECONFLICT (provisioning or deleted).
func (s *Service) Close(ctx context.Context, tenantID, actor string, h *tenancy.Handle) (*tenancy.Closure, error) {
	c, fresh, err := s.ten.Registry.MarkDeleting(ctx, tenantID, actor, s.cfg.Now().Add(s.cfg.Grace))
	if err != nil {
		return nil, err
	}
	if h == nil {
		if h, err = s.ten.Manager.AcquireToRecord(ctx, tenantID); err != nil {
			return c, fmt.Errorf("closed, but ending its sessions failed: %w", err)
		}
		defer h.Release()
	}
	n, err := s.store.RevokeChurchSessions(ctx, h)
	if err != nil {
		return c, fmt.Errorf("closed, but ending its sessions failed: %w", err)
	}
	if fresh {
		err = s.store.Audit(ctx, h, store.AuditEntry{ActorID: actor, Action: "church.closed", Target: tenantID,
			Detail: fmt.Sprintf("data purged after %s; %d web session(s) ended, API refresh tokens revoked", c.PurgeAt.Format(time.RFC3339), n)})
	}
	return c, err
}

// Restore undoes a deletion before its purge has begun: the church goes
// back to the status it had (active, or suspended). Its admins sign in
// again. Errors: ENOTFOUND, ECONFLICT (not deleting, or being purged).
func (s *Service) Restore(ctx context.Context, tenantID string) (*steeple.Tenant, error) {
	t, err := s.ten.Registry.RestoreDeleted(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	h, err := s.ten.Manager.AcquireToRecord(ctx, tenantID)
	if err != nil {
		return t, fmt.Errorf("restored, but writing its audit log failed: %w", err)
	}
	defer h.Release()
	return t, s.store.Audit(ctx, h, store.AuditEntry{ActorID: Operator, Action: "church.restored", Target: tenantID,
		Detail: "back to " + string(t.Status)})
}

// Purge destroys a deleting church's data: its numbers go back to the
// provider, its queued jobs are deleted, its database is dropped, every
// registry row naming it goes, and the tenant row is scrubbed (status
// deleted, name "deleted church", slug = id) beside an audit record. Only
// a church whose purge time has come is purged, unless early (an
// operator's --now). A purge stopped at any step is completed by running
// it again; purging a purged church changes nothing. Errors: ENOTFOUND,
// ECONFLICT (not deleting, or its grace not over and !early).
func (s *Service) Purge(ctx context.Context, tenantID string, early bool) (*tenancy.Closure, error) {
	c, err := s.ten.Registry.Closure(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	switch {
	case c.Status == steeple.TenantDeleted:
		// A rerun after a crash past the last step: make sure the bytes are gone.
		return c, s.ten.Registry.Compact(ctx)
	case c.Status != steeple.TenantDeleting:
		return nil, steeple.Errorf(steeple.ECONFLICT, "church %s is %s; only a deleted church (steeple tenants delete) can be purged", tenantID, c.Status)
	case !early && !c.PurgeStarted && c.PurgeAt != nil && c.PurgeAt.After(s.cfg.Now()):
		return nil, steeple.Errorf(steeple.ECONFLICT, "church %s may be restored until %s; purge it earlier with --now", tenantID, c.PurgeAt.Format(time.RFC3339))
	}
	steps := []struct {
		name string
		run  func() error
	}{
		{"start", func() error { return s.ten.Registry.StartPurge(ctx, tenantID) }},
		{"numbers", func() error { return s.numbers.ReleaseChurch(ctx, tenantID) }},
		{"jobs", func() error { _, err := s.queue.DeleteChurchJobs(ctx, tenantID); return err }},
		{"database", func() error { return s.ten.DropChurchDatabase(ctx, tenantID) }},
		{"registry", func() error { return s.ten.Registry.FinishPurge(ctx, tenantID) }},
		{"compact", func() error { return s.ten.Registry.Compact(ctx) }},
	}
	for _, st := range steps {
		if err := st.run(); err != nil {
			return nil, fmt.Errorf("purge church %s, step %s: %w", tenantID, st.name, err)
		}
		if err := s.after(st.name); err != nil {
			return nil, err
		}
	}
	s.log.Info("church purged", "tenant", tenantID)
	return s.ten.Registry.Closure(ctx, tenantID)
}

// PurgeDue purges the churches whose grace is over, up to limit; it reads
// only the registry's purge-time index. It returns how many it purged; a
// church that fails is logged and tried again on the next run.
func (s *Service) PurgeDue(ctx context.Context, limit int) (int, error) {
	due, err := s.ten.Registry.DuePurges(ctx, s.cfg.Now(), limit)
	if err != nil {
		return 0, err
	}
	done := 0
	for _, id := range due {
		if _, err := s.Purge(ctx, id, false); err != nil {
			s.log.Warn("church purge failed; will retry", "tenant", id, "err", err)
			continue
		}
		done++
	}
	return done, nil
}

// PurgeArgs is the periodic job that purges churches whose grace is over.
type PurgeArgs struct{}

// Kind names the job.
func (PurgeArgs) Kind() string { return "church_purge" }

// InsertOpts keeps one at a time.
func (PurgeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: time.Minute}}
}

type purgeWorker struct {
	river.WorkerDefaults[PurgeArgs]
	svc *Service
}

// Timeout: dropping databases and provider calls take longer than River's
// default minute when several churches are due.
func (w *purgeWorker) Timeout(*river.Job[PurgeArgs]) time.Duration { return 5 * time.Minute }

func (w *purgeWorker) Work(ctx context.Context, _ *river.Job[PurgeArgs]) error {
	_, err := w.svc.PurgeDue(ctx, 20)
	return err
}
