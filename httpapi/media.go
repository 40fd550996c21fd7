package httpapi

import (
	"context"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/store"
)

// maxMediaUpload bounds an image upload: phones take photos of a few MB;
// anything over 1 MB is scaled down to fit the carriers' limit.
const maxMediaUpload = 15 << 20

func (s *Server) routeMedia() {
	s.mux.HandleFunc("POST /api/v1/media", s.uploadMedia)
	s.mux.HandleFunc("GET /api/v1/media/{id}", s.authed(s.getMedia))
	// The provider fetches images here: no session, a signed expiring token.
	s.mux.HandleFunc("GET /media/{token}", s.serveMedia)
}

// uploadMedia takes an image as multipart/form-data (field "file") or as
// a raw image/* body. The image is checked and scaled before the church's
// database is taken, so a slow resize holds no connection.
func (s *Server) uploadMedia(w http.ResponseWriter, r *http.Request) {
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
	if err := readBody(w, r, maxMediaUpload); err != nil {
		s.fail(w, r, err)
		return
	}
	data, err := uploadedImage(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	u, err := messaging.PrepareImage(data)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	buf := &bufferedResponse{header: w.Header()}
	s.serveAcquired(buf, r, claims, func(w http.ResponseWriter, r *http.Request, c *caller) {
		if !s.gateOpen(w, r, c) {
			return
		}
		m, err := s.deps.Messaging.SaveMedia(r.Context(), c.h, c.admin, u)
		respond(s, w, r, http.StatusCreated, m, err)
	})
	buf.sendTo(w)
}

// uploadedImage is the image of an upload already read into memory.
func uploadedImage(r *http.Request) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mt == "multipart/form-data":
		f, _, err := r.FormFile("file")
		if err != nil {
			return nil, steeple.FieldError("file", "multipart upload needs a \"file\" field")
		}
		defer f.Close()
		return io.ReadAll(f)
	case strings.HasPrefix(mt, "image/"):
		return io.ReadAll(r.Body)
	default:
		return nil, steeple.Errorf(steeple.EINVALID, "send the image as multipart/form-data with a \"file\" field, or as an image/* body")
	}
}

// getMedia describes one of the church's images (not its bytes).
func (s *Server) getMedia(w http.ResponseWriter, r *http.Request, c *caller) {
	m, err := s.deps.Messaging.Media(r.Context(), c.h, r.PathValue("id"))
	respond(s, w, r, http.StatusOK, m, err)
}

// serveMedia answers the provider's fetch of an image at a signed link.
// A bad, forged or expired token is a 404, as is a church that no longer
// exists; the token is never logged (it is a credential for a week).
func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request) {
	tenantID, mediaID, err := s.deps.Messaging.OpenMediaToken(r.PathValue("token"))
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.deps.AcquireTimeout)
	h, err := s.deps.Tenancy.Manager.Acquire(ctx, tenantID)
	cancel()
	var m *store.Upload
	if err == nil {
		m, err = s.deps.Messaging.Media(r.Context(), h, mediaID)
		h.Release()
	}
	switch {
	case steeple.ErrorCode(err) == steeple.ENOTFOUND:
		http.Error(w, "not found", http.StatusNotFound)
		return
	case err != nil:
		s.deps.Logger.Warn("serving media", "tenant", tenantID, "media", mediaID, "err", err)
		redacted := r.Clone(r.Context())
		redacted.URL = &url.URL{Path: "/media/{token}"}
		Error(w, redacted, s.deps.Logger, err)
		return
	}
	w.Header().Set("Content-Type", m.ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(m.Data)))
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(m.Data)
}
