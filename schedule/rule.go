// Package schedule fires a church's scheduled and recurring messages at
// the right local time, exactly once however many processes run, and holds
// sends that fall in the church's quiet hours.
package schedule

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
)

// Frequencies of a recurring message.
const (
	Daily   = "daily"
	Weekly  = "weekly"
	Monthly = "monthly"
)

// Rule says when a recurring message repeats, in the church's timezone.
type Rule struct {
	Frequency string `json:"frequency"` // daily, weekly, monthly
	// Time is the local time of day, "HH:MM" (24-hour).
	Time string `json:"time"`
	// Weekdays are the days of a weekly rule: "sunday" … "saturday".
	Weekdays []string `json:"weekdays,omitempty"`
	// DayOfMonth (1–31) is a monthly rule's day; a month without that day
	// (the 31st in April) fires on its last day.
	DayOfMonth int `json:"day_of_month,omitempty"`
	// Ordinal ("first" … "fourth", "last") with Weekday is a monthly rule's
	// "second Sunday"; give either this or DayOfMonth.
	Ordinal string `json:"ordinal,omitempty"`
	Weekday string `json:"weekday,omitempty"`
}

var (
	clock     = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])$`)
	weekdays  = map[string]time.Weekday{"sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6}
	ordinals  = map[string]int{"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
	maxSearch = 400 // days: every rule fires at least once a month
)

// Validate checks a rule, naming the bad fields.
func (r Rule) Validate() error {
	fe := map[string]string{}
	if !clock.MatchString(r.Time) {
		fe["time"] = `must be "HH:MM" (24-hour)`
	}
	switch r.Frequency {
	case Daily:
	case Weekly:
		if len(r.Weekdays) == 0 {
			fe["weekdays"] = "at least one day, e.g. [\"sunday\"]"
		}
		for _, d := range r.Weekdays {
			if _, ok := weekdays[strings.ToLower(d)]; !ok {
				fe["weekdays"] = fmt.Sprintf("%q is not a day (sunday … saturday)", d)
			}
		}
	case Monthly:
		_, okOrd := ordinals[strings.ToLower(r.Ordinal)]
		_, okDay := weekdays[strings.ToLower(r.Weekday)]
		switch {
		case r.DayOfMonth != 0 && (r.Ordinal != "" || r.Weekday != ""):
			fe["day_of_month"] = "give day_of_month, or ordinal with weekday, not both"
		case r.DayOfMonth != 0 && (r.DayOfMonth < 1 || r.DayOfMonth > 31):
			fe["day_of_month"] = "must be 1 to 31"
		case r.DayOfMonth == 0 && !(okOrd && okDay):
			fe["ordinal"] = "give day_of_month (1–31), or ordinal (first … fourth, last) with weekday"
		}
	default:
		fe["frequency"] = "must be daily, weekly or monthly"
	}
	if len(fe) > 0 {
		return &steeple.Error{Code: steeple.EINVALID, Message: "the schedule is invalid", Fields: fe}
	}
	return nil
}

// Occurrence is one firing: its key (the local date and time it is for,
// unique per rule, so a repeated wall-clock hour never fires twice) and
// the instant it fires.
type Occurrence struct {
	Key string
	At  time.Time
}

// Next returns the first occurrence strictly after after, in loc. A local
// time that does not exist (clocks spring forward) fires shifted by the gap
// (02:30 becomes 03:30), so it is never skipped; one that exists twice
// (clocks fall back) fires once.
func (r Rule) Next(after time.Time, loc *time.Location) (Occurrence, error) {
	return r.NextAfter(after, "", loc)
}

// NextAfter is Next, also past lastKey, the occurrence fired last: after
// the first 01:30 of a night the clocks fall back, the second 01:30 has the
// same key and is not a new occurrence.
func (r Rule) NextAfter(after time.Time, lastKey string, loc *time.Location) (Occurrence, error) {
	if err := r.Validate(); err != nil {
		return Occurrence{}, err
	}
	m := clock.FindStringSubmatch(r.Time)
	hh, mm := atoi(m[1]), atoi(m[2])
	local := after.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC) // calendar arithmetic in UTC
	for i := 0; i <= maxSearch; i++ {
		d := day.AddDate(0, 0, i)
		if !r.fallsOn(d) {
			continue
		}
		at := springForward(time.Date(d.Year(), d.Month(), d.Day(), hh, mm, 0, 0, loc), hh, mm)
		key := d.Format(time.DateOnly) + "T" + r.Time
		if at.After(after) && key > lastKey {
			return Occurrence{Key: key, At: at}, nil
		}
	}
	return Occurrence{}, fmt.Errorf("schedule: no occurrence within %d days", maxSearch)
}

// Upcoming lists the next n occurrences after after.
func (r Rule) Upcoming(after time.Time, loc *time.Location, n int) ([]Occurrence, error) {
	var out []Occurrence
	for len(out) < n {
		o, err := r.Next(after, loc)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
		after = o.At
	}
	return out, nil
}

// fallsOn reports whether the rule fires on calendar day d (a UTC midnight
// standing for a local date).
func (r Rule) fallsOn(d time.Time) bool {
	switch r.Frequency {
	case Daily:
		return true
	case Weekly:
		return slices.ContainsFunc(r.Weekdays, func(w string) bool { return weekdays[strings.ToLower(w)] == d.Weekday() })
	}
	last := time.Date(d.Year(), d.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
	if r.DayOfMonth != 0 {
		return d.Day() == min(r.DayOfMonth, last)
	}
	if d.Weekday() != weekdays[strings.ToLower(r.Weekday)] {
		return false
	}
	if n := ordinals[strings.ToLower(r.Ordinal)]; n > 0 {
		return (d.Day()-1)/7+1 == n
	}
	return d.Day()+7 > last // the last such weekday of the month
}

// springForward moves a local time that does not exist (it falls in the
// gap when clocks spring forward, and time.Date read it with the offset
// from before) past the gap: 02:30 on such a night fires at 03:30.
func springForward(at time.Time, hh, mm int) time.Time {
	if at.Hour() == hh && at.Minute() == mm {
		return at
	}
	_, before := at.Zone()
	_, after := at.Add(6 * time.Hour).Zone()
	return at.Add(time.Duration(after-before) * time.Second)
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
