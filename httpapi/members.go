package httpapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/members"
)

// maxImportBody bounds an import upload (10,000 rows fit comfortably).
const maxImportBody = 20 << 20

// errImportTooLarge says what the size limit of an import is.
var errImportTooLarge = steeple.FieldError("file", fmt.Sprintf("is larger than %d MiB, the size limit for one import; split it", maxImportBody>>20))

// importBody reads an upload and turns "body too large" into the size
// limit's own message (rather than a CSV or row-count error).
type importBody struct{ r io.Reader }

func (b importBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return n, errImportTooLarge
	}
	return n, err
}

func (s *Server) routeMembers() {
	s.mux.HandleFunc("GET /api/v1/members", s.authed(s.listMembers))
	s.mux.HandleFunc("POST /api/v1/members", s.authed(s.createMember))
	s.mux.HandleFunc("POST /api/v1/members/import", s.authedUpload(maxImportBody, s.importMembers))
	s.routeImports()
	s.mux.HandleFunc("GET /api/v1/members/{id}", s.authed(s.getMember))
	s.mux.HandleFunc("PUT /api/v1/members/{id}", s.authed(s.updateMember))
	s.mux.HandleFunc("DELETE /api/v1/members/{id}", s.authed(s.deleteMember))
	s.routeMemberActions()
	s.mux.HandleFunc("GET /api/v1/settings", s.authed(s.getSettings))
	s.mux.HandleFunc("PUT /api/v1/settings", s.authed(s.manager(s.putSettings)))
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request, c *caller) {
	st, err := s.deps.Members.Settings(r.Context(), c.h)
	respond(s, w, r, http.StatusOK, st, err)
}

func (s *Server) putSettings(w http.ResponseWriter, r *http.Request, c *caller) {
	var req members.SettingsUpdate
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.deps.Members.UpdateSettings(actorContext(r, c), c.h, req)
	respond(s, w, r, http.StatusOK, st, err)
}

// listMembers answers a page of members: ?q= (a name, accents and case
// ignored, or a phone in any common format), ?group_id=, ?consent=,
// ?cursor=, ?limit=, with the total for the filter.
func (s *Server) listMembers(w http.ResponseWriter, r *http.Request, c *caller) {
	limit, err := limitParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	p, err := s.deps.Members.Page(r.Context(), c.h, members.ListRequest{Filter: members.Filter{Q: q.Get("q"),
		GroupID: q.Get("group_id"), Consent: q.Get("consent")}, Cursor: q.Get("cursor"), Limit: limit})
	respond(s, w, r, http.StatusOK, p, err)
}

func (s *Server) createMember(w http.ResponseWriter, r *http.Request, c *caller) {
	var req members.MemberRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	m, err := s.deps.Members.Create(actorContext(r, c), c.h, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

func (s *Server) getMember(w http.ResponseWriter, r *http.Request, c *caller) {
	m, err := s.deps.Members.Get(r.Context(), c.h, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) updateMember(w http.ResponseWriter, r *http.Request, c *caller) {
	var req members.MemberRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	m, err := s.deps.Members.Update(actorContext(r, c), c.h, r.PathValue("id"), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) deleteMember(w http.ResponseWriter, r *http.Request, c *caller) {
	if err := s.deps.Members.Delete(r.Context(), c.h, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// importMembers takes multipart/form-data (field "file") or a raw text/csv
// body; ?consent=opted_in&wording=… records the consent the church collected.
func (s *Server) importMembers(w http.ResponseWriter, r *http.Request, c *caller) {
	file, err := uploadedCSV(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	consent := q.Get("consent")
	if consent != "" && consent != steeple.ConsentOptedIn && consent != steeple.ConsentOptedOut {
		s.fail(w, r, steeple.FieldError("consent", "must be opted_in or opted_out"))
		return
	}
	sum, err := s.deps.Members.Import(actorContext(r, c), c.h, importBody{file}, members.ImportOptions{OptedIn: consent == steeple.ConsentOptedIn, Wording: q.Get("wording")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sum)
}

// limitParam reads ?limit= (1–200, default 50).
func limitParam(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 200 {
		return 0, steeple.FieldError("limit", "must be a whole number from 1 to 200")
	}
	return n, nil
}
