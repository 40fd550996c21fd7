package members

import (
	"os"
	"strings"
	"testing"
	"time"
)

// The fixtures are shaped like real exports; each names, per field, the
// header the detection must prefer, and some rows as they must be read.
func TestReadImportFileRealExports(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		file        string
		records     int
		first, fone string
		rows        map[int][2]string // record index → first name, phone
	}{
		{"planning_center.csv", 32, "First Name", "Mobile Phone Number", map[int][2]string{1: {"Ben", "+13125550202"},
			2: {"Chloe", "+13125550203"}, 3: {"Danny", "+13125550204"}, 4: {"Elena", "+13125550205"}, 5: {"Felipe", "+13125550406"},
			6: {"Grace", "+13125550507"}, 25: {"Zoë", "+13125550226"}}},
		{"breeze.csv", 5, "First Name", "Mobile", map[int][2]string{1: {"Laz", "+13125550602"}}},
		{"ccb.csv", 4, "First Name", "Cell Phone", map[int][2]string{0: {"Jon", "+13125550701"}, 1: {"Sarah", "+13125550791"}}},
		{"excel_bom.csv", 2, "First Name", "Phone", map[int][2]string{0: {"José", "+13125550801"}}},
		{"semicolon_es.csv", 2, "Nombre", "Celular", map[int][2]string{0: {"María", "+13125550911"}, 1: {"Pedro", "+13125550902"}}},
		{"mac_roman_cr.csv", 2, "First Name", "Cell Phone", map[int][2]string{0: {"Zoë", "+13125551001"}, 1: {"René", "+13125551002"}}},
		{"windows_1252.csv", 2, "First Name", "Mobile Phone", map[int][2]string{0: {"Renée", "+13125551101"}, 1: {"François", "+13125551102"}}},
	} {
		t.Run(c.file, func(t *testing.T) {
			b, err := os.ReadFile("testdata/import/" + c.file)
			if err != nil {
				t.Fatal(err)
			}
			f, err := readImportFile(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.records) != c.records || len(f.errs) != 0 {
				t.Fatalf("%d records, unreadable %v; want %d", len(f.records), f.errs, c.records)
			}
			if got := f.header[f.detected["first_name"][0]]; got != c.first {
				t.Errorf("first name from %q; want %q", got, c.first)
			}
			if got := f.header[f.detected["phone"][0]]; got != c.fone {
				t.Errorf("phone from %q; want %q", got, c.fone)
			}
			for i, want := range c.rows {
				row, reason := parseRow(f.records[i], f.detected, "US")
				if reason != "" || row.Member.FirstName != want[0] || row.Member.Phone != want[1] {
					t.Errorf("record %d: %q %q (%s); want %q %q", i, row.Member.FirstName, row.Member.Phone, reason, want[0], want[1])
				}
			}
		})
	}
}

func TestParseRowKeepsRowWithBadEmail(t *testing.T) {
	t.Parallel()
	m := DetectMapping([]string{"First Name", "Mobile", "Home Email", "Work Email"})
	row, reason := parseRow([]string{"Hannah", "312-555-0208", "hannah at example", "h@work.example.com"}, m, "US")
	if reason != "" || row.Member.Phone != "+13125550208" || row.Member.Email != "" || !strings.Contains(row.Warning, "hannah at example") {
		t.Fatalf("row %+v, reason %q; want kept without email, the email reported", row, reason)
	}
	row, _ = parseRow([]string{"Isaac", "312-555-0209", "", "I@Work.example.com"}, m, "US")
	if row.Member.Email != "i@work.example.com" {
		t.Fatalf("blank home email: %q; want the work email", row.Member.Email)
	}
}

func TestDetectMappingPrefersMeaning(t *testing.T) {
	t.Parallel()
	h := []string{"Nickname", "Home Phone Number", "Given Name", "Work Phone Number", "First Name", "Mobile Phone Number", "Fax Phone Number"}
	m := DetectMapping(h)
	names := func(f string) string {
		var out []string
		for _, i := range m[f] {
			out = append(out, h[i])
		}
		return strings.Join(out, "|")
	}
	if got := names("first_name"); got != "First Name|Given Name|Nickname" {
		t.Errorf("first name columns %s", got)
	}
	if got := names("phone"); got != "Mobile Phone Number|Home Phone Number|Work Phone Number" {
		t.Errorf("phone columns %s", got)
	}
}

func TestPlanWelcomesUsesHalfTheRemainingCap(t *testing.T) {
	t.Parallel()
	loc, _ := time.LoadLocation("America/Chicago")
	now := time.Date(2026, 3, 10, 18, 0, 0, 0, time.UTC)
	p := PlanWelcomes(150, now, 200, 40, loc)
	// Today: half of the 160 left = 80, from now to midnight UTC; then
	// half of a full day's 200 = 100 a day.
	if p.Total != 150 || len(p.Batches) != 2 || p.Batches[0].Count != 80 || p.Batches[1].Count != 70 {
		t.Fatalf("plan %+v; want 80 today, 70 tomorrow", p)
	}
	total := 0
	for _, b := range p.Batches {
		for _, s := range b.Slots {
			total += s.Count
			if s.At.Before(now) {
				t.Errorf("slot at %v before now", s.At)
			}
		}
	}
	last := p.Batches[0].Slots[len(p.Batches[0].Slots)-1].At
	if total != 150 || !last.Before(time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("slots add to %d, today's last at %v", total, last)
	}
	if !strings.Contains(p.Summary, "150 welcome texts") || !strings.Contains(p.Summary, "America/Chicago") || !strings.Contains(p.Batches[0].From, "-05:00") {
		t.Fatalf("summary %q, from %q; want the church's timezone", p.Summary, p.Batches[0].From)
	}
	if p := PlanWelcomes(500, now, 0, 0, loc); len(p.Batches) != 1 || p.Batches[0].Count != 500 {
		t.Fatalf("no cap: %+v; want all now", p)
	}
}

func TestPlanWelcomesCapSpentToday(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 18, 0, 0, 0, time.UTC)
	p := PlanWelcomes(30, now, 20, 19, time.UTC)
	if len(p.Batches) != 3 || p.Batches[0].Slots[0].At != time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC) ||
		!strings.Contains(p.Summary, "0 of them today") {
		t.Fatalf("plan with 1 text left today: %+v; want none today, 10 a day from tomorrow", p)
	}
	if p := PlanWelcomes(5, now, 1, 0, time.UTC); !strings.Contains(p.Summary, "cannot be paced") {
		t.Fatalf("cap of 1: %q", p.Summary)
	}
}
