package members

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// MaxImportRows bounds one import.
const MaxImportRows = 10_000

// ImportSummary is the answer to an import: counts and one result per row.
type ImportSummary struct {
	Created    int `json:"created"`
	Updated    int `json:"updated"`
	Duplicates int `json:"skipped_duplicate"`
	// SharedPhone counts the rows whose phone another member also has (a
	// household's one mobile); they are created or updated like any other.
	SharedPhone int `json:"shared_phone"`
	Invalid     int `json:"invalid"`
	// EmailDropped counts the rows imported without their invalid email.
	EmailDropped int                  `json:"email_dropped"`
	Rows         []store.ImportResult `json:"rows"`
	// Welcome says how many welcome texts the import queued and when they
	// go (nil when the import recorded no consent or the welcome texts are
	// not paced).
	Welcome *WelcomePlan `json:"welcome,omitempty"`
	// ImportID names a two-step import (see Preview), for its invalid rows.
	ImportID string `json:"import_id,omitempty"`

	invalidCSV []byte
}

// InvalidCSV is the file of the rows not imported (invalid or duplicate),
// each with its line and the reason, then the row's own cells.
func (s *ImportSummary) InvalidCSV() []byte { return s.invalidCSV }

// ImportOptions say what consent the imported people gave.
type ImportOptions struct {
	// OptedIn records that the church collected consent to text everyone in
	// the file; Wording is what they agreed to. Otherwise new members start
	// opted out.
	OptedIn bool
	Wording string
}

// Import reads a CSV file with a header row and creates or updates members,
// with the columns it detects. A bad row is reported and skipped; it never
// stops the good ones.
func (s *Service) Import(ctx context.Context, h *tenancy.Handle, r io.Reader, o ImportOptions) (*ImportSummary, error) {
	b, err := io.ReadAll(r)
	if se := (*steeple.Error)(nil); errors.As(err, &se) {
		return nil, se // the upload's own limit (size), said by the caller's reader
	}
	if err != nil {
		return nil, steeple.FieldError("file", "could not be read: "+err.Error())
	}
	f, err := readImportFile(b)
	if err != nil {
		return nil, err
	}
	return s.importFile(ctx, h, f, f.detected, o)
}

// importFile imports a read file with a mapping.
func (s *Service) importFile(ctx context.Context, h *tenancy.Handle, f *importFile, cols Mapping, o ImportOptions) (*ImportSummary, error) {
	if err := cols.check(); err != nil {
		return nil, err
	}
	var rows []store.ImportRow
	var invalid []store.ImportResult
	seen := map[string]int{} // phone and name → first line
	region, err := s.region(ctx, h)
	if err != nil {
		return nil, err
	}
	for i, rec := range f.records {
		line := f.lines[i]
		if msg, bad := f.errs[i]; bad {
			invalid = append(invalid, store.ImportResult{Line: line, Outcome: store.ImportInvalid, Reason: "unreadable CSV: " + msg})
			continue
		}
		row, reason := parseRow(rec, cols, region)
		switch {
		case reason != "":
			invalid = append(invalid, store.ImportResult{Line: line, Outcome: store.ImportInvalid, Reason: reason})
		case seen[personKey(row)] != 0:
			invalid = append(invalid, store.ImportResult{Line: line, Outcome: store.ImportDuplicate,
				Reason: fmt.Sprintf("same phone and first name as line %d", seen[personKey(row)])})
		default:
			seen[personKey(row)] = line
			row.Line = line
			rows = append(rows, row)
		}
	}
	c := steeple.Consent{Status: steeple.ConsentOptedOut, Source: steeple.ConsentSourceImport}
	if o.OptedIn {
		c.Status, c.Wording = steeple.ConsentOptedIn, strings.TrimSpace(o.Wording)
	}
	done, err := s.store.ImportMembers(ctx, h, rows, c)
	if err != nil {
		return nil, err
	}
	sum := &ImportSummary{}
	// The import records consent (opted in, or opted out for new members):
	// audited with counts only.
	if err := s.audit(ctx, h, actorFrom(ctx), "members.import", "", fmt.Sprintf("consent %s: %d rows imported", c.Status, len(done))); err != nil {
		return nil, err
	}
	if o.OptedIn {
		var welcome []string
		for _, r := range done {
			if r.OptedIn {
				welcome = append(welcome, r.MemberID)
			}
		}
		if sum.Welcome, err = s.welcomeImported(ctx, h, welcome); err != nil {
			return nil, err
		}
	}
	byLine := make(map[int]store.ImportRow, len(rows))
	for _, r := range rows {
		byLine[r.Line] = r
	}
	for i := range done {
		r := byLine[done[i].Line]
		done[i].NotTextableReason = NotTextable(r.Member.Phone, region)
		done[i].Warning = r.Warning
	}
	sum.Rows = append(done, invalid...)
	sort.Slice(sum.Rows, func(i, j int) bool { return sum.Rows[i].Line < sum.Rows[j].Line })
	for _, r := range sum.Rows {
		if r.SharedPhone {
			sum.SharedPhone++
		}
		if r.Warning != "" {
			sum.EmailDropped++
		}
		switch r.Outcome {
		case store.ImportCreated:
			sum.Created++
		case store.ImportUpdated:
			sum.Updated++
		case store.ImportDuplicate:
			sum.Duplicates++
		default:
			sum.Invalid++
		}
	}
	sum.invalidCSV = f.invalidCSV(sum.Rows)
	return sum, nil
}

