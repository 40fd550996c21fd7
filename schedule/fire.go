package schedule

import (
	"context"
	"encoding/json"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// TickArgs is the periodic scheduler tick. River runs periodic jobs on the
// elected leader only, so one process ticks at a time.
type TickArgs struct{}

// Kind names the job.
func (TickArgs) Kind() string { return "schedule_tick" }

// InsertOpts: ticks are not retried; the next one comes soon.
func (TickArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 1} }

// FireArgs fires one occurrence of one schedule. Unique by its arguments
// (DueAt included, so an occurrence held by quiet hours is queued again
// when the window ends) among jobs not yet finished: an occurrence armed
// again with the same due time after its job completed (a held broadcast
// edited) must be queued again. Sending it once rests on the broadcast id
// derived from the occurrence, not on this.
type FireArgs struct {
	TenantID   string `json:"tenant_id"`
	ScheduleID string `json:"schedule_id"`
	Occurrence string `json:"occurrence"`
	DueAt      int64  `json:"due_at"`
}

// Kind names the job.
func (FireArgs) Kind() string { return "schedule_fire" }

// InsertOpts makes an occurrence's job unique.
func (FireArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable, rivertype.JobStateRunning,
		rivertype.JobStateScheduled}}}
}

type tickWorker struct {
	river.WorkerDefaults[TickArgs]
	svc *Service
}

func (w *tickWorker) Work(ctx context.Context, _ *river.Job[TickArgs]) error {
	_, err := w.svc.Tick(ctx)
	return err
}

type fireWorker struct {
	river.WorkerDefaults[FireArgs]
	svc *Service
}

func (w *fireWorker) Work(ctx context.Context, job *river.Job[FireArgs]) error {
	err := w.svc.fire(ctx, job.Args)
	if err != nil && job.Attempt >= job.MaxAttempts {
		// The last try: the schedule must not stay marked as sending (edits
		// refused) with nothing armed. The occurrence is recorded as not
		// sent and the next one armed.
		if aerr := w.svc.abandon(context.WithoutCancel(ctx), job.Args, err); aerr != nil {
			w.svc.log.Error("schedule occurrence abandoned, but its schedule could not be re-armed", "tenant", job.Args.TenantID,
				"schedule", job.Args.ScheduleID, "occurrence", job.Args.Occurrence, "err", aerr)
		}
	}
	return err
}

// abandon ends an occurrence whose fire kept failing: recorded as not
// sent (unless its broadcast was made), the schedule's next occurrence
// armed (a one-off is done).
func (s *Service) abandon(ctx context.Context, a FireArgs, cause error) error {
	h, err := s.ten.Manager.Acquire(ctx, a.TenantID)
	if err != nil {
		return err
	}
	defer h.Release()
	sc, err := s.store.Schedule(ctx, h, a.ScheduleID)
	if err != nil || sc.Status != steeple.ScheduleActive || sc.NextKey != a.Occurrence {
		return err
	}
	s.log.Error("scheduled message not sent after every try", "tenant", a.TenantID, "schedule", sc.ID, "occurrence", a.Occurrence,
		"err", cause)
	run := steeple.ScheduleRun{Occurrence: a.Occurrence, MessageID: occurrenceID(sc.ID, a.Occurrence)}
	if _, err := s.store.Broadcast(ctx, h, run.MessageID); steeple.ErrorCode(err) == steeple.ENOTFOUND {
		run.MessageID, run.NotSent = "", steeple.ErrorMessage(cause)
	} else if err != nil {
		return err
	}
	if err := s.store.RecordRun(ctx, h, sc.ID, run); err != nil {
		return err
	}
	return s.armNext(ctx, h, sc, a.Occurrence)
}

// register adds the tick and fire workers.
func (s *Service) register(w *river.Workers) {
	river.AddWorker(w, &tickWorker{svc: s})
	river.AddWorker(w, &fireWorker{svc: s})
}

// periodicJobs tick every interval.
func (s *Service) periodicJobs(interval time.Duration) []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return TickArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})}
}

// Tick queues a fire job for every occurrence due, taking each off the
// registry's due list in the same transaction: an occurrence is queued
// once (one another tick took first, or that changed since it was read, is
// left alone). It reads only the registry's due-time index, so its cost is
// the number due, however many churches there are. It works in batches of
// tickBatch, going on while batches come back full (Sunday 08:00 in a
// large fleet), up to tickBatches of them. It returns how many it queued.
func (s *Service) Tick(ctx context.Context) (int, error) {
	total := 0
	for range tickBatches {
		n, full, err := s.tickBatch(ctx)
		total += n
		if err != nil || !full {
			return total, err
		}
	}
	return total, nil
}

