package members

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// ImportUploadTTL is how long an uploaded file waits between its preview
// and its import (and its result stays downloadable).
const ImportUploadTTL = time.Hour

// PreviewRows is how many rows a preview shows.
const PreviewRows = 10

// ImportPreview is the first step of an import: what was detected in the
// file, and the first rows as they would be imported.
type ImportPreview struct {
	ImportID  string         `json:"import_id"`
	ExpiresAt time.Time      `json:"expires_at"`
	Header    []string       `json:"header"`
	Rows      int            `json:"rows"`
	Mapping   []FieldColumns `json:"mapping"`
	// Missing names the required fields with no column; the import needs
	// a mapping that gives them one.
	Missing []string     `json:"missing"`
	Sample  []PreviewRow `json:"sample"`
}

// PreviewRow is one row as it would be imported, or why it would not.
type PreviewRow struct {
	Line      int      `json:"line"`
	FirstName string   `json:"first_name"`
	LastName  string   `json:"last_name"`
	Phone     string   `json:"phone"`
	Email     string   `json:"email"`
	Groups    []string `json:"groups"`
	Invalid   string   `json:"invalid,omitempty"`
	Warning   string   `json:"warning,omitempty"`
}

// Preview keeps an uploaded CSV for ImportUploadTTL and says what it
// holds: the detected mapping and the first rows as they would be imported.
func (s *Service) Preview(ctx context.Context, h *tenancy.Handle, r io.Reader) (*ImportPreview, error) {
	b, err := io.ReadAll(r)
	if se := (*steeple.Error)(nil); errors.As(err, &se) {
		return nil, se
	}
	if err != nil {
		return nil, steeple.FieldError("file", "could not be read: "+err.Error())
	}
	f, err := readImportFile(b)
	if err != nil {
		return nil, err
	}
	p, err := s.preview(ctx, h, f, f.detected)
	if err != nil {
		return nil, err
	}
	if p.ImportID, err = s.store.SaveImportUpload(ctx, h, b, ImportUploadTTL); err != nil {
		return nil, err
	}
	p.ExpiresAt = s.store.Now().Add(ImportUploadTTL)
	return p, nil
}

func (s *Service) preview(ctx context.Context, h *tenancy.Handle, f *importFile, m Mapping) (*ImportPreview, error) {
	region, err := s.region(ctx, h)
	if err != nil {
		return nil, err
	}
	p := &ImportPreview{Header: f.header, Rows: len(f.records), Mapping: m.describe(f.header), Missing: []string{}, Sample: []PreviewRow{}}
	for _, fc := range p.Mapping {
		if fc.Required && len(fc.Columns) == 0 {
			p.Missing = append(p.Missing, fc.Field)
		}
	}
	for i := 0; i < len(f.records) && i < PreviewRows; i++ {
		row, reason := parseRow(f.records[i], m, region)
		if msg, bad := f.errs[i]; bad {
			reason = "unreadable CSV: " + msg
		}
		groups := row.Groups
		if groups == nil {
			groups = []string{}
		}
		p.Sample = append(p.Sample, PreviewRow{Line: f.lines[i], FirstName: row.Member.FirstName, LastName: row.Member.LastName,
			Phone: row.Member.Phone, Email: row.Member.Email, Groups: groups, Invalid: reason, Warning: row.Warning})
	}
	return p, nil
}

// UploadImportOptions are the second step's choices: the mapping, edited
// (nil: the detected one), and the consent the church collected.
type UploadImportOptions struct {
	Mapping map[string][]string
	ImportOptions
}

// ImportUpload imports a previewed file, once. Errors: ENOTFOUND (no such
// upload, expired, or another church's), ECONFLICT (already imported),
// EINVALID (a mapping that does not fit the file).
func (s *Service) ImportUpload(ctx context.Context, h *tenancy.Handle, id string, o UploadImportOptions) (*ImportSummary, error) {
	u, err := s.store.ImportUpload(ctx, h, id)
	if err != nil {
		return nil, err
	}
	f, err := readImportFile(u.File)
	if err != nil {
		return nil, err
	}
	m := f.detected
	if o.Mapping != nil {
		if m, err = MappingFromNames(f.header, o.Mapping); err != nil {
			return nil, err
		}
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	if err := s.store.ClaimImportUpload(ctx, h, id); err != nil {
		return nil, err
	}
	sum, err := s.importFile(ctx, h, f, m, o.ImportOptions)
	if err != nil {
		_ = s.store.ReleaseImportUpload(context.WithoutCancel(ctx), h, id)
		return nil, err
	}
	sum.ImportID = id
	js, err := json.Marshal(sum)
	if err != nil {
		return nil, err
	}
	if err := s.store.FinishImportUpload(ctx, h, id, string(js), sum.InvalidCSV()); err != nil {
		return nil, err
	}
	return sum, nil
}

// ImportInvalidCSV is the CSV of an import's rows not imported, with
// why. Errors: ENOTFOUND (also before the import is done).
func (s *Service) ImportInvalidCSV(ctx context.Context, h *tenancy.Handle, id string) ([]byte, error) {
	u, err := s.store.ImportUpload(ctx, h, id)
	if err != nil {
		return nil, err
	}
	if u.Summary == "" {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "import not finished")
	}
	return u.InvalidCSV, nil
}

// ImportResult is a finished import's summary. Errors: ENOTFOUND.
func (s *Service) ImportResult(ctx context.Context, h *tenancy.Handle, id string) (*ImportSummary, error) {
	u, err := s.store.ImportUpload(ctx, h, id)
	if err != nil {
		return nil, err
	}
	if u.Summary == "" {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "import not finished")
	}
	var sum ImportSummary
	if err := json.Unmarshal([]byte(u.Summary), &sum); err != nil {
		return nil, err
	}
	return &sum, nil
}

// PreviewUpload previews a kept upload again, with a mapping edited by an
// admin (nil: the detected one), for the web screen's mapping step. A
// mapping that names columns the file lacks is EINVALID with per-field
// messages; one that leaves a required field without a column is
// previewed, with the field in Missing. Errors: ENOTFOUND.
func (s *Service) PreviewUpload(ctx context.Context, h *tenancy.Handle, id string, mapping map[string][]string) (*ImportPreview, error) {
	u, err := s.store.ImportUpload(ctx, h, id)
	if err != nil {
		return nil, err
	}
	f, err := readImportFile(u.File)
	if err != nil {
		return nil, err
	}
	m := f.detected
	if mapping != nil {
		if m, err = MappingFromNames(f.header, mapping); err != nil {
			return nil, err
		}
	}
	p, err := s.preview(ctx, h, f, m)
	if err != nil {
		return nil, err
	}
	p.ImportID = id
	p.ExpiresAt = u.CreatedAt.Add(ImportUploadTTL)
	return p, nil
}
