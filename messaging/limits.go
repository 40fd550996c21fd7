package messaging

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// limits are what a church may send: messages per second from a number and
// texts per day in the church's timezone (0: no cap). They follow its 10DLC registration.
type limits struct {
	rate     float64
	dailyCap int
	// The conservative limits, for a number not (yet) assigned to the
	// church's provisioned campaign: carriers filter its traffic as
	// unregistered.
	unassigned *limits
}

// from returns the limits of a text from a number assigned to the church's
// campaign, or not.
func (l limits) from(assigned bool) limits {
	if l.unassigned != nil && !assigned {
		return *l.unassigned
	}
	l.unassigned = nil
	return l
}

// limits reads them: a church whose campaign is provisioned sends at the
// registered rate with no daily cap from its numbers assigned to the
// campaign (see from); any other text goes at the conservative rate and
// cap. The church's send_rate_per_second setting may only lower the rate.
func (s *Service) limits(ctx context.Context, h *tenancy.Handle) (limits, error) {
	conservative := limits{rate: s.cfg.PerNumberRate, dailyCap: s.cfg.UnregisteredDailyCap}
	l := conservative
	reg, err := s.store.Registration(ctx, h)
	switch {
	case err == nil && reg.Status == steeple.RegProvisioned:
		l = limits{rate: s.cfg.RegisteredRate, unassigned: &conservative}
	case err != nil && steeple.ErrorCode(err) != steeple.ENOTFOUND:
		return l, err
	}
	v, err := s.store.Setting(ctx, h, steeple.SettingSendRate)
	if err != nil {
		return l, err
	}
	if r, err := strconv.ParseFloat(v, 64); err == nil && r > 0 {
		l.rate = min(l.rate, r)
		conservative.rate = min(conservative.rate, r)
	}
	return l, nil
}

// atCap says the church has sent its texts for the day; the job waits,
// its remaining texts still queued, until the church's next local day or until it is
// time to look again whether the church's campaign lifted the cap.
type atCap struct{ until time.Duration }

func (e atCap) Error() string { return "daily cap reached" }

// takeDaily counts one text against the church's daily cap.
func (s *Service) takeDaily(ctx context.Context, hh *handleHolder, limit int) error {
	h, err := hh.get(ctx)
	if err != nil {
		return err
	}
	// The day is the church's own: its office counts texts from its
	// midnight, not from UTC's.
	now := s.now().In(ChurchLocation(h))
	ok, err := s.store.TakeDailySend(ctx, h, now.Format(time.DateOnly), limit)
	if err != nil || ok {
		return err
	}
	y, m, d := now.Date()
	wait := time.Date(y, m, d+1, 0, 0, 0, 0, now.Location()).Sub(now) + time.Second
	if s.cfg.CapRecheck > 0 {
		wait = min(wait, s.cfg.CapRecheck)
	}
	return atCap{until: wait}
}

// snoozeAtCap turns a reached cap into a job snooze.
func snoozeAtCap(err error) error {
	var c atCap
	if errors.As(err, &c) {
		return river.JobSnooze(c.until)
	}
	return err
}

// ChurchLocation is the church's timezone (UTC if it names none known).
func ChurchLocation(h *tenancy.Handle) *time.Location {
	if loc, err := time.LoadLocation(h.Tenant().Timezone); err == nil {
		return loc
	}
	return time.UTC
}

// now is the service's clock (Config.Now, the wall clock by default).
func (s *Service) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// DailyCapToday is the church's daily cap (0: none) and how many texts
// it has sent today (the church's day), for pacing work that should leave room under the
// cap (an import's welcome texts).
func (s *Service) DailyCapToday(ctx context.Context, h *tenancy.Handle, now time.Time) (dailyCap, sent int, err error) {
	l, err := s.limits(ctx, h)
	if err != nil || l.dailyCap == 0 {
		return 0, 0, err
	}
	sent, err = s.store.DailySent(ctx, h, now.In(ChurchLocation(h)).Format(time.DateOnly))
	return l.dailyCap, sent, err
}
