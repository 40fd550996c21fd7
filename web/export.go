package web

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/steeple-sms/steeple/store"
)

// ExportTTL is how long a prepared export can be downloaded (once).
const ExportTTL = time.Hour

func (h *Handler) routeExport() {
	h.mux.HandleFunc("GET /settings/export", h.authed(h.owner(h.exportPage)))
	h.mux.HandleFunc("POST /settings/export", h.authed(h.owner(h.exportPrepare)))
	h.mux.HandleFunc("GET /settings/export/{id}", h.authed(h.owner(h.exportDownload)))
}

// exportData is the export page: nothing yet, a download ready, or why a
// link no longer works.
type exportData struct {
	State   string // "", "ready", "used", "expired"
	Link    string
	Expires time.Time
}

func (h *Handler) showExport(w http.ResponseWriter, r *http.Request, s *session, status int, d exportData) {
	v := s.view
	v.TitleID = "export.title"
	v.Data = d
	h.render(w, r, status, "export", v)
}

func (h *Handler) exportPage(w http.ResponseWriter, r *http.Request, s *session) {
	h.showExport(w, r, s, http.StatusOK, exportData{})
}

// exportDir is where a church's prepared exports wait for their download.
func (h *Handler) exportDir(tenantID string) string {
	return filepath.Join(h.deps.ExportDir, tenantID)
}

// exportPrepare builds the archive into a file of its own (the church's
// connection is held while it is read, never while a client downloads)
// and shows its single-use link.
func (h *Handler) exportPrepare(w http.ResponseWriter, r *http.Request, s *session) {
	now := h.deps.Now()
	h.sweepExports(now)
	dir := h.exportDir(s.h.TenantID())
	if err := os.MkdirAll(dir, 0o700); err != nil {
		h.fail(w, r, s.view, err)
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	path := filepath.Join(dir, id+".zip")
	m, err := h.writeExport(r, s, path)
	if err != nil {
		h.fail(w, r, s.view, err)
		return
	}
	if err := h.deps.Store.Audit(r.Context(), s.h, store.AuditEntry{ActorID: s.admin.ID, Action: "church.exported",
		Target: s.h.TenantID(), IP: client(r).IP, Detail: m.Summary()}); err != nil {
		h.fail(w, r, s.view, err)
		return
	}
	exp := now.Add(ExportTTL)
	h.showExport(w, r, s, http.StatusOK, exportData{State: "ready", Expires: exp,
		Link: "/settings/export/" + h.exportToken(s.h.TenantID(), id, exp.Unix())})
}

// writeExport writes the archive to a partial file renamed when complete,
// so a crash never leaves a file that looks finished.
func (h *Handler) writeExport(r *http.Request, s *session, path string) (*store.ArchiveManifest, error) {
	part := path + ".part"
	f, err := os.OpenFile(part, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	m, err := h.deps.Store.ExportArchive(r.Context(), s.h, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(part, path)
	}
	if err != nil {
		_ = os.Remove(part)
		return nil, err
	}
	return m, nil
}

// exportToken names a prepared export: its id and expiry, signed for the
// church, so another church's link (or an edited one) is not found.
func (h *Handler) exportToken(tenantID, id string, exp int64) string {
	e := strconv.FormatInt(exp, 10)
	return id + "-" + e + "-" + h.deps.Store.Sign("web-export", tenantID+"/"+id+"/"+e)
}

// parseExportToken returns the export's id and expiry, or ok false when the
// token is not this church's.
func (h *Handler) parseExportToken(tenantID, tok string) (id string, exp int64, ok bool) {
	parts := strings.Split(tok, "-")
	if len(parts) != 3 || len(parts[0]) != 32 {
		return "", 0, false
	}
	if _, err := hex.DecodeString(parts[0]); err != nil {
		return "", 0, false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return "", 0, false
	}
	for _, want := range h.deps.Store.Signatures("web-export", tenantID+"/"+parts[0]+"/"+parts[1]) {
		if hmac.Equal([]byte(want), []byte(parts[2])) {
			return parts[0], exp, true
		}
	}
	return parts[0], exp, false
}

// exportDownload sends a prepared export once: the link is spent first (of
// two racing requests one wins), the file is unlinked once opened, and the
// bytes go to the client after the church's connection is released.
func (h *Handler) exportDownload(w http.ResponseWriter, r *http.Request, s *session) {
	tenantID := s.h.TenantID()
	id, exp, ok := h.parseExportToken(tenantID, r.PathValue("id"))
	if !ok {
		h.fail(w, r, s.view, errNotFound)
		return
	}
	now := h.deps.Now()
	h.sweepExports(now)
	path := filepath.Join(h.exportDir(tenantID), id+".zip")
	if now.Unix() >= exp {
		_ = os.Remove(path)
		h.showExport(w, r, s, http.StatusGone, exportData{State: "expired"})
		return
	}
	fresh, err := h.deps.Store.SpendToken(r.Context(), s.h, "export:"+id, time.Unix(exp, 0))
	if err != nil {
		h.fail(w, r, s.view, err)
		return
	}
	if !fresh {
		h.showExport(w, r, s, http.StatusGone, exportData{State: "used"})
		return
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) { // swept, or prepared by another server process
		h.showExport(w, r, s, http.StatusGone, exportData{State: "expired"})
		return
	}
	if err != nil {
		h.fail(w, r, s.view, err)
		return
	}
	_ = os.Remove(path) // the open file stays readable until sent
	info, err := f.Stat()
	if err == nil {
		err = h.deps.Store.Audit(r.Context(), s.h, store.AuditEntry{ActorID: s.admin.ID, Action: "church.export_downloaded",
			Target: tenantID, IP: client(r).IP, Detail: fmt.Sprintf("%d bytes", info.Size())})
	}
	if err != nil {
		f.Close()
		h.fail(w, r, s.view, err)
		return
	}
	held, ok := w.(*heldResponse)
	if !ok {
		f.Close()
		h.fail(w, r, s.view, errors.New("export download outside a session"))
		return
	}
	t := s.h.Tenant()
	hd := w.Header()
	hd.Set("Content-Type", "application/zip")
	hd.Set("Content-Length", strconv.FormatInt(info.Size(), 10))
	hd.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-export-%s.zip"`, t.Slug, now.UTC().Format("2006-01-02")))
	hd.Set("Cache-Control", "no-store")
	held.sendAfter(f)
}

// sweepExports deletes every church's prepared exports (and partial files
// of a crashed build) older than their link: they can no longer be fetched.
func (h *Handler) sweepExports(now time.Time) {
	matches, _ := filepath.Glob(filepath.Join(h.deps.ExportDir, "*", "*.zip*"))
	for _, p := range matches {
		if info, err := os.Stat(p); err == nil && now.Sub(info.ModTime()) > ExportTTL+time.Minute {
			_ = os.Remove(p)
		}
	}
}
