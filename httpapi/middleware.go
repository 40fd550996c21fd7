package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/tenancy"
)

// caller is the authenticated admin and its church's handle for one request.
type caller struct {
	admin *steeple.Admin
	h     *tenancy.Handle
}

type callerKey struct{}

// authed wraps a handler that needs a signed-in admin: it checks the access
// token, reads the whole request body (at most maxBody bytes), acquires the
// church's handle through the tenant manager, confirms the admin still
// exists, and releases the handle before the answer goes out.
// A suspended church's tokens stop working at once: acquiring refuses it.
func (s *Server) authed(next func(http.ResponseWriter, *http.Request, *caller)) http.HandlerFunc {
	return s.authedUpload(maxBody, next)
}

// authedUpload is authed for a route whose body may be up to limit bytes.
//
// A church handle is never held while waiting on the network: the body is
// read in full first (the server's read timeout bounds how long that may
// take), and the handler's answer is built in memory and sent only after the
// handle is released. A client sending or reading slowly so holds a socket
// and a goroutine, never a database connection.
func (s *Server) authedUpload(limit int64, next func(http.ResponseWriter, *http.Request, *caller)) http.HandlerFunc {
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
		if err := readBody(w, r, limit); err != nil {
			s.fail(w, r, err)
			return
		}
		buf := &bufferedResponse{header: w.Header()}
		s.serveAcquired(buf, r, claims, next)
		buf.sendTo(w)
	}
}

// serveAcquired runs next with the church's handle, answering into w (a
// buffer), and releases the handle when next returns.
func (s *Server) serveAcquired(w *bufferedResponse, r *http.Request, claims *auth.Claims, next func(http.ResponseWriter, *http.Request, *caller)) {
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

// readBody reads r's whole body (at most limit bytes) into memory and puts
// it back as r.Body, so that handlers decode it without touching the network.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) error {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooBig):
		if limit == maxBody {
			return steeple.Errorf(steeple.EINVALID, "request body is larger than %d bytes", maxBody)
		}
		return steeple.Errorf(steeple.ETOOLARGE, "request body is larger than its limit of %d MiB (%d bytes)", limit>>20, limit)
	case errors.As(err, &netErr) && netErr.Timeout():
		return steeple.Errorf(steeple.EINVALID, "the request body did not arrive in time")
	case err != nil:
		return steeple.Errorf(steeple.EINVALID, "reading the request body: %v", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return nil
}

// bufferedResponse holds a handler's answer in memory until the church's
// handle is released. Headers go straight to the real writer's map (setting
// them sends nothing).
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// sendTo writes the held answer to w.
func (b *bufferedResponse) sendTo(w http.ResponseWriter) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.WriteHeader(b.status)
	if b.body.Len() > 0 {
		_, _ = w.Write(b.body.Bytes())
	}
}

// fail writes err through the one error mapping.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	Error(w, r, s.deps.Logger, err)
}

// manager wraps an authed handler that only owners and admins may use
// (numbers, 10DLC, settings): a sender gets 403 with a plain explanation.
func (s *Server) manager(next func(http.ResponseWriter, *http.Request, *caller)) func(http.ResponseWriter, *http.Request, *caller) {
	return func(w http.ResponseWriter, r *http.Request, c *caller) {
		if err := steeple.RequireManager(c.admin); err != nil {
			s.fail(w, r, err)
			return
		}
		next(w, r, c)
	}
}
