package schedule_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/schedule"
)

// The rules are driven by a movable clock: each test passes the instant
// "now" is, and walks from one occurrence to the next as the scheduler does
// (NextAfter the occurrence just fired, with its key).

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("timezone %s: %v", name, err)
	}
	return loc
}

// at is a local wall-clock time in loc (the instant Go picks if ambiguous).
func at(loc *time.Location, y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, loc)
}

// walk returns the occurrences after from until (exclusive), moving as the
// scheduler does: each next one after the last one fired, past its key.
func walk(t *testing.T, r schedule.Rule, loc *time.Location, from, until time.Time) []schedule.Occurrence {
	t.Helper()
	var out []schedule.Occurrence
	now, last := from, ""
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatalf("walk did not reach %v", until)
		}
		o, err := r.NextAfter(now, last, loc)
		if err != nil {
			t.Fatalf("NextAfter(%v, %q): %v", now, last, err)
		}
		if !o.At.After(now) {
			t.Fatalf("NextAfter(%v, %q) = %v: not after now", now, last, o.At)
		}
		if o.Key <= last {
			t.Fatalf("NextAfter(%v, %q) = key %q: not past the last key", now, last, o.Key)
		}
		if !o.At.Before(until) {
			return out
		}
		out = append(out, o)
		now, last = o.At, o.Key
	}
}

// local formats an occurrence as "key @ local wall time and zone".
func local(o schedule.Occurrence, loc *time.Location) string {
	return o.Key + " @ " + o.At.In(loc).Format("2006-01-02 15:04 MST")
}

