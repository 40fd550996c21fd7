package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/members"
)

// The import screen: upload a CSV → preview with the detected mapping
// (editable) and the consent statement → import → summary.
func (h *Handler) routeImport() {
	h.mux.HandleFunc("GET /members/import", h.authed(h.importForm))
	h.mux.HandleFunc("POST /members/import", h.authedUpload(MaxImportUpload, h.importUpload))
	h.mux.HandleFunc("GET /members/import/{id}", h.authed(h.importPreview))
	h.mux.HandleFunc("POST /members/import/{id}", h.authed(h.importRun))
	h.mux.HandleFunc("GET /members/import/{id}/done", h.authed(h.importSummary))
	h.mux.HandleFunc("GET /members/import/{id}/not-imported.csv", h.authed(h.importInvalidCSV))
}

// MaxImportUpload bounds an uploaded file, as the JSON API's import does
// (10,000 rows fit comfortably).
const MaxImportUpload = 20 << 20

// importFields are the fields of the mapping, in the order shown.
var importFields = []string{"first_name", "last_name", "phone", "email", "groups"}

// upload is a file read from a multipart form before the church's
// database is acquired, or why it could not be.
type upload struct {
	file []byte
	err  error
}

type uploadKey struct{}

// authedUpload is authed for a multipart upload: the file is read (parts
// over 1 MiB spooled to disk by mime/multipart) and bounded by limit BEFORE
// the church's handle is acquired, so no handle waits on a slow upload. A
// request without a session cookie is sent to sign in without reading it.
func (h *Handler) authedUpload(limit int64, next func(http.ResponseWriter, *http.Request, *session, upload)) http.HandlerFunc {
	inner := h.authed(func(w http.ResponseWriter, r *http.Request, s *session) {
		up, _ := r.Context().Value(uploadKey{}).(*upload)
		next(w, r, s, *up)
	})
	return func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(sessionCookie); err != nil || auth.WebSessionTenant(c.Value) == "" {
			h.toSignIn(w, r)
			return
		}
		up := readUpload(w, r, limit)
		r = r.WithContext(context.WithValue(r.Context(), uploadKey{}, up))
		r.Body = http.NoBody
		inner(w, r)
	}
}

// errUploadTooLarge names the limit in plain words.
var errUploadTooLarge = func() error {
	e := steeple.Errorf(steeple.ETOOLARGE, "the file is larger than the size limit for one import")
	e.Fields = map[string]string{"file": "is larger than 20 MB, the size limit for one import"}
	return e
}()

// readUpload reads the form's "file" field.
func readUpload(w http.ResponseWriter, r *http.Request, limit int64) *upload {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	err := r.ParseMultipartForm(1 << 20)
	if r.MultipartForm != nil {
		defer func() { _ = r.MultipartForm.RemoveAll() }()
	}
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return &upload{err: errUploadTooLarge}
	}
	if err != nil {
		return &upload{err: steeple.FieldError("file", "is required")}
	}
	f, fh, err := r.FormFile("file")
	if err != nil {
		return &upload{err: steeple.FieldError("file", "is required")}
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return &upload{err: errUploadTooLarge}
	}
	if err != nil {
		return &upload{err: steeple.FieldError("file", "could not be read")}
	}
	if len(bytes.TrimSpace(b)) == 0 {
		if fh.Filename == "" {
			return &upload{err: steeple.FieldError("file", "is required")}
		}
		return &upload{err: steeple.FieldError("file", "is empty")}
	}
	if notText(b) {
		return &upload{err: steeple.FieldError("file", "is not a CSV file")}
	}
	return &upload{file: b}
}

// notText reports a binary file (a spreadsheet saved as .xlsx, a PDF, a
// picture): CSV text never holds NUL bytes.
func notText(b []byte) bool {
	head := b
	if len(head) > 8<<10 {
		head = head[:8<<10]
	}
	return bytes.IndexByte(head, 0) >= 0
}

// importUploadData is the upload page.
type importUploadData struct {
	LimitMB, MaxRows int
}

func (h *Handler) importForm(w http.ResponseWriter, r *http.Request, s *session) {
	h.showUploadForm(w, r, s, http.StatusOK)
}

func (h *Handler) showUploadForm(w http.ResponseWriter, r *http.Request, s *session, status int) {
	v := s.view
	v.TitleID = "import.title"
	v.Data = importUploadData{LimitMB: MaxImportUpload >> 20, MaxRows: members.MaxImportRows}
	h.render(w, r, status, "import", v)
}

