package schedule

import (
	"context"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// checkSendAt accepts a time in the future, within MaxAhead.
func (s *Service) checkSendAt(at time.Time) error {
	now := s.cfg.Now()
	switch {
	case !at.After(now):
		return steeple.FieldError("send_at", "must be in the future")
	case at.After(now.Add(s.cfg.MaxAhead)):
		return steeple.FieldError("send_at", "must be within a year")
	}
	return nil
}

// onceKey names the one occurrence of a scheduled broadcast.
func onceKey(at time.Time) string { return at.UTC().Format(time.RFC3339) }

// ScheduleBroadcast schedules a broadcast for sendAt. Its audience is
// resolved when it is sent. Errors: EINVALID, ENOTFOUND (ids).
func (s *Service) ScheduleBroadcast(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, r Message, sendAt time.Time) (*View, error) {
	if err := s.checkSendAt(sendAt); err != nil {
		return nil, err
	}
	warnings, err := s.check(ctx, h, r)
	if err != nil {
		return nil, err
	}
	sc := &store.Schedule{ID: steeple.NewID(), Kind: steeple.ScheduleOnce, Status: steeple.ScheduleActive, Message: mustJSON(r),
		CreatedBy: admin.ID}
	at := sendAt.UTC()
	sc.SendAt = &at
	if err := s.arm(ctx, h, sc, Occurrence{Key: onceKey(at), At: at}); err != nil {
		return nil, err
	}
	return withWarnings(s.view(h, sc))(warnings)
}

// withWarnings adds warnings to a view.
func withWarnings(v *View, err error) func([]string) (*View, error) {
	return func(w []string) (*View, error) {
		if v != nil {
			v.Warnings = w
		}
		return v, err
	}
}

// ScheduledUpdate changes a scheduled broadcast; absent fields stay.
type ScheduledUpdate struct {
	// SendAt without an offset is the church's local time.
	SendAt  *SendTime `json:"send_at"`
	Message *Message  `json:"message"`
}

// scheduled loads a schedule of a kind. Errors: ENOTFOUND.
func (s *Service) scheduled(ctx context.Context, h *tenancy.Handle, id string, kind steeple.ScheduleKind) (*store.Schedule, error) {
	sc, err := s.store.Schedule(ctx, h, id)
	if err != nil {
		return nil, err
	}
	if sc.Kind != kind || sc.Status == steeple.ScheduleCancelled {
		return nil, notFound("schedule")
	}
	return sc, nil
}

// UpdateScheduled edits a scheduled broadcast until it is sent.
// Errors: EINVALID, ENOTFOUND, ECONFLICT once it has been sent.
func (s *Service) UpdateScheduled(ctx context.Context, h *tenancy.Handle, id string, u ScheduledUpdate) (*View, error) {
	sc, err := s.scheduled(ctx, h, id, steeple.ScheduleOnce)
	if err != nil {
		return nil, err
	}
	if sc.Status != steeple.ScheduleActive {
		return nil, steeple.Errorf(steeple.ECONFLICT, "this broadcast was sent already")
	}
	if err := editable(sc); err != nil {
		return nil, err
	}
	var warnings []string
	if u.Message != nil {
		if warnings, err = s.check(ctx, h, *u.Message); err != nil {
			return nil, err
		}
		sc.Message = mustJSON(*u.Message)
	}
	at := *sc.SendAt
	if u.SendAt != nil {
		t, err := u.SendAt.In(Location(h))
		if err != nil {
			return nil, err
		}
		if err := s.checkSendAt(t); err != nil {
			return nil, err
		}
		at = t.UTC()
		sc.SendAt = &at
	}
	if err := s.arm(ctx, h, sc, Occurrence{Key: onceKey(at), At: at}); err != nil {
		return nil, err
	}
	return withWarnings(s.view(h, sc))(warnings)
}

// CancelScheduled cancels a scheduled broadcast not yet sent. Errors:
// ENOTFOUND, ECONFLICT once it has been sent.
func (s *Service) CancelScheduled(ctx context.Context, h *tenancy.Handle, id string) error {
	sc, err := s.scheduled(ctx, h, id, steeple.ScheduleOnce)
	if err != nil {
		return err
	}
	if sc.Status != steeple.ScheduleActive {
		return steeple.Errorf(steeple.ECONFLICT, "this broadcast was sent already")
	}
	if err := editable(sc); err != nil {
		return err
	}
	return s.disarm(ctx, h, sc, steeple.ScheduleCancelled)
}

// List returns a kind's schedules (active and paused).
func (s *Service) List(ctx context.Context, h *tenancy.Handle, kind steeple.ScheduleKind) ([]*View, error) {
	scs, err := s.store.Schedules(ctx, h, kind)
	if err != nil {
		return nil, err
	}
	out := make([]*View, 0, len(scs))
	for _, sc := range scs {
		v, err := s.view(h, sc)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