func wantOccurrences(t *testing.T, got []schedule.Occurrence, loc *time.Location, want ...string) {
	t.Helper()
	var g []string
	for _, o := range got {
		g = append(g, local(o, loc))
	}
	if strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Fatalf("occurrences:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
}

// onePerDay checks a daily rule fired exactly once on each local date in
// the walk, with increasing instants.
func onePerDay(t *testing.T, got []schedule.Occurrence, days int) {
	t.Helper()
	if len(got) != days {
		t.Fatalf("%d occurrences over %d days", len(got), days)
	}
	seen := map[string]bool{}
	for i, o := range got {
		date := o.Key[:10]
		if seen[date] {
			t.Fatalf("two occurrences on %s", date)
		}
		seen[date] = true
		if i > 0 && !o.At.After(got[i-1].At) {
			t.Fatalf("occurrence %s is not after %s", o.Key, got[i-1].Key)
		}
	}
}

func TestDailyAcrossSpringForward(t *testing.T) {
	t.Parallel()
	cases := []struct {
		zone   string
		time   string
		from   [3]int // y, m, d local
		want   []string
		reason string
	}{
		{"America/Chicago", "02:30", [3]int{2026, 3, 6}, []string{
			"2026-03-06T02:30 @ 2026-03-06 02:30 CST",
			"2026-03-07T02:30 @ 2026-03-07 02:30 CST",
			"2026-03-08T02:30 @ 2026-03-08 03:30 CDT", // 02:00 → 03:00: 02:30 does not exist
			"2026-03-09T02:30 @ 2026-03-09 02:30 CDT",
			"2026-03-10T02:30 @ 2026-03-10 02:30 CDT",
		}, "Chicago springs forward at 02:00 on 8 March 2026"},
		{"Europe/London", "01:30", [3]int{2026, 3, 27}, []string{
			"2026-03-27T01:30 @ 2026-03-27 01:30 GMT",
			"2026-03-28T01:30 @ 2026-03-28 01:30 GMT",
			"2026-03-29T01:30 @ 2026-03-29 02:30 BST", // 01:00 → 02:00
			"2026-03-30T01:30 @ 2026-03-30 01:30 BST",
			"2026-03-31T01:30 @ 2026-03-31 01:30 BST",
		}, "London springs forward at 01:00 on 29 March 2026"},
		{"Australia/Sydney", "02:30", [3]int{2026, 10, 2}, []string{
			"2026-10-02T02:30 @ 2026-10-02 02:30 AEST",
			"2026-10-03T02:30 @ 2026-10-03 02:30 AEST",
			"2026-10-04T02:30 @ 2026-10-04 03:30 AEDT", // 02:00 → 03:00
			"2026-10-05T02:30 @ 2026-10-05 02:30 AEDT",
			"2026-10-06T02:30 @ 2026-10-06 02:30 AEDT",
		}, "Sydney springs forward at 02:00 on 4 October 2026"},
	}
	for _, c := range cases {
		t.Run(c.zone, func(t *testing.T) {
			loc := zone(t, c.zone)
			r := schedule.Rule{Frequency: schedule.Daily, Time: c.time}
			from := at(loc, c.from[0], time.Month(c.from[1]), c.from[2], 0, 0)
			got := walk(t, r, loc, from, from.AddDate(0, 0, 5))
			wantOccurrences(t, got, loc, c.want...)
			onePerDay(t, got, 5)
			// Shifted, not skipped: it fires at the instant the wall time
			// would have had without the change, 24 hours after the day before.
			if d := got[2].At.Sub(got[1].At); d != 24*time.Hour {
				t.Errorf("%s: the gap day's occurrence is %v after the day before; want 24h (fired at the same instant it would have had no DST change)", c.reason, d)
			}
		})
	}
}

func TestDailyAcrossFallBack(t *testing.T) {
	t.Parallel()
	cases := []struct {
		zone string
		time string
		from [3]int
		day  string // the date the clocks fall back
	}{
		{"America/Chicago", "01:30", [3]int{2026, 10, 30}, "2026-11-01"},
		{"Europe/London", "01:30", [3]int{2026, 10, 23}, "2026-10-25"},
		{"Australia/Sydney", "02:30", [3]int{2026, 4, 3}, "2026-04-05"},
	}
	for _, c := range cases {
		t.Run(c.zone, func(t *testing.T) {
			loc := zone(t, c.zone)
			r := schedule.Rule{Frequency: schedule.Daily, Time: c.time}
			from := at(loc, c.from[0], time.Month(c.from[1]), c.from[2], 0, 0)
			got := walk(t, r, loc, from, from.AddDate(0, 0, 5))
			onePerDay(t, got, 5)
			var onDay []schedule.Occurrence
			for _, o := range got {
				if o.Key[:10] == c.day {
					onDay = append(onDay, o)
				}
				if hm := o.At.In(loc).Format("15:04"); hm != c.time {
					t.Errorf("%s fired at %s local; want %s (the wall time exists twice, not never)", o.Key, hm, c.time)
				}
			}
			if len(onDay) != 1 {
				t.Fatalf("%d occurrences on %s, the night the clocks fall back; want exactly 1", len(onDay), c.day)
			}
			o := onDay[0]
			// Both instants that read c.time that night: an hour apart.
			hh, mm := atoiPair(c.time)
			d, _ := time.Parse(time.DateOnly, c.day)
			var instants []time.Time
			for u := time.Date(d.Year(), d.Month(), d.Day()-1, 0, 0, 0, 0, time.UTC); u.Before(time.Date(d.Year(), d.Month(), d.Day()+1, 12, 0, 0, 0, time.UTC)); u = u.Add(time.Minute) {
				l := u.In(loc)
				if l.Format(time.DateOnly) == c.day && l.Hour() == hh && l.Minute() == mm {
					instants = append(instants, u)
				}
			}
			if len(instants) != 2 || instants[1].Sub(instants[0]) != time.Hour {
				t.Fatalf("test setup: %s %s should exist twice in %s, got %v", c.day, c.time, c.zone, instants)
			}
			if !o.At.Equal(instants[0]) && !o.At.Equal(instants[1]) {
				t.Fatalf("fired at %v, neither of %v", o.At, instants)
			}
			// A scheduler that fired the occurrence at either instant and asks
			// again, even before the other one, gets the next day, not the
			// repeated hour.
			for _, now := range []time.Time{instants[0], instants[0].Add(30 * time.Minute), instants[1]} {
				next, err := r.NextAfter(now, o.Key, loc)
				if err != nil {
					t.Fatal(err)
				}
				if next.Key[:10] == c.day {
					t.Fatalf("NextAfter(%v, %q) = %s: the repeated hour fired again", now, o.Key, local(next, loc))
				}
			}
			// The key guards it even when asked from before the occurrence.
			next, err := r.NextAfter(o.At.Add(-2*time.Hour), o.Key, loc)
			if err != nil {
				t.Fatal(err)
			}
			if next.Key == o.Key || next.Key[:10] == c.day {
				t.Fatalf("NextAfter(before, %q) = %s: want the next day", o.Key, local(next, loc))
			}
			// Upcoming (no key) does not list the night twice either.
			up, err := r.Upcoming(from, loc, 5)
			if err != nil {
				t.Fatal(err)
			}
			onePerDay(t, up, 5)
		})
	}
}

func atoiPair(hhmm string) (int, int) {
	var hh, mm int
	_, _ = fmt.Sscanf(hhmm, "%d:%d", &hh, &mm)
	return hh, mm
}

func TestWeekly(t *testing.T) {
	t.Parallel()
	t.Run("Chicago Mon Wed Fri 18:00 across spring forward", func(t *testing.T) {
		loc := zone(t, "America/Chicago")
		r := schedule.Rule{Frequency: schedule.Weekly, Time: "18:00", Weekdays: []string{"friday", "Monday", "wednesday"}}
		from := at(loc, 2026, 3, 1, 12, 0) // a Sunday
		wantOccurrences(t, walk(t, r, loc, from, from.AddDate(0, 0, 14)), loc,
			"2026-03-02T18:00 @ 2026-03-02 18:00 CST",
			"2026-03-04T18:00 @ 2026-03-04 18:00 CST",
			"2026-03-06T18:00 @ 2026-03-06 18:00 CST",
			"2026-03-09T18:00 @ 2026-03-09 18:00 CDT",
			"2026-03-11T18:00 @ 2026-03-11 18:00 CDT",
			"2026-03-13T18:00 @ 2026-03-13 18:00 CDT",
		)
	})
	t.Run("Chicago Sunday 02:30 on the spring-forward Sunday and the fall-back Sunday", func(t *testing.T) {
		loc := zone(t, "America/Chicago")
		r := schedule.Rule{Frequency: schedule.Weekly, Time: "02:30", Weekdays: []string{"sunday"}}
		wantOccurrences(t, walk(t, r, loc, at(loc, 2026, 2, 28, 0, 0), at(loc, 2026, 3, 20, 0, 0)), loc,
			"2026-03-01T02:30 @ 2026-03-01 02:30 CST",
			"2026-03-08T02:30 @ 2026-03-08 03:30 CDT",
			"2026-03-15T02:30 @ 2026-03-15 02:30 CDT",
		)
		r.Time = "01:30"
		wantOccurrences(t, walk(t, r, loc, at(loc, 2026, 10, 24, 0, 0), at(loc, 2026, 11, 14, 0, 0)), loc,
			"2026-10-25T01:30 @ 2026-10-25 01:30 CDT",
			"2026-11-01T01:30 @ 2026-11-01 01:30 CDT",
			"2026-11-08T01:30 @ 2026-11-08 01:30 CST",
		)
	})
	t.Run("London Sunday and Saturday 01:30 across both changes", func(t *testing.T) {
		loc := zone(t, "Europe/London")
		r := schedule.Rule{Frequency: schedule.Weekly, Time: "01:30", Weekdays: []string{"saturday", "sunday"}}
		wantOccurrences(t, walk(t, r, loc, at(loc, 2026, 3, 27, 0, 0), at(loc, 2026, 4, 6, 0, 0)), loc,
			"2026-03-28T01:30 @ 2026-03-28 01:30 GMT",
			"2026-03-29T01:30 @ 2026-03-29 02:30 BST",
			"2026-04-04T01:30 @ 2026-04-04 01:30 BST",
			"2026-04-05T01:30 @ 2026-04-05 01:30 BST",
		)
		got := walk(t, r, loc, at(loc, 2026, 10, 23, 0, 0), at(loc, 2026, 11, 2, 0, 0))
		if len(got) != 4 || got[1].Key != "2026-10-25T01:30" || got[1].At.In(loc).Format("15:04") != "01:30" {
			t.Fatalf("fall back weekend: %v", got)
		}
	})
}

func TestMonthlyDayOfMonth(t *testing.T) {
	t.Parallel()
	loc := zone(t, "America/Chicago")
	r := schedule.Rule{Frequency: schedule.Monthly, Time: "09:00", DayOfMonth: 31}
	got := walk(t, r, loc, at(loc, 2026, 1, 1, 0, 0), at(loc, 2027, 1, 1, 0, 0))
	var days []string
	for _, o := range got {
		days = append(days, o.Key[:10])
		if o.At.In(loc).Format("15:04") != "09:00" {
			t.Errorf("%s at %v", o.Key, o.At.In(loc))
		}
	}
	want := "2026-01-31 2026-02-28 2026-03-31 2026-04-30 2026-05-31 2026-06-30 2026-07-31 2026-08-31 2026-09-30 2026-10-31 2026-11-30 2026-12-31"
	if strings.Join(days, " ") != want {
		t.Fatalf("day 31 fires on\n%s\nwant\n%s", strings.Join(days, " "), want)
	}
	// A leap year's February has its 29th.
	got = walk(t, r, loc, at(loc, 2028, 1, 15, 0, 0), at(loc, 2028, 4, 1, 0, 0))
	wantOccurrences(t, got, loc,
		"2028-01-31T09:00 @ 2028-01-31 09:00 CST",
		"2028-02-29T09:00 @ 2028-02-29 09:00 CST",
		"2028-03-31T09:00 @ 2028-03-31 09:00 CDT",
	)
	r.DayOfMonth = 29
	got = walk(t, r, loc, at(loc, 2027, 1, 1, 0, 0), at(loc, 2027, 4, 1, 0, 0))
	wantOccurrences(t, got, loc,
		"2027-01-29T09:00 @ 2027-01-29 09:00 CST",
		"2027-02-28T09:00 @ 2027-02-28 09:00 CST",
		"2027-03-29T09:00 @ 2027-03-29 09:00 CDT",
	)
	// Day 8 at 02:30 is the spring-forward night in Chicago in March 2026.
	r = schedule.Rule{Frequency: schedule.Monthly, Time: "02:30", DayOfMonth: 8}
	got = walk(t, r, loc, at(loc, 2026, 2, 1, 0, 0), at(loc, 2026, 4, 1, 0, 0))
	wantOccurrences(t, got, loc,
		"2026-02-08T02:30 @ 2026-02-08 02:30 CST",
		"2026-03-08T02:30 @ 2026-03-08 03:30 CDT",
	)
	// The next one strictly after an occurrence is the next month's.
	o, err := r.Next(got[1].At, loc)
	if err != nil || o.Key != "2026-04-08T02:30" {
		t.Fatalf("Next after the March occurrence: %v %v", o, err)
	}
	// London: day 29 at 01:30 falls in the gap on 29 March 2026 (fires at
	// 02:30 BST); day 25 at 01:30 is the repeated hour on 25 October 2026
	// (fires once).
	london := zone(t, "Europe/London")
	r = schedule.Rule{Frequency: schedule.Monthly, Time: "01:30", DayOfMonth: 29}
	wantOccurrences(t, walk(t, r, london, at(london, 2026, 2, 1, 0, 0), at(london, 2026, 5, 1, 0, 0)), london,
		"2026-02-28T01:30 @ 2026-02-28 01:30 GMT",
		"2026-03-29T01:30 @ 2026-03-29 02:30 BST",
		"2026-04-29T01:30 @ 2026-04-29 01:30 BST",
	)
	r.DayOfMonth = 25
	got = walk(t, r, london, at(london, 2026, 9, 1, 0, 0), at(london, 2026, 12, 1, 0, 0))
	if len(got) != 3 || got[1].Key != "2026-10-25T01:30" {
		t.Fatalf("day 25 01:30 London, September to November: %v; want one occurrence a month", got)
	}
	if s := local(got[1], london); s != "2026-10-25T01:30 @ 2026-10-25 01:30 BST" && s != "2026-10-25T01:30 @ 2026-10-25 01:30 GMT" {
		t.Fatalf("the fall-back night's occurrence: %s", s)
	}
}

func TestMonthlyOrdinalWeekday(t *testing.T) {
	t.Parallel()
	chicago, london, sydney := zone(t, "America/Chicago"), zone(t, "Europe/London"), zone(t, "Australia/Sydney")
	t.Run("second Sunday 02:30 Chicago (March's is the spring-forward night)", func(t *testing.T) {
		r := schedule.Rule{Frequency: schedule.Monthly, Time: "02:30", Ordinal: "second", Weekday: "sunday"}
		wantOccurrences(t, walk(t, r, chicago, at(chicago, 2026, 1, 1, 0, 0), at(chicago, 2026, 6, 1, 0, 0)), chicago,
			"2026-01-11T02:30 @ 2026-01-11 02:30 CST",
			"2026-02-08T02:30 @ 2026-02-08 02:30 CST",
			"2026-03-08T02:30 @ 2026-03-08 03:30 CDT",
			"2026-04-12T02:30 @ 2026-04-12 02:30 CDT",
			"2026-05-10T02:30 @ 2026-05-10 02:30 CDT",
		)
	})
	t.Run("last Friday 19:00 London", func(t *testing.T) {
		r := schedule.Rule{Frequency: schedule.Monthly, Time: "19:00", Ordinal: "last", Weekday: "Friday"}
		got := walk(t, r, london, at(london, 2026, 1, 1, 0, 0), at(london, 2027, 1, 1, 0, 0))
		var days []string
		for _, o := range got {
			days = append(days, o.Key[:10])
		}
		want := "2026-01-30 2026-02-27 2026-03-27 2026-04-24 2026-05-29 2026-06-26 2026-07-31 2026-08-28 2026-09-25 2026-10-30 2026-11-27 2026-12-25"
		if strings.Join(days, " ") != want {
			t.Fatalf("last Fridays\n%s\nwant\n%s", strings.Join(days, " "), want)
		}
	})
	t.Run("last Sunday 01:30 London (both changes fall on one)", func(t *testing.T) {
		r := schedule.Rule{Frequency: schedule.Monthly, Time: "01:30", Ordinal: "last", Weekday: "sunday"}
		got := walk(t, r, london, at(london, 2026, 3, 1, 0, 0), at(london, 2026, 11, 1, 0, 0))
		if len(got) != 8 {
			t.Fatalf("%d occurrences March–October; want 8: %v", len(got), got)
		}
		if s := local(got[0], london); s != "2026-03-29T01:30 @ 2026-03-29 02:30 BST" {
			t.Fatalf("March: %s", s)
		}
		if got[7].Key != "2026-10-25T01:30" || got[7].At.In(london).Format("15:04") != "01:30" {
			t.Fatalf("October: %s", local(got[7], london))
		}
	})
	t.Run("first Monday, fourth Thursday Chicago; first Sunday Sydney", func(t *testing.T) {
		r := schedule.Rule{Frequency: schedule.Monthly, Time: "07:15", Ordinal: "first", Weekday: "monday"}
		wantOccurrences(t, walk(t, r, chicago, at(chicago, 2026, 1, 1, 0, 0), at(chicago, 2026, 5, 1, 0, 0)), chicago,
			"2026-01-05T07:15 @ 2026-01-05 07:15 CST",
			"2026-02-02T07:15 @ 2026-02-02 07:15 CST",
			"2026-03-02T07:15 @ 2026-03-02 07:15 CST",
			"2026-04-06T07:15 @ 2026-04-06 07:15 CDT",
		)
		r = schedule.Rule{Frequency: schedule.Monthly, Time: "12:00", Ordinal: "fourth", Weekday: "thursday"}
		o, err := r.Next(at(chicago, 2026, 11, 1, 0, 0), chicago)
		if err != nil || o.Key != "2026-11-26T12:00" {
			t.Fatalf("fourth Thursday of November 2026: %v %v", o, err)
		}
		// Sydney's clocks go back on the first Sunday of April and forward
		// on the first Sunday of October, both around 02:30.
		r = schedule.Rule{Frequency: schedule.Monthly, Time: "02:30", Ordinal: "first", Weekday: "sunday"}
		got := walk(t, r, sydney, at(sydney, 2026, 3, 15, 0, 0), at(sydney, 2026, 11, 1, 0, 0))
		if len(got) != 7 {
			t.Fatalf("%d first Sundays April–October; want 7", len(got))
		}
		if s := local(got[0], sydney); s != "2026-04-05T02:30 @ 2026-04-05 02:30 AEST" && s != "2026-04-05T02:30 @ 2026-04-05 02:30 AEDT" {
			t.Fatalf("April (fall back): %s", s)
		}
		if s := local(got[6], sydney); s != "2026-10-04T02:30 @ 2026-10-04 03:30 AEDT" {
			t.Fatalf("October (spring forward): %s", s)
		}
	})
}

func TestRuleValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		rule  schedule.Rule
		field string
	}{
		{schedule.Rule{Frequency: "hourly", Time: "09:00"}, "frequency"},
		{schedule.Rule{Frequency: "", Time: "09:00"}, "frequency"},
		{schedule.Rule{Frequency: schedule.Daily, Time: "24:00"}, "time"},
		{schedule.Rule{Frequency: schedule.Daily, Time: "9:00"}, "time"},
		{schedule.Rule{Frequency: schedule.Daily, Time: "09:60"}, "time"},
		{schedule.Rule{Frequency: schedule.Daily, Time: ""}, "time"},
		{schedule.Rule{Frequency: schedule.Daily, Time: "9am"}, "time"},
		{schedule.Rule{Frequency: schedule.Weekly, Time: "09:00"}, "weekdays"},
		{schedule.Rule{Frequency: schedule.Weekly, Time: "09:00", Weekdays: []string{"sunday", "funday"}}, "weekdays"},
		{schedule.Rule{Frequency: schedule.Monthly, Time: "09:00"}, "ordinal"},
		{schedule.Rule{Frequency: schedule.Monthly, Time: "09:00", DayOfMonth: 32}, "day_of_month"},
		{schedule.Rule{Frequency: schedule.Monthly, Time: "09:00", DayOfMonth: -1}, "day_of_month"},
		{schedule.Rule{Frequency: schedule.Monthly, Time: "09:00", DayOfMonth: 5, Ordinal: "first", Weekday: "sunday"}, "day_of_month"},
		{schedule.Rule{Frequency: schedule.Monthly, Time: "09:00", Ordinal: "fifth", Weekday: "sunday"}, "ordinal"},
		{schedule.Rule{Frequency: schedule.Monthly, Time: "09:00", Ordinal: "second"}, "ordinal"},
		{schedule.Rule{Frequency: schedule.Monthly, Time: "09:00", Weekday: "sunday"}, "ordinal"},
		{schedule.Rule{Frequency: schedule.Monthly, Time: "09:00", Ordinal: "last", Weekday: "someday"}, "ordinal"},
	}
	loc := zone(t, "America/Chicago")
	for _, c := range cases {
		err := c.rule.Validate()
		var se *steeple.Error
		if !errors.As(err, &se) || se.Code != steeple.EINVALID || se.Fields[c.field] == "" {
			t.Errorf("%+v: error %v; want EINVALID naming %q", c.rule, err, c.field)
			continue
		}
		if _, err := c.rule.Next(time.Now(), loc); steeple.ErrorCode(err) != steeple.EINVALID {
			t.Errorf("%+v: Next gave %v; want EINVALID", c.rule, err)
		}
	}
	for _, ok := range []schedule.Rule{
		{Frequency: schedule.Daily, Time: "00:00"},
		{Frequency: schedule.Daily, Time: "23:59"},
		{Frequency: schedule.Weekly, Time: "10:00", Weekdays: []string{"SUNDAY", "saturday"}},
		{Frequency: schedule.Monthly, Time: "10:00", DayOfMonth: 1},
		{Frequency: schedule.Monthly, Time: "10:00", DayOfMonth: 31},
		{Frequency: schedule.Monthly, Time: "10:00", Ordinal: "Last", Weekday: "Friday"},
	} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
}