// importUpload keeps the file and shows its preview (through a redirect,
// so reloading the preview never uploads again).
func (h *Handler) importUpload(w http.ResponseWriter, r *http.Request, s *session, up upload) {
	err := up.err
	var p *members.ImportPreview
	if err == nil {
		p, err = h.deps.Members.Preview(r.Context(), s.h, bytes.NewReader(up.file))
	}
	if err != nil {
		if se := (*steeple.Error)(nil); errors.As(err, &se) && se.Code == steeple.ETOOLARGE && se.Fields["file"] != "" {
			s.view.Form.Errors["file"] = se.Fields["file"]
			h.showUploadForm(w, r, s, http.StatusRequestEntityTooLarge)
			return
		}
		if h.formError(s.view, err, "file") {
			h.showUploadForm(w, r, s, statusOfFormError(err))
			return
		}
		h.fail(w, r, s.view, err)
		return
	}
	http.Redirect(w, r, "/members/import/"+p.ImportID, http.StatusSeeOther)
}

// statusOfFormError is the status of a page shown again with its errors.
func statusOfFormError(err error) int {
	if p, ok := pageOf[steeple.ErrorCode(err)]; ok && p.status < 500 {
		return p.status
	}
	return http.StatusBadRequest
}

// mappingRow is one field's select on the preview page.
type mappingRow struct {
	Field     string
	Required  bool
	Chosen    string   // the column read first ("": not imported)
	Fallbacks []string // columns that fill its blank cells
}

// importPreviewData is the preview page.
type importPreviewData struct {
	P       *members.ImportPreview
	Header  []string
	Mapping []mappingRow
	Missing []string
}

func (h *Handler) importPreview(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	if !steeple.ValidID(id) {
		h.fail(w, r, s.view, errNotFound)
		return
	}
	if _, err := h.deps.Members.ImportResult(r.Context(), s.h, id); err == nil {
		http.Redirect(w, r, "/members/import/"+id+"/done", http.StatusSeeOther)
		return
	}
	p, err := h.deps.Members.PreviewUpload(r.Context(), s.h, id, nil)
	if err != nil {
		h.fail(w, r, s.view, err)
		return
	}
	s.view.Form.Values["consent"] = ""
	h.showPreview(w, r, s, p, http.StatusOK)
}

func (h *Handler) showPreview(w http.ResponseWriter, r *http.Request, s *session, p *members.ImportPreview, status int) {
	v := s.view
	v.TitleID = "import.preview.title"
	v.region = h.phoneRegion(r.Context(), s.h)
	d := importPreviewData{P: p, Header: p.Header, Missing: p.Missing}
	for _, fc := range p.Mapping {
		row := mappingRow{Field: fc.Field, Required: fc.Required}
		if len(fc.Columns) > 0 {
			row.Chosen = fc.Columns[0]
			row.Fallbacks = fc.Columns[1:]
		}
		d.Mapping = append(d.Mapping, row)
	}
	v.Data = d
	h.render(w, r, status, "import_preview", v)
}

// mappingFromForm reads the edited mapping: each field's chosen column
// first, then the other columns that could hold it, which fill its blank
// cells. A field set to "not imported" is left out.
func mappingFromForm(r *http.Request, p *members.ImportPreview) map[string][]string {
	cands := map[string][]string{}
	for _, fc := range p.Mapping {
		cands[fc.Field] = fc.Candidates
	}
	m := map[string][]string{}
	for _, f := range importFields {
		chosen := strings.TrimSpace(r.PostForm.Get("map." + f))
		if chosen == "" {
			continue
		}
		cols := []string{chosen}
		for _, c := range cands[f] {
			if c != chosen {
				cols = append(cols, c)
			}
		}
		m[f] = cols
	}
	return m
}

