package httpapi

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/members"
)

// The two-step import the web screen uses: upload for a preview, then
// import with the mapping (edited or not) and the consent statement.
func (s *Server) routeImports() {
	s.mux.HandleFunc("POST /api/v1/members/imports", s.authedUpload(maxImportBody, s.previewImport))
	// POST and GET /api/v1/members/imports/{id}: see memberPair.
	s.mux.HandleFunc("GET /api/v1/members/imports/{id}/invalid.csv", s.authed(s.getImportInvalid))
}

// uploadedCSV is the CSV of an upload: multipart/form-data (field "file")
// or a raw text/csv body, bounded by maxImportBody.
func uploadedCSV(w http.ResponseWriter, r *http.Request) (io.Reader, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxImportBody)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "multipart/form-data":
		f, _, err := r.FormFile("file")
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return nil, errImportTooLarge
		}
		if err != nil {
			return nil, steeple.FieldError("file", "multipart upload needs a \"file\" field: "+err.Error())
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		if err != nil {
			return nil, steeple.FieldError("file", "could not be read: "+err.Error())
		}
		return bytes.NewReader(b), nil
	case "text/csv", "application/csv", "text/plain", "application/vnd.ms-excel":
		return importBody{r.Body}, nil
	default:
		return nil, steeple.Errorf(steeple.EINVALID, "send the CSV as text/csv or as multipart/form-data with a \"file\" field")
	}
}

func (s *Server) previewImport(w http.ResponseWriter, r *http.Request, c *caller) {
	file, err := uploadedCSV(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.deps.Members.Preview(r.Context(), c.h, file)
	respond(s, w, r, http.StatusCreated, p, err)
}

// runImportRequest is the second step: the mapping (field → header names,
// best first; omitted: the detected one) and the consent statement.
type runImportRequest struct {
	Mapping map[string][]string `json:"mapping"`
	// Consent is "opted_in" (with Wording: how they gave consent) or
	// "none" (no consent recorded: new members start opted out).
	Consent string `json:"consent"`
	Wording string `json:"wording"`
}

func (s *Server) runImport(w http.ResponseWriter, r *http.Request, c *caller) {
	var req runImportRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	o := members.UploadImportOptions{Mapping: req.Mapping}
	switch req.Consent {
	case steeple.ConsentOptedIn:
		if strings.TrimSpace(req.Wording) == "" {
			s.fail(w, r, steeple.FieldError("wording", "is required with consent opted_in: say how they gave consent (e.g. \"signed the welcome card\")"))
			return
		}
		if len([]rune(req.Wording)) > 500 {
			s.fail(w, r, steeple.FieldError("wording", "is longer than 500 characters"))
			return
		}
		o.OptedIn, o.Wording = true, req.Wording
	case "none", steeple.ConsentOptedOut:
	default:
		s.fail(w, r, steeple.FieldError("consent", "must be opted_in (they gave consent) or none (no consent recorded)"))
		return
	}
	sum, err := s.deps.Members.ImportUpload(r.Context(), c.h, r.PathValue("id"), o)
	respond(s, w, r, http.StatusOK, sum, err)
}

func (s *Server) getImport(w http.ResponseWriter, r *http.Request, c *caller) {
	sum, err := s.deps.Members.ImportResult(r.Context(), c.h, r.PathValue("id"))
	respond(s, w, r, http.StatusOK, sum, err)
}

func (s *Server) getImportInvalid(w http.ResponseWriter, r *http.Request, c *caller) {
	b, err := s.deps.Members.ImportInvalidCSV(r.Context(), c.h, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="not-imported.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}
