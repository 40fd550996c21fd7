package schedule

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// RecurringInput is a recurring message as an admin enters it.
type RecurringInput struct {
	Name    string  `json:"name"`
	Rule    Rule    `json:"rule"`
	Message Message `json:"message"`
}

// RecurringUpdate changes a recurring message; absent fields stay.
type RecurringUpdate struct {
	Name    *string  `json:"name"`
	Rule    *Rule    `json:"rule"`
	Message *Message `json:"message"`
}

func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > 100 {
		return "", steeple.FieldError("name", "is required, at most 100 characters")
	}
	return name, nil
}

// CreateRecurring starts a recurring message. Errors: EINVALID, ENOTFOUND.
func (s *Service) CreateRecurring(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, in RecurringInput) (*View, error) {
	name, err := checkName(in.Name)
	if err != nil {
		return nil, err
	}
	if err := in.Rule.Validate(); err != nil {
		return nil, err
	}
	warnings, err := s.check(ctx, h, in.Message)
	if err != nil {
		return nil, err
	}
	sc := &store.Schedule{ID: steeple.NewID(), Kind: steeple.ScheduleRecurring, Status: steeple.ScheduleActive, Name: name,
		Rule: mustJSON(in.Rule), Message: mustJSON(in.Message), CreatedBy: admin.ID}
	o, err := in.Rule.Next(s.cfg.Now(), Location(h))
	if err != nil {
		return nil, err
	}
	if err := s.arm(ctx, h, sc, o); err != nil {
		return nil, err
	}
	return withWarnings(s.Recurring(ctx, h, sc.ID))(warnings)
}

// Recurring returns a recurring message with its next occurrences and
// latest runs. Errors: ENOTFOUND.
func (s *Service) Recurring(ctx context.Context, h *tenancy.Handle, id string) (*View, error) {
	sc, err := s.scheduled(ctx, h, id, steeple.ScheduleRecurring)
	if err != nil {
		return nil, err
	}
	v, err := s.view(h, sc)
	if err != nil {
		return nil, err
	}
	if sc.Status == steeple.ScheduleActive && sc.NextAt != nil {
		v.Upcoming = append(v.Upcoming, *sc.NextAt)
		more, err := v.Rule.Upcoming(*sc.NextAt, Location(h), 4)
		if err != nil {
			return nil, err
		}
		for _, o := range more {
			v.Upcoming = append(v.Upcoming, o.At.UTC())
		}
	}
	if v.Runs, err = s.store.ScheduleRuns(ctx, h, id, 10); err != nil {
		return nil, err
	}
	return v, nil
}

// UpdateRecurring edits a recurring message; a new rule takes effect from
// now. Errors: EINVALID, ENOTFOUND.
func (s *Service) UpdateRecurring(ctx context.Context, h *tenancy.Handle, id string, u RecurringUpdate) (*View, error) {
	sc, err := s.scheduled(ctx, h, id, steeple.ScheduleRecurring)
	if err != nil {
		return nil, err
	}
	if err := editable(sc); err != nil {
		return nil, err
	}
	if u.Name != nil {
		if sc.Name, err = checkName(*u.Name); err != nil {
			return nil, err
		}
	}
	var warnings []string
	if u.Message != nil {
		if warnings, err = s.check(ctx, h, *u.Message); err != nil {
			return nil, err
		}
		sc.Message = mustJSON(*u.Message)
	}
	if u.Rule != nil {
		if err := u.Rule.Validate(); err != nil {
			return nil, err
		}
		sc.Rule = mustJSON(*u.Rule)
	}
	if sc.Status == steeple.ScheduleActive && u.Rule != nil {
		o, err := u.Rule.Next(s.cfg.Now(), Location(h))
		if err != nil {
			return nil, err
		}
		err = s.arm(ctx, h, sc, o)
	} else {
		err = s.store.SaveSchedule(ctx, h, sc)
	}
	if err != nil {
		return nil, err
	}
	return withWarnings(s.Recurring(ctx, h, id))(warnings)
}

// PauseRecurring stops a recurring message until resumed. Errors: ENOTFOUND.
func (s *Service) PauseRecurring(ctx context.Context, h *tenancy.Handle, id string) (*View, error) {
	sc, err := s.scheduled(ctx, h, id, steeple.ScheduleRecurring)
	if err != nil {
		return nil, err
	}
	if err := editable(sc); err != nil {
		return nil, err
	}
	if err := s.disarm(ctx, h, sc, steeple.SchedulePaused); err != nil {
		return nil, err
	}
	return s.Recurring(ctx, h, id)
}

// ResumeRecurring restarts a paused message from its next occurrence after
// now (those missed while paused are not sent). Errors: ENOTFOUND.
func (s *Service) ResumeRecurring(ctx context.Context, h *tenancy.Handle, id string) (*View, error) {
	sc, err := s.scheduled(ctx, h, id, steeple.ScheduleRecurring)
	if err != nil {
		return nil, err
	}
	if sc.Status == steeple.ScheduleActive {
		return s.Recurring(ctx, h, id) // running already
	}
	if err := editable(sc); err != nil {
		return nil, err
	}
	var r Rule
	if err := json.Unmarshal(sc.Rule, &r); err != nil {
		return nil, err
	}
	// Past the occurrence fired last (not NextKey, the one armed when it was
	// paused: resuming before that one keeps it).
	runs, err := s.store.ScheduleRuns(ctx, h, id, 1)
	if err != nil {
		return nil, err
	}
	last := ""
	if len(runs) > 0 {
		last = runs[0].Occurrence
	}
	o, err := r.NextAfter(s.cfg.Now(), last, Location(h))
	if err != nil {
		return nil, err
	}
	sc.Status = steeple.ScheduleActive
	if err := s.arm(ctx, h, sc, o); err != nil {
		return nil, err
	}
	return s.Recurring(ctx, h, id)
}

// DeleteRecurring ends a recurring message. Errors: ENOTFOUND.
func (s *Service) DeleteRecurring(ctx context.Context, h *tenancy.Handle, id string) error {
	sc, err := s.scheduled(ctx, h, id, steeple.ScheduleRecurring)
	if err != nil {
		return err
	}
	if err := editable(sc); err != nil {
		return err
	}
	return s.disarm(ctx, h, sc, steeple.ScheduleCancelled)
}