// importRun previews again with the edited mapping ("Show the rows
// again") or imports with it and the consent statement.
func (h *Handler) importRun(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	v := s.view
	id := r.PathValue("id")
	if !steeple.ValidID(id) {
		h.fail(w, r, v, errNotFound)
		return
	}
	detected, err := h.deps.Members.PreviewUpload(ctx, s.h, id, nil)
	if err != nil {
		if steeple.ErrorCode(err) == steeple.ENOTFOUND {
			if _, rerr := h.deps.Members.ImportResult(ctx, s.h, id); rerr == nil {
				http.Redirect(w, r, "/members/import/"+id+"/done", http.StatusSeeOther)
				return
			}
		}
		h.fail(w, r, v, err)
		return
	}
	mapping := mappingFromForm(r, detected)
	p, err := h.deps.Members.PreviewUpload(ctx, s.h, id, mapping)
	if err != nil {
		if fe := fieldErrors(err); fe != nil {
			for k, m := range fe {
				v.Form.Errors[k] = m
			}
			h.showPreview(w, r, s, detected, http.StatusBadRequest)
			return
		}
		h.fail(w, r, v, err)
		return
	}
	consent, wording := r.PostForm.Get("consent"), strings.TrimSpace(r.PostForm.Get("wording"))
	v.Form.Values["consent"], v.Form.Values["wording"] = consent, wording
	if r.PostForm.Get("action") != "import" {
		h.showPreview(w, r, s, p, http.StatusOK)
		return
	}
	o := members.UploadImportOptions{Mapping: mapping}
	switch consent {
	case steeple.ConsentOptedIn:
		switch {
		case wording == "":
			v.Form.Errors["wording"] = "is required"
		case len([]rune(wording)) > 500:
			v.Form.Errors["wording"] = "must be at most 500 characters"
		}
		o.OptedIn, o.Wording = true, wording
	case "none":
	default:
		v.Form.Errors["consent"] = "choose one"
	}
	if len(p.Missing) > 0 {
		v.Form.Errors["mapping"] = "choose a column for each required field"
	}
	if len(v.Form.Errors) > 0 {
		h.showPreview(w, r, s, p, http.StatusBadRequest)
		return
	}
	if _, err := h.deps.Members.ImportUpload(ctx, s.h, id, o); err != nil {
		if steeple.ErrorCode(err) == steeple.ECONFLICT {
			// Imported already (a second click, another tab): show what it did.
			http.Redirect(w, r, "/members/import/"+id+"/done", http.StatusSeeOther)
			return
		}
		if fe := fieldErrors(err); fe != nil {
			for k, m := range fe {
				v.Form.Errors[k] = m
			}
			h.showPreview(w, r, s, p, http.StatusBadRequest)
			return
		}
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/members/import/"+id+"/done", http.StatusSeeOther)
}

// welcomeBatch is one day's welcome texts, for the summary.
type welcomeBatch struct {
	Count       int
	From, Until time.Time
}

// importSummaryData is the summary page.
type importSummaryData struct {
	ID          string
	S           *members.ImportSummary
	NotImported int // rows in the downloadable CSV (invalid and duplicates)
	Welcome     []welcomeBatch
	WelcomeAll  int // welcome texts planned
	WelcomeNow  bool
	Unpaced     int // welcome texts the cap leaves unsent
	DailyCap    int
}

func (h *Handler) importSummary(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	v.TitleID = "import.summary.title"
	id := r.PathValue("id")
	if !steeple.ValidID(id) {
		h.fail(w, r, v, errNotFound)
		return
	}
	sum, err := h.deps.Members.ImportResult(r.Context(), s.h, id)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d := importSummaryData{ID: id, S: sum, NotImported: sum.Invalid + sum.Duplicates}
	if wp := sum.Welcome; wp != nil && wp.Total > 0 {
		d.DailyCap = wp.DailyCap
		d.WelcomeNow = wp.DailyCap <= 0
		planned := 0
		for _, b := range wp.Batches {
			from, _ := time.Parse(time.RFC3339, b.From)
			until, _ := time.Parse(time.RFC3339, b.Until)
			d.Welcome = append(d.Welcome, welcomeBatch{Count: b.Count, From: from, Until: until})
			planned += b.Count
		}
		d.WelcomeAll, d.Unpaced = planned, wp.Total-planned
	}
	v.Data = d
	h.render(w, r, http.StatusOK, "import_summary", v)
}

func (h *Handler) importInvalidCSV(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	if !steeple.ValidID(id) {
		h.fail(w, r, s.view, errNotFound)
		return
	}
	b, err := h.deps.Members.ImportInvalidCSV(r.Context(), s.h, id)
	if err != nil {
		h.fail(w, r, s.view, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/csv; charset=utf-8")
	hd.Set("Content-Disposition", `attachment; filename="not-imported.csv"`)
	hd.Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// Reason translates why a row is skipped or changed, as the service said
// it (shown as it is when there is no translation).
func (v *view) Reason(msg string) string { return v.tr.serviceMessage(v.Lang, msg) }