const tickBatch, tickBatches = 1000, 20

func (s *Service) tickBatch(ctx context.Context) (claimed int, full bool, err error) {
	due, err := s.ten.Registry.DueSchedules(ctx, s.cfg.Now(), tickBatch)
	if err != nil || len(due) == 0 {
		return 0, false, err
	}
	_, err = s.queue.InsertTxFunc(ctx, func(tx jobs.Execer) ([]river.InsertManyParams, error) {
		var params []river.InsertManyParams
		for _, d := range due {
			ok, err := tenancy.InTx(tx).ClaimScheduleDue(ctx, d)
			if err != nil {
				return nil, err
			}
			if ok {
				params = append(params, river.InsertManyParams{Args: FireArgs{TenantID: d.TenantID, ScheduleID: d.ScheduleID,
					Occurrence: d.Occurrence, DueAt: d.DueAt.Unix()}})
			}
		}
		claimed = len(params)
		return params, nil
	})
	if err != nil {
		return 0, false, err
	}
	return claimed, len(due) == tickBatch, nil
}

// fire sends one occurrence: a broadcast whose id derives from the
// occurrence (so a repeated fire finds it made), then arms the next one.
// An occurrence in the church's quiet hours is put back until they end,
// unless the message is urgent.
func (s *Service) fire(ctx context.Context, a FireArgs) error {
	for try := 0; ; try++ {
		err := s.fireOnce(ctx, a)
		if steeple.ErrorCode(err) != steeple.ECONFLICT || try == 2 {
			return err // after three lost races, the queue retries the job
		}
	}
}

func (s *Service) fireOnce(ctx context.Context, a FireArgs) error {
	h, err := s.ten.Manager.Acquire(ctx, a.TenantID)
	switch steeple.ErrorCode(err) {
	case steeple.ENOTFOUND:
		s.log.Warn("schedule of a church that is gone; dropped", "tenant", a.TenantID, "schedule", a.ScheduleID)
		return nil
	case steeple.ESUSPENDED:
		// Kept armed and looked at hourly: when the church is back, the
		// schedule goes on (an occurrence by then too late is skipped).
		return s.ten.Registry.HoldScheduleDue(ctx, tenancy.ScheduleDue{TenantID: a.TenantID, ScheduleID: a.ScheduleID,
			Occurrence: a.Occurrence, DueAt: s.cfg.Now().Add(time.Hour)})
	}
	if err != nil {
		return err
	}
	defer h.Release()
	sc, err := s.store.Schedule(ctx, h, a.ScheduleID)
	if steeple.ErrorCode(err) == steeple.ENOTFOUND {
		return nil // never saved: the registry row was written first
	}
	if err != nil {
		return err
	}
	if sc.Status != steeple.ScheduleActive || sc.NextKey != a.Occurrence {
		// Paused, cancelled, edited or fired since it was queued. An edit
		// armed its own occurrence in the registry, unless it died between
		// the registry and the church's row: then this fire took the only
		// due row, and the church's occurrence is armed again from its row.
		if sc.Status == steeple.ScheduleActive && sc.Firing == "" && sc.NextAt != nil {
			return s.ten.Registry.HoldScheduleDue(ctx, tenancy.ScheduleDue{TenantID: a.TenantID, ScheduleID: sc.ID,
				Occurrence: sc.NextKey, DueAt: *sc.NextAt})
		}
		return nil
	}
	var r Message
	if err := json.Unmarshal(sc.Message, &r); err != nil {
		return err
	}
	// A try that died after sending started (firing is set) goes straight
	// on: the broadcast may be out already, so neither quiet hours nor
	// lateness may hold it back, or let it be edited and sent again.
	if sc.Firing != a.Occurrence {
		if held, err := s.holdOrSkip(ctx, h, sc, a, r); held || err != nil {
			return err
		}
		// Sending starts: from here edits and cancels wait (editable). A
		// save since sc was read wins this race: another fire of this
		// occurrence (which sends it), or an edit (read, and fire again).
		sc.Firing = a.Occurrence
		if err := s.store.SaveSchedule(ctx, h, sc); err != nil {
			return err
		}
	}
	id := occurrenceID(sc.ID, a.Occurrence)
	run := steeple.ScheduleRun{Occurrence: a.Occurrence, MessageID: id}
	// An earlier try that died before recording the run made it already:
	// CreateAs would find that too, but only after writing a dispatch intent
	// that nothing then clears (the recovery sweep would redo the dispatch).
	if _, err = s.store.Broadcast(ctx, h, id); err == nil {
		err = steeple.Errorf(steeple.ECONFLICT, "broadcast %s exists already", id)
	} else if steeple.ErrorCode(err) == steeple.ENOTFOUND {
		_, err = s.msg.CreateAs(ctx, h, sc.CreatedBy, id, r.BroadcastRequest)
	}
	switch code := steeple.ErrorCode(err); {
	case err == nil, code == steeple.ECONFLICT: // made now, or by an earlier try
	case code == steeple.EINVALID || code == steeple.ENOTFOUND || code == steeple.EFORBIDDEN:
		// The audience is empty, a group was deleted, the plan is used up:
		// nothing to send this time; the schedule goes on.
		s.log.Warn("scheduled message not sent", "tenant", a.TenantID, "schedule", sc.ID, "occurrence", a.Occurrence, "err", err)
		run.MessageID, run.NotSent = "", steeple.ErrorMessage(err)
	default:
		return err
	}
	if err := s.store.RecordRun(ctx, h, sc.ID, run); err != nil {
		return err
	}
	return ignoreConflict(s.armNext(ctx, h, sc, a.Occurrence))
}

