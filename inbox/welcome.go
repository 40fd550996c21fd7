package inbox

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/members"
	"github.com/steeple-sms/steeple/schedule"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// PurposeWelcome marks a welcome text.
const PurposeWelcome = store.PurposeWelcome

// Welcome sends a member their church's welcome text, once for this
// opt-in (a member who opts out and back in is welcomed again). It waits
// for the end of the church's quiet hours. A member not opted in gets
// nothing.
func (s *Service) Welcome(ctx context.Context, h *tenancy.Handle, memberID string) error {
	return s.welcome(ctx, h, memberID, PurposeWelcome, true)
}

// welcome sends it with a purpose: PurposeWelcome counts against an
// unregistered church's daily cap; as the answer to START (purpose start)
// it does not, like any keyword answer. Unless dispatch (the church is
// suspended), the text is only written: its registry intent waits, passed
// over by the recovery sweep until the church is resumed, and is then
// queued like any other (quiet hours still hold it at send time).
func (s *Service) welcome(ctx context.Context, h *tenancy.Handle, memberID, purpose string, dispatch bool) error {
	m, err := s.store.Member(ctx, h, memberID)
	if steeple.ErrorCode(err) == steeple.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	text, err := s.store.Setting(ctx, h, steeple.SettingWelcomeText)
	if err != nil {
		return err
	}
	if text == "" {
		text = members.DefaultWelcomeText
	}
	id, err := s.msg.ReserveReply(ctx, h.TenantID())
	if err != nil {
		return err
	}
	created, err := s.store.CreateWelcome(ctx, h, memberID, store.OutboundDraft{ID: id, Purpose: purpose,
		CreatedBy: store.CreatedBySystem, Body: members.Render(text, m.FirstName, h.Tenant().Name)})
	if err != nil || !created || !dispatch {
		return err // an unused intent is dropped by the recovery sweep
	}
	s.dispatchHeld(ctx, h, id)
	return nil
}

// dispatchHeld queues a committed text that waits for the end of quiet
// hours. The queue runs on real time: hold for as long as the quiet hours
// last. The send job checks again (messaging.New's QuietWait), so one
// the recovery sweep queues waits too; a failure here is left to it.
func (s *Service) dispatchHeld(ctx context.Context, h *tenancy.Handle, id string) {
	wait, err := s.quietWait(ctx, h)
	if err != nil {
		s.log.Warn("held text not queued yet; the recovery sweep will", "tenant", h.TenantID(), "message", id, "err", err)
		return
	}
	var at time.Time
	if wait > 0 {
		at = time.Now().Add(wait)
	}
	s.msg.DispatchReplyAt(ctx, h.TenantID(), id, at)
}

// WelcomeArgs welcomes members in the background (an import opts in
// thousands at once).
type WelcomeArgs struct {
	TenantID  string   `json:"tenant_id"`
	MemberIDs []string `json:"member_ids"`
}

// Kind names the job.
func (WelcomeArgs) Kind() string { return "welcome" }

// InsertOpts retries a church briefly unreachable.
func (WelcomeArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 10} }

type welcomeWorker struct {
	river.WorkerDefaults[WelcomeArgs]
	svc *Service
}

func (w *welcomeWorker) Work(ctx context.Context, job *river.Job[WelcomeArgs]) error {
	h, err := w.svc.ten.Manager.Acquire(ctx, job.Args.TenantID)
	if c := steeple.ErrorCode(err); c == steeple.ENOTFOUND || c == steeple.ESUSPENDED {
		return nil
	}
	if err != nil {
		return err
	}
	defer h.Release()
	for _, id := range job.Args.MemberIDs {
		if err := w.svc.Welcome(ctx, h, id); err != nil {
			return err // welcomed ones are skipped on the retry
		}
	}
	return nil
}

// register adds the welcome and notice workers.
func (s *Service) register(w *river.Workers) {
	river.AddWorker(w, &welcomeWorker{svc: s})
	s.registerNotices(w)
}

// OptedIn welcomes members who just opted in, in the background, in jobs
// of 500. Called after the opt-in is committed; a failure to queue is
// logged (the members stay opted in, unwelcomed).
func (s *Service) OptedIn(ctx context.Context, h *tenancy.Handle, memberIDs []string) {
	if s.cfg.NoWelcome {
		return
	}
	for len(memberIDs) > 0 {
		n := min(len(memberIDs), 500)
		if _, err := s.queue.InsertTx(ctx, nil, []river.InsertManyParams{{Args: WelcomeArgs{TenantID: h.TenantID(),
			MemberIDs: memberIDs[:n]}}}); err != nil {
			s.log.Warn("welcome texts not queued", "tenant", h.TenantID(), "members", n, "err", err)
		}
		memberIDs = memberIDs[n:]
	}
}

func (s *Service) now() time.Time { return s.cfg.Now() }

// quietWait is how long a welcome text must wait for the end of the
// church's quiet hours on the service's clock (0 outside them).
func (s *Service) quietWait(ctx context.Context, h *tenancy.Handle) (time.Duration, error) {
	return schedule.QuietWait(ctx, s.store, h, s.now())
}

// OptedInPaced welcomes the members an import opted in, paced so that
// they use at most half of the church's remaining daily cap each day
// (members.PlanWelcomes); it returns the plan for the import's summary.
func (s *Service) OptedInPaced(ctx context.Context, h *tenancy.Handle, memberIDs []string) (*members.WelcomePlan, error) {
	if s.cfg.NoWelcome {
		return nil, nil
	}
	now := s.now()
	dailyCap, sent, err := s.msg.DailyCapToday(ctx, h, now)
	if err != nil {
		return nil, err
	}
	plan := members.PlanWelcomes(len(memberIDs), now, dailyCap, sent, schedule.Location(h))
	var params []river.InsertManyParams
	for _, b := range plan.Batches {
		for _, slot := range b.Slots {
			ids := memberIDs[:slot.Count]
			memberIDs = memberIDs[slot.Count:]
			for len(ids) > 0 {
				n := min(len(ids), 500)
				opts := &river.InsertOpts{MaxAttempts: 10}
				if slot.At.After(now) {
					// The queue runs on real time.
					opts.ScheduledAt = time.Now().Add(slot.At.Sub(now))
				}
				params = append(params, river.InsertManyParams{Args: WelcomeArgs{TenantID: h.TenantID(), MemberIDs: ids[:n]}, InsertOpts: opts})
				ids = ids[n:]
			}
		}
	}
	for len(params) > 0 {
		n := min(len(params), 1000)
		if _, err := s.queue.InsertTx(ctx, nil, params[:n]); err != nil {
			return nil, err
		}
		params = params[n:]
	}
	return plan, nil
}
