package members

import (
	"sort"
	"strings"

	"github.com/steeple-sms/steeple"
)

// Import fields, in the order a preview shows them.
var importFields = []string{"first_name", "last_name", "phone", "email", "groups"}

// columnNames ranks the header names of common church-management exports
// (Planning Center People, Breeze, Church Community Builder, generic
// spreadsheets) for each field, best first: a mobile number before a home
// or work one, the name a person goes by ("First Name") before a legal
// "Given Name", and a nickname only when nothing else is there. Names are
// compared after normalizeHeader.
var columnNames = map[string][]string{
	"first_name": {"first name", "firstname", "first", "fname", "preferred name", "preferred first name",
		"given name", "givenname", "legal first name", "nombre", "nombres", "primer nombre", "nickname", "nick name", "goes by", "apodo"},
	"last_name": {"last name", "lastname", "last", "lname", "surname", "family name", "legal last name", "apellido", "apellidos"},
	"phone": {"mobile phone number", "mobile phone", "mobile", "mobile number", "cell phone", "cell phone number", "cell",
		"cell number", "cellphone", "sms phone", "text phone", "phone", "phone number", "primary phone", "primary phone number",
		"contact phone", "home phone number", "home phone", "home", "work phone number", "work phone", "work",
		"other phone number", "other phone", "celular", "móvil", "movil", "teléfono móvil", "telefono movil",
		"teléfono", "telefono", "teléfono casa", "telefono casa"},
	"email": {"email", "e mail", "email address", "e mail address", "primary email", "primary email address",
		"personal email", "home email", "home email address", "work email", "work email address", "other email", "other email address", "correo", "correo electrónico",
		"correo electronico"},
	"groups": {"groups", "group", "group names", "lists", "tags", "ministries", "grupos", "ministerios"},
}

// normalizeHeader makes header names comparable: lower case, no BOM,
// separators as single spaces ("E-Mail_Address" → "e mail address").
func normalizeHeader(h string) string {
	h = strings.ToLower(strings.TrimPrefix(h, "\ufeff"))
	h = strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r == '.' || r == ':' || r == '/' {
			return ' '
		}
		return r
	}, h)
	return strings.Join(strings.Fields(h), " ")
}

// columnRank says how good a header name is for a field (lower is
// better); ok is false when it does not fit.
func columnRank(field, name string) (int, bool) {
	for i, n := range columnNames[field] {
		if name == n {
			return i, true
		}
	}
	// Names no list holds ("Cell Phone (Primary)", "Email 2") still fit by
	// their words, after every exact name.
	words := " " + name + " "
	switch field {
	case "phone":
		if strings.Contains(words, " fax ") || strings.Contains(words, " pager ") {
			return 0, false
		}
		switch {
		case strings.Contains(words, " mobile ") || strings.Contains(words, " cell "):
			return 100, true
		case strings.Contains(words, " phone ") || strings.Contains(words, " tel "):
			return 101, true
		}
	case "email":
		if strings.Contains(words, " email ") || strings.Contains(words, " e mail ") {
			return 100, true
		}
	}
	return 0, false
}

// Mapping is, for each field, the columns it is read from in order of
// preference: a row's blank cell falls back to the next column.
type Mapping map[string][]int

// DetectMapping finds each field's columns in a header row.
func DetectMapping(header []string) Mapping {
	m := Mapping{}
	for _, f := range importFields {
		type cand struct{ col, rank int }
		var cs []cand
		for i, h := range header {
			if r, ok := columnRank(f, normalizeHeader(h)); ok {
				cs = append(cs, cand{i, r})
			}
		}
		sort.SliceStable(cs, func(i, j int) bool { return cs[i].rank < cs[j].rank })
		for _, c := range cs {
			m[f] = append(m[f], c.col)
		}
	}
	return m
}

// MappingFromNames builds a mapping edited by an admin: each field names
// its columns by header, best first. A field left out is not imported.
func MappingFromNames(header []string, names map[string][]string) (Mapping, error) {
	idx := map[string]int{}
	for i, h := range header {
		k := strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if _, dup := idx[k]; !dup {
			idx[k] = i
		}
	}
	m := Mapping{}
	fields := map[string]string{}
	for f, cols := range names {
		if _, known := columnNames[f]; !known {
			fields["mapping."+f] = "is not a field; known fields: " + strings.Join(importFields, ", ")
			continue
		}
		for _, c := range cols {
			i, ok := idx[strings.TrimSpace(c)]
			if !ok {
				fields["mapping."+f] = "names column " + quote(c) + ", which the file's header does not have"
				break
			}
			m[f] = append(m[f], i)
		}
	}
	if len(fields) > 0 {
		e := steeple.Errorf(steeple.EINVALID, "the column mapping does not fit the file")
		e.Fields = fields
		return nil, e
	}
	return m, nil
}

func quote(s string) string { return "\"" + s + "\"" }

// check says which required fields have no column.
func (m Mapping) check() error {
	var missing []string
	for _, f := range []string{"first_name", "phone"} {
		if len(m[f]) == 0 {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return steeple.FieldError("file", "header has no "+strings.Join(missing, " or ")+" column (e.g. \"First Name\", \"Mobile Phone Number\")")
	}
	return nil
}

// value is a row's first non-blank cell among the field's columns.
func (m Mapping) value(rec []string, field string) string {
	for _, i := range m[field] {
		if i < len(rec) {
			if v := strings.TrimSpace(rec[i]); v != "" {
				return v
			}
		}
	}
	return ""
}

// FieldColumns describes one field's mapping for a preview: the header
// names it reads, best first (the first is used, the others fill its blank
// cells), and every column of the file that could hold it.
type FieldColumns struct {
	Field      string   `json:"field"`
	Columns    []string `json:"columns"`
	Candidates []string `json:"candidates"`
	Required   bool     `json:"required"`
}

// describe turns a mapping into its preview form.
func (m Mapping) describe(header []string) []FieldColumns {
	detected := DetectMapping(header)
	out := make([]FieldColumns, 0, len(importFields))
	for _, f := range importFields {
		fc := FieldColumns{Field: f, Columns: []string{}, Candidates: []string{}, Required: f == "first_name" || f == "phone"}
		for _, i := range m[f] {
			fc.Columns = append(fc.Columns, header[i])
		}
		for _, i := range detected[f] {
			fc.Candidates = append(fc.Candidates, header[i])
		}
		out = append(out, fc)
	}
	return out
}
