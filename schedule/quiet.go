package schedule

import (
	"context"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/members"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// QuietHours is a church's nightly window ("HH:MM" local times; the window
// may span midnight; equal times mean none).
type QuietHours struct{ Start, End string }

// Release returns when a send due at at may go: at itself outside the
// window, else the window's end.
func (q QuietHours) Release(at time.Time, loc *time.Location) time.Time {
	start, okS := minutes(q.Start)
	end, okE := minutes(q.End)
	if !okS || !okE || start == end {
		return at
	}
	local := at.In(loc)
	now := local.Hour()*60 + local.Minute()
	inside := (start < end && now >= start && now < end) || (start > end && (now >= start || now < end))
	if !inside {
		return at
	}
	day := local
	if start > end && now >= start {
		day = local.AddDate(0, 0, 1) // the window ends tomorrow morning
	}
	release := time.Date(day.Year(), day.Month(), day.Day(), end/60, end%60, 0, 0, loc)
	return springForward(release, end/60, end%60)
}

func minutes(hhmm string) (int, bool) {
	m := clock.FindStringSubmatch(hhmm)
	if m == nil {
		return 0, false
	}
	return atoi(m[1])*60 + atoi(m[2]), true
}

// ReadQuietHours returns the church's quiet hours (the defaults when
// unset). A free function rather than a method so that services built
// before the schedule service (messaging) can hold texts for them too.
func ReadQuietHours(ctx context.Context, st *store.Store, h *tenancy.Handle) (QuietHours, error) {
	q := QuietHours{Start: members.DefaultQuietStart, End: members.DefaultQuietEnd}
	for key, dst := range map[string]*string{steeple.SettingQuietStart: &q.Start, steeple.SettingQuietEnd: &q.End} {
		v, err := st.Setting(ctx, h, key)
		if err != nil {
			return q, err
		}
		if v != "" {
			*dst = v
		}
	}
	return q, nil
}

// QuietWait returns how long a text to be sent at now must wait for the
// end of the church's quiet hours (0 outside them).
func QuietWait(ctx context.Context, st *store.Store, h *tenancy.Handle, now time.Time) (time.Duration, error) {
	q, err := ReadQuietHours(ctx, st, h)
	if err != nil {
		return 0, err
	}
	return q.Release(now, Location(h)).Sub(now), nil
}
