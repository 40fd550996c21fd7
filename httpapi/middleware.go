package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// caller is the authenticated admin and its church's handle for one request.
type caller struct {
	admin *steeple.Admin
	h     *tenancy.Handle
}

type callerKey struct{}

// authed wraps a handler that needs a signed-in admin: it checks the access
// token, acquires the church's handle through the tenant manager, confirms
// the admin still exists, and releases the handle when the handler returns.
// A suspended church's tokens stop working at once: acquiring refuses it.
func (s *Server) authed(next func(http.ResponseWriter, *http.Request, *caller)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || raw == "" {
			s.fail(w, r, steeple.Errorf(steeple.EUNAUTHORIZED, "missing bearer token"))
			return
		}
		claims, err := s.deps.Auth.Authenticate(strings.TrimSpace(raw))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.deps.AcquireTimeout)
		h, err := s.deps.Tenancy.Manager.Acquire(ctx, claims.TenantID)
		cancel()
		if err != nil {
			if steeple.ErrorCode(err) == steeple.ENOTFOUND {
				err = steeple.Errorf(steeple.EUNAUTHORIZED, "invalid or expired token")
			}
			s.fail(w, r, err)
			return
		}
		defer h.Release()
		admin, err := s.deps.Auth.Caller(r.Context(), h, claims)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, admin)), &caller{admin: admin, h: h})
	}
}

// fail writes err through the one error mapping.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	Error(w, r, s.deps.Logger, err)
}
