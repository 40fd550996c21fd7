package httpapi

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strconv"
	"time"

	"github.com/steeple-sms/steeple"
)

func (s *Server) routeReports() {
	s.mux.HandleFunc("GET /api/v1/reports/weekly", s.authed(s.weeklyReport))
	s.mux.HandleFunc("GET /api/v1/reports/weekly.csv", s.authed(s.weeklyReportCSV))
}

// weeklyReport answers the last 12 weeks as JSON, or as CSV with ?format=csv.
func (s *Server) weeklyReport(w http.ResponseWriter, r *http.Request, c *caller) {
	switch r.URL.Query().Get("format") {
	case "", "json":
	case "csv":
		s.weeklyReportCSV(w, r, c)
		return
	default:
		s.fail(w, r, steeple.FieldError("format", `must be "json" or "csv"`))
		return
	}
	rep, err := s.deps.Messaging.WeeklyReport(r.Context(), c.h)
	respond(s, w, r, http.StatusOK, rep, err)
}

// weeklyReportCSV is the weekly report as a spreadsheet: one row a week,
// then the month's usage.
func (s *Server) weeklyReportCSV(w http.ResponseWriter, r *http.Request, c *caller) {
	rep, err := s.deps.Messaging.WeeklyReport(r.Context(), c.h)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write([]string{"week_start", "week_end", "texts", "parts", "delivered", "failed", "delivery_rate", "opt_outs", "replies"})
	for _, wk := range rep.Weeks {
		_ = cw.Write([]string{wk.Start.Format(time.DateOnly), wk.End.Format(time.DateOnly),
			strconv.Itoa(wk.Texts), strconv.Itoa(wk.Parts), strconv.Itoa(wk.Delivered), strconv.Itoa(wk.Failed),
			strconv.FormatFloat(wk.DeliveryRate, 'f', 4, 64), strconv.Itoa(wk.OptOuts), strconv.Itoa(wk.Replies)})
	}
	cw.Flush()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="weekly-report.csv"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
