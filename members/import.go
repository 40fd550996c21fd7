package members

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// MaxImportRows bounds one import.
const MaxImportRows = 10_000

// columnNames maps the header names of common church-management exports
// (Planning Center People, Breeze, generic spreadsheets) to our fields.
var columnNames = map[string][]string{
	"first_name": {"first_name", "first name", "firstname", "first", "given name", "given_name", "nickname"},
	"last_name":  {"last_name", "last name", "lastname", "last", "surname", "family name"},
	"phone": {"phone", "mobile", "mobile phone", "mobile phone number", "mobile_phone", "cell", "cell phone",
		"phone number", "phone_number", "home phone number", "primary phone"},
	"email":  {"email", "e-mail", "email address", "home email", "primary email", "work email"},
	"groups": {"groups", "group", "lists", "tags", "ministries"},
}

// ImportSummary is the answer to an import: counts and one result per row.
type ImportSummary struct {
	Created    int `json:"created"`
	Updated    int `json:"updated"`
	Duplicates int `json:"skipped_duplicate"`
	// SharedPhone counts the rows whose phone another member also has (a
	// household's one mobile); they are created or updated like any other.
	SharedPhone int                  `json:"shared_phone"`
	Invalid     int                  `json:"invalid"`
	Rows        []store.ImportResult `json:"rows"`
}

// ImportOptions say what consent the imported people gave.
type ImportOptions struct {
	// OptedIn records that the church collected consent to text everyone in
	// the file; Wording is what they agreed to. Otherwise new members start
	// opted out.
	OptedIn bool
	Wording string
}

// Import reads a CSV file with a header row and creates or updates members.
// A bad row is reported and skipped; it never stops the good ones.
func (s *Service) Import(ctx context.Context, h *tenancy.Handle, r io.Reader, o ImportOptions) (*ImportSummary, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, steeple.FieldError("file", "is empty; expected a header row")
	}
	if err != nil {
		return nil, steeple.FieldError("file", "is not a CSV file: "+err.Error())
	}
	cols, err := mapColumns(header)
	if err != nil {
		return nil, err
	}
	var rows []store.ImportRow
	var invalid []store.ImportResult
	seen := map[string]int{} // phone and name → first line
	region, err := s.region(ctx, h)
	if err != nil {
		return nil, err
	}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if se := (*steeple.Error)(nil); errors.As(err, &se) {
			return nil, se // the upload's own limit (size), said by the caller's reader
		}
		if len(rows)+len(invalid) >= MaxImportRows {
			return nil, steeple.FieldError("file", fmt.Sprintf("has more than %d rows, the limit for one import; split it", MaxImportRows))
		}
		if pe := (*csv.ParseError)(nil); err != nil && !errors.As(err, &pe) {
			return nil, steeple.FieldError("file", "could not be read: "+err.Error())
		}
		if err != nil {
			invalid = append(invalid, store.ImportResult{Line: line, Outcome: store.ImportInvalid, Reason: "unreadable CSV: " + err.Error()})
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
	// The import records consent (opted in, or opted out for new members):
	// audited with counts only.
	if err := s.audit(ctx, h, actorFrom(ctx), "members.import", "", fmt.Sprintf("consent %s: %d rows imported", c.Status, len(done))); err != nil {
		return nil, err
	}
	if o.OptedIn {
		var created []string
		for _, r := range done {
			if r.Outcome == store.ImportCreated {
				created = append(created, r.MemberID)
			}
		}
		s.optedIn(ctx, h, created)
	}
	phones := make(map[int]string, len(rows))
	for _, r := range rows {
		phones[r.Line] = r.Member.Phone
	}
	for i := range done {
		done[i].NotTextableReason = NotTextable(phones[done[i].Line], region)
	}
	sum := &ImportSummary{Rows: append(done, invalid...)}
	sort.Slice(sum.Rows, func(i, j int) bool { return sum.Rows[i].Line < sum.Rows[j].Line })
	for _, r := range sum.Rows {
		if r.SharedPhone {
			sum.SharedPhone++
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
	return sum, nil
}

// mapColumns finds each field's column; a phone column and a first-name
// column are required.
func mapColumns(header []string) (map[string]int, error) {
	cols := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		for field, names := range columnNames {
			if _, done := cols[field]; done {
				continue
			}
			for _, n := range names {
				if name == n {
					cols[field] = i
				}
			}
		}
	}
	var missing []string
	for _, f := range []string{"first_name", "phone"} {
		if _, ok := cols[f]; !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return nil, steeple.FieldError("file", "header has no "+strings.Join(missing, " or ")+" column (e.g. \"First Name\", \"Mobile Phone Number\")")
	}
	return cols, nil
}

func parseRow(rec []string, cols map[string]int, region string) (store.ImportRow, string) {
	get := func(f string) string {
		i, ok := cols[f]
		if !ok || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	var row store.ImportRow
	row.Member.FirstName, row.Member.LastName = get("first_name"), get("last_name")
	if row.Member.FirstName == "" {
		return row, "first name is missing"
	}
	if len([]rune(row.Member.FirstName)) > 100 || len([]rune(row.Member.LastName)) > 100 {
		return row, "name is longer than 100 characters"
	}
	var msg string
	if row.Member.Phone, msg = NormalizePhone(get("phone"), region); msg != "" {
		return row, "phone " + msg
	}
	if e := get("email"); e != "" {
		if row.Member.Email, msg = auth.NormalizeEmail(e); msg != "" {
			return row, "email " + msg
		}
	}
	for _, g := range strings.FieldsFunc(get("groups"), func(r rune) bool { return r == ';' || r == ',' || r == '|' }) {
		if g = strings.TrimSpace(g); g != "" && len([]rune(g)) <= 100 {
			row.Groups = append(row.Groups, g)
		}
	}
	return row, ""
}

// personKey tells apart the rows of one file: the same phone with another
// first name is another member of a household, not a duplicate (a last
// name may change; two people of a household sharing a first name and a
// phone are rare enough to enter by hand).
func personKey(r store.ImportRow) string {
	return r.Member.Phone + "\x00" + strings.ToLower(r.Member.FirstName)
}
