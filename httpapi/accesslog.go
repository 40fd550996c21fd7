package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/steeple-sms/steeple/tenancy"
)

// AccessLog logs one line per request: method, route pattern (never the
// path or query, which may hold tokens, phones or emails), status, duration
// and the church the request reached, if any. Probes (/healthz, /readyz,
// /metrics) log at DEBUG, everything else at INFO.
func AccessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx, note := tenancy.WithChurchNote(r.Context())
		// The muxes below set r.Pattern on this same request as they match.
		r = r.WithContext(ctx)
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		level := slog.LevelInfo
		switch r.Pattern {
		case "GET /healthz", "GET /readyz", "GET /metrics":
			level = slog.LevelDebug
		}
		if !log.Enabled(ctx, level) {
			return
		}
		route := r.Pattern
		if route == "" {
			route = "(none)"
		}
		attrs := []slog.Attr{slog.String("method", r.Method), slog.String("route", route), slog.Int("status", rec.status()),
			slog.Float64("ms", float64(time.Since(start).Microseconds())/1000)}
		if id := note.TenantID(); id != "" {
			attrs = append(attrs, slog.String("church", id))
		}
		log.LogAttrs(ctx, level, "request", attrs...)
	})
}

// statusRecorder remembers the status a handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}