// welcomeImported queues the welcome texts of members an import opted in:
// paced by the OptIn when there is one.
func (s *Service) welcomeImported(ctx context.Context, h *tenancy.Handle, ids []string) (*WelcomePlan, error) {
	if len(ids) == 0 {
		return &WelcomePlan{Batches: []WelcomeBatch{}}, nil
	}
	if s.pacedOptIn != nil {
		return s.pacedOptIn(ctx, h, ids)
	}
	s.optedIn(ctx, h, ids)
	return nil, nil
}

func parseRow(rec []string, cols Mapping, region string) (store.ImportRow, string) {
	get := func(f string) string { return cols.value(rec, f) }
	var row store.ImportRow
	row.Member.FirstName, row.Member.LastName = get("first_name"), get("last_name")
	if row.Member.FirstName == "" {
		return row, "first name is missing"
	}
	if len([]rune(row.Member.FirstName)) > 100 || len([]rune(row.Member.LastName)) > 100 {
		return row, "name is longer than 100 characters"
	}
	var msg string
	if row.Member.Phone, msg = firstPhone(rec, cols, region); msg != "" {
		return row, "phone " + msg
	}
	// A bad email does not cost the member whose phone is good: the row is
	// imported without it, and the result says so.
	if e := get("email"); e != "" {
		var err error
		if row.Member.Email, err = steeple.NormalizeEmail("email", e); err != nil {
			row.Member.Email, row.Warning = "", "email "+quote(e)+" "+steeple.FieldMessage(err, "email")+"; imported without an email"
		}
	}
	for _, g := range strings.FieldsFunc(get("groups"), func(r rune) bool { return r == ';' || r == ',' || r == '|' }) {
		if g = strings.TrimSpace(g); g != "" && len([]rune(g)) <= 100 {
			row.Groups = append(row.Groups, g)
		}
	}
	return row, ""
}

// firstPhone is the row's phone from its best phone column with a cell: a
// blank mobile falls back to the home number. The best non-blank cell
// decides; an invalid one is reported, not skipped silently.
func firstPhone(rec []string, cols Mapping, region string) (string, string) {
	e164, err := steeple.NormalizePhone("phone", cols.value(rec, "phone"), region)
	return e164, steeple.FieldMessage(err, "phone")
}

// personKey tells apart the rows of one file: the same phone with another
// first name is another member of a household, not a duplicate (a last
// name may change; two people of a household sharing a first name and a
// phone are rare enough to enter by hand).
func personKey(r store.ImportRow) string {
	return r.Member.Phone + "\x00" + strings.ToLower(r.Member.FirstName)
}
