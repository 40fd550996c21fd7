package messaging

import (
	"context"
	"time"

	"github.com/steeple-sms/steeple/tenancy"
)

// ReportWeeks is how many weeks the weekly report covers, the current one last.
const ReportWeeks = 12

// WeekReport is one week of a church's texting.
type WeekReport struct {
	// Start and End bound the week in the church's timezone (Sunday 00:00
	// to the next Sunday 00:00); the current week ends in the future.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Texts and Parts are broadcast texts handed to the provider in the week.
	Texts int `json:"texts"`
	Parts int `json:"parts"`
	// Delivered and Failed are how those texts ended so far; DeliveryRate is
	// Delivered / Texts (0 when no text was sent).
	Delivered    int     `json:"delivered"`
	Failed       int     `json:"failed"`
	DeliveryRate float64 `json:"delivery_rate"`
	OptOuts      int     `json:"opt_outs"`
	Replies      int     `json:"replies"`
}

// WeeklyReport is the reports page: the last ReportWeeks weeks and this
// month's parts against the plan's quota.
type WeeklyReport struct {
	Timezone string       `json:"timezone"`
	Weeks    []WeekReport `json:"weeks"`
	Month    MonthUsage   `json:"month"`
}

// MonthUsage is the parts counted against the quota this month.
type MonthUsage struct {
	// Month is "2006-01" in UTC, the month the quota counts.
	Month string `json:"month"`
	Parts int    `json:"parts"`
	// Quota is the plan's monthly parts; 0 means unlimited.
	Quota int `json:"quota"`
}

// WeeklyReport aggregates the church's last ReportWeeks weeks (weeks start
// on Sunday, in the church's timezone) in SQL.
func (s *Service) WeeklyReport(ctx context.Context, h *tenancy.Handle) (*WeeklyReport, error) {
	loc := ChurchLocation(h)
	now := s.now()
	bounds := WeekBounds(now, loc, ReportWeeks)
	acts, err := s.store.WeeklyActivity(ctx, h, bounds)
	if err != nil {
		return nil, err
	}
	month := now.UTC().Format("2006-01")
	used, err := s.store.SegmentsUsed(ctx, h, month)
	if err != nil {
		return nil, err
	}
	r := &WeeklyReport{Timezone: loc.String(), Weeks: make([]WeekReport, len(acts)),
		Month: MonthUsage{Month: month, Parts: used, Quota: s.cfg.Plans[h.Tenant().Plan].MonthlySegments}}
	for i, a := range acts {
		w := WeekReport{Start: bounds[i].In(loc), End: bounds[i+1].In(loc), Texts: a.Texts, Parts: a.Parts,
			Delivered: a.Delivered, Failed: a.Failed, OptOuts: a.OptOuts, Replies: a.Replies}
		if a.Texts > 0 {
			w.DeliveryRate = float64(int(float64(a.Delivered)/float64(a.Texts)*10000+0.5)) / 10000
		}
		r.Weeks[i] = w
	}
	return r, nil
}

// WeekBounds returns n+1 instants: the starts of the n weeks ending with
// the one holding now, and the end of that week. Weeks start at Sunday
// midnight in loc; built from calendar dates so a daylight-saving change
// gives a 167- or 169-hour week, not a shifted boundary.
func WeekBounds(now time.Time, loc *time.Location, n int) []time.Time {
	local := now.In(loc)
	y, m, d := local.Date()
	d -= int(local.Weekday())
	out := make([]time.Time, n+1)
	for i := range out {
		out[i] = time.Date(y, m, d+7*(i-n+1), 0, 0, 0, 0, loc)
	}
	return out
}
