package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/steeple-sms/steeple"
)

// statusOf maps each error code to its one HTTP status.
var statusOf = map[string]int{
	steeple.ECONFLICT:     http.StatusConflict,
	steeple.EINTERNAL:     http.StatusInternalServerError,
	steeple.EINVALID:      http.StatusBadRequest,
	steeple.ENOTFOUND:     http.StatusNotFound,
	steeple.EUNAUTHORIZED: http.StatusUnauthorized,
	steeple.EFORBIDDEN:    http.StatusForbidden,
	steeple.EUNAVAILABLE:  http.StatusServiceUnavailable,
	steeple.ETOOMANY:      http.StatusTooManyRequests,
	steeple.ESUSPENDED:    http.StatusForbidden,
	steeple.ESCHEMA:       http.StatusServiceUnavailable,
	steeple.ETOOLARGE:     http.StatusRequestEntityTooLarge,
}

// errorBody is the one envelope every API error uses.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// Error writes err as the JSON error envelope with its status code. Internal
// errors are logged with detail and answered with a generic message; errors
// that say when to retry set Retry-After.
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := steeple.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status >= 500 {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "code", code, "err", err)
	}
	var e *steeple.Error
	body := errorBody{Error: errorDetail{Code: code, Message: steeple.ErrorMessage(err)}}
	if errors.As(err, &e) {
		body.Error.Fields = e.Fields
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
		}
	}
	writeJSON(w, status, body)
}

// writeJSON writes v as a JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