// ignoreConflict: a schedule saved meanwhile (another fire of the same
// occurrence, or an edit read before this fire began) has armed what comes
// next itself; this fire has nothing more to do.
func ignoreConflict(err error) error {
	if steeple.ErrorCode(err) == steeple.ECONFLICT {
		return nil
	}
	return err
}

// holdOrSkip puts an occurrence due in the church's quiet hours back until
// they end (unless urgent), and skips one more than maxLate late; it says
// whether it did either.
func (s *Service) holdOrSkip(ctx context.Context, h *tenancy.Handle, sc *store.Schedule, a FireArgs, r Message) (bool, error) {
	now := s.cfg.Now()
	if !r.Urgent {
		q, err := s.QuietHours(ctx, h)
		if err != nil {
			return true, err
		}
		if release := q.Release(now, Location(h)); release.After(now) {
			return true, s.ten.Registry.HoldScheduleDue(ctx, tenancy.ScheduleDue{TenantID: a.TenantID, ScheduleID: a.ScheduleID,
				Occurrence: a.Occurrence, DueAt: release})
		}
	}
	if at, ok := occurrenceTime(sc, a.Occurrence, Location(h)); ok && now.Sub(at) > maxLate {
		s.log.Warn("scheduled message skipped: too late", "tenant", a.TenantID, "schedule", sc.ID, "occurrence", a.Occurrence)
		if err := s.store.RecordRun(ctx, h, sc.ID, steeple.ScheduleRun{Occurrence: a.Occurrence,
			NotSent: "missed (the church was unavailable)"}); err != nil {
			return true, err
		}
		return true, ignoreConflict(s.armNext(ctx, h, sc, a.Occurrence))
	}
	return false, nil
}

// maxLate is how late an occurrence may still be sent: longer than any
// quiet-hours hold, shorter than a day's repeat.
const maxLate = 24 * time.Hour

// occurrenceTime is the instant an occurrence was for.
func occurrenceTime(sc *store.Schedule, key string, loc *time.Location) (time.Time, bool) {
	if sc.Kind == steeple.ScheduleOnce {
		t, err := time.Parse(time.RFC3339, key)
		return t, err == nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04", key, loc)
	return t, err == nil
}

// armNext arms a recurring schedule's next occurrence, or ends a one-off.
func (s *Service) armNext(ctx context.Context, h *tenancy.Handle, sc *store.Schedule, fired string) error {
	sc.Firing = ""
	if sc.Kind == steeple.ScheduleOnce {
		return s.disarm(ctx, h, sc, steeple.ScheduleDone)
	}
	var r Rule
	if err := json.Unmarshal(sc.Rule, &r); err != nil {
		return err
	}
	after := s.cfg.Now()
	if sc.NextAt != nil && sc.NextAt.After(after) {
		after = *sc.NextAt
	}
	o, err := r.NextAfter(after, fired, Location(h))
	if err != nil {
		return err
	}
	return s.arm(ctx, h, sc, o)
}

// QuietHours returns the church's quiet hours (the defaults when unset).
func (s *Service) QuietHours(ctx context.Context, h *tenancy.Handle) (QuietHours, error) {
	return ReadQuietHours(ctx, s.store, h)
}