func TestQuietHoursRelease(t *testing.T) {
	t.Parallel()
	chicago, london := zone(t, "America/Chicago"), zone(t, "Europe/London")
	def := schedule.QuietHours{Start: "21:00", End: "08:00"}
	cases := []struct {
		q        schedule.QuietHours
		loc      *time.Location
		at, want time.Time
	}{
		{def, chicago, at(chicago, 2026, 6, 10, 20, 59), at(chicago, 2026, 6, 10, 20, 59)},
		{def, chicago, at(chicago, 2026, 6, 10, 21, 0), at(chicago, 2026, 6, 11, 8, 0)},
		{def, chicago, at(chicago, 2026, 6, 10, 22, 0), at(chicago, 2026, 6, 11, 8, 0)},
		{def, chicago, at(chicago, 2026, 6, 30, 23, 59), at(chicago, 2026, 7, 1, 8, 0)}, // month end
		{def, chicago, at(chicago, 2026, 6, 11, 0, 30), at(chicago, 2026, 6, 11, 8, 0)},
		{def, chicago, at(chicago, 2026, 6, 11, 7, 59), at(chicago, 2026, 6, 11, 8, 0)},
		{def, chicago, at(chicago, 2026, 6, 11, 8, 0), at(chicago, 2026, 6, 11, 8, 0)},
		// The night the clocks spring forward is an hour shorter in real time.
		{def, chicago, at(chicago, 2026, 3, 7, 22, 0), at(chicago, 2026, 3, 8, 8, 0)},
		{def, london, at(london, 2026, 10, 24, 23, 0), at(london, 2026, 10, 25, 8, 0)},
		// A window that does not span midnight.
		{schedule.QuietHours{Start: "12:00", End: "13:30"}, london, at(london, 2026, 6, 10, 12, 15), at(london, 2026, 6, 10, 13, 30)},
		{schedule.QuietHours{Start: "12:00", End: "13:30"}, london, at(london, 2026, 6, 10, 22, 0), at(london, 2026, 6, 10, 22, 0)},
		// Equal times: no quiet hours.
		{schedule.QuietHours{Start: "00:00", End: "00:00"}, chicago, at(chicago, 2026, 6, 10, 23, 0), at(chicago, 2026, 6, 10, 23, 0)},
		// A window ending in the spring-forward gap ends after it.
		{schedule.QuietHours{Start: "23:00", End: "02:30"}, chicago, at(chicago, 2026, 3, 8, 1, 0), at(chicago, 2026, 3, 8, 3, 30)},
	}
	for _, c := range cases {
		if got := c.q.Release(c.at, c.loc); !got.Equal(c.want) {
			t.Errorf("%+v at %v: released at %v; want %v", c.q, c.at, got.In(c.loc), c.want)
		}
	}
	if d := def.Release(at(chicago, 2026, 3, 7, 22, 0), chicago).Sub(at(chicago, 2026, 3, 7, 22, 0)); d != 9*time.Hour {
		t.Errorf("22:00 to 08:00 across spring forward is %v; want 9h", d)
	}
}
