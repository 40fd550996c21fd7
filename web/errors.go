package web

import (
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/steeple-sms/steeple"
)

// errorPage is how one error code is shown: a status and a message id.
type errorPage struct {
	status  int
	titleID string
	textID  string
}

// pageOf maps each error code to its one page, as httpapi/errors.go maps
// codes to JSON statuses. An unauthorized request for a page is sent to
// sign in instead (see fail).
var pageOf = map[string]errorPage{
	steeple.ECONFLICT:     {http.StatusConflict, "error.conflict.title", "error.conflict.text"},
	steeple.EINTERNAL:     {http.StatusInternalServerError, "error.internal.title", "error.internal.text"},
	steeple.EINVALID:      {http.StatusBadRequest, "error.invalid.title", "error.invalid.text"},
	steeple.ENOTFOUND:     {http.StatusNotFound, "error.notfound.title", "error.notfound.text"},
	steeple.EUNAUTHORIZED: {http.StatusUnauthorized, "error.unauthorized.title", "error.unauthorized.text"},
	steeple.EFORBIDDEN:    {http.StatusForbidden, "error.forbidden.title", "error.forbidden.text"},
	steeple.EUNAVAILABLE:  {http.StatusServiceUnavailable, "error.unavailable.title", "error.unavailable.text"},
	steeple.ETOOMANY:      {http.StatusTooManyRequests, "error.toomany.title", "error.toomany.text"},
	steeple.ESUSPENDED:    {http.StatusForbidden, "error.suspended.title", "error.suspended.text"},
	steeple.ESCHEMA:       {http.StatusServiceUnavailable, "error.unavailable.title", "error.unavailable.text"},
	steeple.ETOOLARGE:     {http.StatusRequestEntityTooLarge, "error.toolarge.title", "error.toolarge.text"},
}

var (
	errNotFound    = steeple.Errorf(steeple.ENOTFOUND, "page not found")
	errCrossOrigin = steeple.Errorf(steeple.EFORBIDDEN, "cross-origin request refused")
)

// fail shows err as its error page; v (may be nil) carries the language
// and church. Internal errors are logged with detail, never shown.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, v *view, err error) {
	h.failSaying(w, r, v, err, "")
}

// failSaying is fail with the page's text replaced by textID ("" keeps it).
func (h *Handler) failSaying(w http.ResponseWriter, r *http.Request, v *view, err error, textID string) {
	code := steeple.ErrorCode(err)
	p, ok := pageOf[code]
	if !ok {
		p = pageOf[steeple.EINTERNAL]
	}
	if p.status >= 500 {
		h.deps.Logger.Error("web: request failed", "method", r.Method, "path", r.URL.Path, "code", code, "err", err)
	}
	var e *steeple.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	if v == nil {
		v = h.newView(r, p.titleID)
	}
	if textID != "" {
		p.textID = textID
	}
	v.TitleID = p.titleID
	v.Data = p
	v.Notice = v.T(p.textID)
	h.render(w, r, p.status, "error", v)
}

// fieldErrors returns err's per-field messages, or nil when err is not a
// validation error.
func fieldErrors(err error) map[string]string {
	var e *steeple.Error
	if errors.As(err, &e) && e.Code == steeple.EINVALID && len(e.Fields) > 0 {
		return e.Fields
	}
	return nil
}

// formError puts err on the form when it is the user's to fix (invalid
// fields, bad credentials, throttling) and reports whether it did; other
// errors go to fail.
func (h *Handler) formError(v *view, err error, field string) bool {
	if fe := fieldErrors(err); fe != nil {
		for k, m := range fe {
			v.Form.Errors[k] = m
		}
		return true
	}
	var e *steeple.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case steeple.EINVALID, steeple.EUNAUTHORIZED, steeple.ETOOMANY, steeple.ECONFLICT, steeple.EFORBIDDEN:
		msg := e.Message
		if f, ok := e.Fields[field]; ok {
			msg = f
		}
		v.Form.Errors[field] = msg
		return true
	}
	return false
}
