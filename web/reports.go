package web

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strconv"
	"time"

	"github.com/steeple-sms/steeple/messaging"
)

func (h *Handler) routeReports() {
	h.mux.HandleFunc("GET /reports", h.authed(h.reports))
	h.mux.HandleFunc("GET /reports/weekly.csv", h.authed(h.reportsCSV))
}

// Chart geometry, in pixels. Text keeps its fixed size: the drawing has no
// viewBox, so nothing is scaled.
const (
	chartBarsTop    = 18 // room for the tallest bar's value
	chartBarsHeight = 140
	chartLabelY     = chartBarsTop + chartBarsHeight + 18
	chartHeight     = chartLabelY + 8
)

// chart is one inline SVG bar chart: a bar per week, in percent of the
// drawing's width so it fits any screen.
type chart struct {
	ID                             string
	Title, NumbersLabel, WeekLabel string // translated
	Bars                           []chartBar
	Max                            int
	Height                         int
	LabelY                         int
	Base                           int // the baseline under the bars
}

type chartBar struct {
	Label string // the week's first day under the bar ("" for every other week)
	Day   string // the week's first day, in the table
	Value string // as shown
	X, W  float64
	Y, H  int
}

// reportsData is the reports page.
type reportsData struct {
	R       *messaging.WeeklyReport
	Charts  []chart
	UsedPct int
	Left    int
}

// reports shows the last 12 weeks and this month's parts against the quota.
func (h *Handler) reports(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	v.TitleID = "reports.title"
	rep, err := h.deps.Messaging.WeeklyReport(r.Context(), s.h)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d := reportsData{R: rep}
	if q := rep.Month.Quota; q > 0 {
		d.UsedPct = min(100, rep.Month.Parts*100/q)
		d.Left = max(0, q-rep.Month.Parts)
	}
	pick := []struct {
		id, title string
		val       func(messaging.WeekReport) int
		show      func(messaging.WeekReport) string
	}{
		{"texts", "reports.chart.texts", func(w messaging.WeekReport) int { return w.Texts }, nil},
		{"parts", "reports.chart.parts", func(w messaging.WeekReport) int { return w.Parts }, nil},
		{"rate", "reports.chart.rate", func(w messaging.WeekReport) int { return int(w.DeliveryRate*100 + 0.5) },
			func(w messaging.WeekReport) string { return strconv.Itoa(int(w.DeliveryRate*100+0.5)) + "%" }},
		{"optouts", "reports.chart.optouts", func(w messaging.WeekReport) int { return w.OptOuts }, nil},
		{"replies", "reports.chart.replies", func(w messaging.WeekReport) int { return w.Replies }, nil},
	}
	starts := make([]time.Time, len(rep.Weeks))
	for i, wk := range rep.Weeks {
		starts[i] = wk.Start
	}
	for _, p := range pick {
		values := make([]int, len(rep.Weeks))
		for i, wk := range rep.Weeks {
			values[i] = p.val(wk)
		}
		var show func(int) string
		if p.show != nil {
			show = func(i int) string { return p.show(rep.Weeks[i]) }
		}
		limit := 0
		if p.id == "rate" {
			limit = 100
		}
		d.Charts = append(d.Charts, weeklyChart(v, p.id, p.title, starts, values, limit, show))
	}
	v.Data = d
	h.render(w, r, http.StatusOK, "reports", v)
}

// weeklyChart draws a bar per week: values[i] for the week starting
// starts[i], scaled to max (the largest value when 0); show formats a bar's
// value (thousands grouped when nil). The template "chart" in layout.html
// draws it with its data table.
func weeklyChart(v *view, id, titleID string, starts []time.Time, values []int, top int, show func(int) string) chart {
	c := chart{ID: id, Title: v.T(titleID), NumbersLabel: v.T("reports.numbers"), WeekLabel: v.T("reports.week"),
		Height: chartHeight, LabelY: chartLabelY, Base: chartBarsTop + chartBarsHeight, Max: top}
	if c.Max == 0 {
		for _, val := range values {
			c.Max = max(c.Max, val)
		}
	}
	n := float64(len(starts))
	for i, start := range starts {
		val := values[i]
		b := chartBar{Label: start.Format("1/2"), X: float64(int(float64(i)/n*1000)) / 10, W: float64(int(0.7/n*1000)) / 10}
		if v.Lang == "es" {
			b.Label = start.Format("2/1")
		}
		b.Day = v.Date(start)
		if i%2 == 1 {
			b.Label = "" // room for the label at 360 px
		}
		if show != nil {
			b.Value = show(i)
		} else {
			b.Value = v.Num(val)
		}
		if c.Max > 0 {
			b.H = val * chartBarsHeight / c.Max
		}
		b.Y = chartBarsTop + chartBarsHeight - b.H
		c.Bars = append(c.Bars, b)
	}
	return c
}

// reportsCSV downloads the weekly report, one row a week.
func (h *Handler) reportsCSV(w http.ResponseWriter, r *http.Request, s *session) {
	rep, err := h.deps.Messaging.WeeklyReport(r.Context(), s.h)
	if err != nil {
		h.fail(w, r, s.view, err)
		return
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write([]string{"Week starting (" + rep.Timezone + ")", "Texts", "Parts", "Delivered", "Failed",
		"Delivery rate", "Opt-outs", "Replies"})
	for _, wk := range rep.Weeks {
		_ = cw.Write([]string{wk.Start.Format("2006-01-02"), strconv.Itoa(wk.Texts), strconv.Itoa(wk.Parts),
			strconv.Itoa(wk.Delivered), strconv.Itoa(wk.Failed), strconv.FormatFloat(wk.DeliveryRate, 'f', 4, 64),
			strconv.Itoa(wk.OptOuts), strconv.Itoa(wk.Replies)})
	}
	cw.Flush()
	hd := w.Header()
	hd.Set("Content-Type", "text/csv; charset=utf-8")
	hd.Set("Content-Disposition", `attachment; filename="weekly-report.csv"`)
	hd.Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// Pct shows a rate (0–1) as a whole percentage.
func (v *view) Pct(rate float64) string { return strconv.Itoa(int(rate*100+0.5)) + "%" }
