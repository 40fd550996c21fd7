package members

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"

	"golang.org/x/text/encoding/charmap"
)

// decodeCSV turns an uploaded file into UTF-8 text with LF line endings,
// whatever program saved it: Excel's UTF-8 byte-order mark is dropped; a
// file that is not UTF-8 is read as Windows-1252 (Excel on Windows) or Mac
// Roman (Excel on a Mac), whichever its accented bytes fit; old Mac CR line
// endings become LF.
func decodeCSV(b []byte) string {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	var s string
	if utf8.Valid(b) {
		s = string(b)
	} else {
		dec := charmap.Windows1252.NewDecoder()
		if looksMacRoman(b) {
			dec = charmap.Macintosh.NewDecoder()
		}
		out, err := dec.Bytes(b)
		if err != nil {
			out = bytes.ToValidUTF8(b, []byte("\uFFFD"))
		}
		s = string(out)
	}
	if bytes.IndexByte([]byte(s), '\r') >= 0 {
		s = string(bytes.ReplaceAll(bytes.ReplaceAll([]byte(s), []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n")))
	}
	return s
}

// looksMacRoman tells Mac Roman from Windows-1252: Mac Roman puts its
// accented letters (é 0x8E, ñ 0x96, ü 0x9F) in 0x80–0x9F, where
// Windows-1252 has rarer punctuation, and Windows-1252 puts them in
// 0xC0–0xFF.
func looksMacRoman(b []byte) bool {
	low, high := 0, 0
	for _, c := range b {
		switch {
		case c >= 0x80 && c <= 0x9F:
			low++
		case c >= 0xC0:
			high++
		}
	}
	return low > high
}

// sniffDelimiter picks the separator of the header line: comma, semicolon
// (Excel in much of Europe and Latin America) or tab, whichever occurs most
// outside quotes.
func sniffDelimiter(text string) rune {
	line := text
	if i := bytes.IndexByte([]byte(text), '\n'); i >= 0 {
		line = text[:i]
	}
	counts := map[rune]int{}
	quoted := false
	for _, r := range line {
		switch {
		case r == '"':
			quoted = !quoted
		case !quoted && (r == ',' || r == ';' || r == '\t'):
			counts[r]++
		}
	}
	best := ','
	for _, r := range []rune{';', '\t'} {
		if counts[r] > counts[best] {
			best = r
		}
	}
	return best
}

// importFile is an uploaded CSV, read: its header, its records with their
// line numbers, the records the CSV reader could not read, and the
// columns detected for each field.
type importFile struct {
	header   []string
	records  [][]string
	lines    []int
	errs     map[int]string // record index → why it is unreadable
	detected Mapping
}

// readImportFile reads an upload of at most MaxImportRows rows.
func readImportFile(b []byte) (*importFile, error) {
	text := decodeCSV(b)
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comma = sniffDelimiter(text)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, steeple.FieldError("file", "is empty; expected a header row")
	}
	if err != nil {
		return nil, steeple.FieldError("file", "is not a CSV file: "+err.Error())
	}
	for i := range header {
		header[i] = strings.TrimSpace(header[i])
	}
	f := &importFile{header: header, errs: map[int]string{}, detected: DetectMapping(header)}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if len(f.records) >= MaxImportRows {
			return nil, steeple.FieldError("file", fmt.Sprintf("has more than %d rows, the limit for one import; split it", MaxImportRows))
		}
		if pe := (*csv.ParseError)(nil); err != nil && !errors.As(err, &pe) {
			return nil, steeple.FieldError("file", "could not be read: "+err.Error())
		}
		if err != nil {
			f.errs[len(f.records)] = err.Error()
		}
		if blank(rec) && err == nil {
			continue // Excel leaves empty rows (",,,,") at the end
		}
		f.records = append(f.records, rec)
		f.lines = append(f.lines, line)
	}
	return f, nil
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// invalidCSV writes the rows not imported: line, outcome, reason, then the
// row as it was in the file.
func (f *importFile) invalidCSV(results []store.ImportResult) []byte {
	byLine := make(map[int][]string, len(f.lines))
	for i, l := range f.lines {
		byLine[l] = f.records[i]
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(append([]string{"Line", "Outcome", "Reason"}, f.header...))
	for _, r := range results {
		if r.Outcome != store.ImportInvalid && r.Outcome != store.ImportDuplicate {
			continue
		}
		rec := make([]string, 0, 3+len(f.header))
		rec = append(rec, strconv.Itoa(r.Line), r.Outcome, r.Reason)
		for _, c := range byLine[r.Line] {
			rec = append(rec, csvSafe(c))
		}
		_ = w.Write(rec)
	}
	w.Flush()
	return buf.Bytes()
}

// csvSafe keeps a cell from being run as a formula when the file is opened
// in a spreadsheet.
func csvSafe(c string) string {
	if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
		return "'" + c
	}
	return c
}
