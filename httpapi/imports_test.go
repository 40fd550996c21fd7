package httpapi_test

import (
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
)

// pcoFixture is the Planning Center People-shaped export (32 people, a
// blank Given Name before First Name, several phone and email columns);
// the web browser tests import it too.
const pcoFixture = "../members/testdata/import/planning_center.csv"

// previewAnswer is the answer to POST /api/v1/imports.
type previewAnswer struct {
	ImportID string   `json:"import_id"`
	Header   []string `json:"header"`
	Rows     int      `json:"rows"`
	Mapping  []struct {
		Field      string   `json:"field"`
		Columns    []string `json:"columns"`
		Candidates []string `json:"candidates"`
	} `json:"mapping"`
	Missing []string `json:"missing"`
	Sample  []struct {
		Line      int    `json:"line"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Phone     string `json:"phone"`
		Email     string `json:"email"`
		Invalid   string `json:"invalid"`
		Warning   string `json:"warning"`
	} `json:"sample"`
}

// runAnswer is the answer to POST /api/v1/imports/{id}.
type runAnswer struct {
	importAnswer
	SharedPhone  int    `json:"shared_phone"`
	EmailDropped int    `json:"email_dropped"`
	ImportID     string `json:"import_id"`
	Welcome      *struct {
		Total    int `json:"total"`
		DailyCap int `json:"daily_cap"`
		Batches  []struct {
			Count       int
			From, Until string
		} `json:"batches"`
		Summary string `json:"summary"`
	} `json:"welcome"`
}

func previewFile(t *testing.T, s *testkit.Server, token, path string) (*testkit.Response, previewAnswer) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return previewBody(t, s, token, string(b))
}

func previewBody(t *testing.T, s *testkit.Server, token, body string) (*testkit.Response, previewAnswer) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/imports", strings.NewReader(body))
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := &testkit.Response{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	var p previewAnswer
	if r.Status == http.StatusCreated {
		r.Decode(t, &p)
	}
	return r, p
}

func getRaw(t *testing.T, s *testkit.Server, token, path string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw), resp.Header
}

func memberByPhone(t *testing.T, s *testkit.Server, token, phone string) apiMember {
	t.Helper()
	ms, _ := listMembers(t, s, token, url.Values{"q": {phone}})
	if len(ms) != 1 {
		t.Fatalf("members with phone %s: %s; want one", phone, memberNames(ms))
	}
	var m apiMember
	s.Do(t, "GET", "/api/v1/members/"+ms[0].ID, token, nil).Decode(t, &m)
	return m
}

func TestTwoStepImport(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Welcome: true,
			Messaging: func(c *messaging.Config) { c.UnregisteredDailyCap = 20 }})
		a := signup(t, s, "Grace Chapel", "owner@grace.example.org", pw1)
		other := signup(t, s, "Other Church", "owner@other.example.org", pw2)

		// Planning Center: preview, then import without consent.
		r, p := previewFile(t, s, a.access, pcoFixture)
		wantStatus(t, r, http.StatusCreated)
		cols := map[string][]string{}
		for _, m := range p.Mapping {
			cols[m.Field] = m.Columns
		}
		if p.Rows != 32 || len(p.Missing) != 0 || strings.Join(cols["first_name"], "|") != "First Name|Given Name|Nickname" ||
			strings.Join(cols["phone"], "|") != "Mobile Phone Number|Home Phone Number|Work Phone Number" ||
			strings.Join(cols["email"], "|") != "Home Email|Work Email|Other Email" {
			t.Fatalf("preview: %d rows, missing %v, mapping %v", p.Rows, p.Missing, cols)
		}
		if len(p.Sample) != 10 || p.Sample[1].FirstName != "Ben" || p.Sample[2].FirstName != "Chloe" || p.Sample[3].FirstName != "Danny" ||
			p.Sample[5].Phone != "+13125550406" || p.Sample[7].Email != "" || p.Sample[7].Warning == "" || p.Sample[7].Invalid != "" {
			t.Fatalf("preview sample: %+v", p.Sample)
		}
		if ms, _ := listMembers(t, s, a.access, url.Values{}); len(ms) != 0 {
			t.Fatalf("a preview created members: %s", memberNames(ms))
		}
		// Another church cannot see, import or download it.
		for _, c := range []struct{ method, path string }{{"POST", ""}, {"GET", ""}, {"GET", "/invalid.csv"}} {
			var body any
			if c.method == "POST" {
				body = map[string]any{"consent": "none"}
			}
			if r := s.Do(t, c.method, "/api/v1/imports/"+p.ImportID+c.path, other.access, body); r.Status != http.StatusNotFound {
				t.Fatalf("other church %s %s: %d %s; want 404", c.method, c.path, r.Status, r.Raw)
			}
		}
		r = s.Do(t, "POST", "/api/v1/imports/"+p.ImportID, a.access, map[string]any{"consent": "none"})
		wantStatus(t, r, http.StatusOK)
		var ans runAnswer
		r.Decode(t, &ans)
		if ans.Created != 32 || ans.Invalid != 0 || ans.SharedPhone != 1 || ans.EmailDropped != 1 || ans.Welcome != nil {
			t.Fatalf("Planning Center import: %+v; want 32 created, 1 shared phone, 1 email dropped, no welcome texts", ans)
		}
		if m := memberByPhone(t, s, a.access, "+13125550203"); m.FirstName != "Chloe" || m.Consent.Status != "opted_out" {
			t.Fatalf("blank First Name: %+v; want Given Name, opted out", m)
		}
		if m := memberByPhone(t, s, a.access, "+13125550209"); m.Email != "isaac@work.example.com" {
			t.Fatalf("blank Home Email: %+v; want the work email", m)
		}
		// The same upload is imported once.
		if r := s.Do(t, "POST", "/api/v1/imports/"+p.ImportID, a.access, map[string]any{"consent": "none"}); r.Status != http.StatusConflict {
			t.Fatalf("second import of one upload: %d %s; want 409", r.Status, r.Raw)
		}

		// Re-importing with consent records it for everyone already here,
		// and paces their welcome texts: half of the 20 left today.
		_, p = previewFile(t, s, a.access, pcoFixture)
		r = s.Do(t, "POST", "/api/v1/imports/"+p.ImportID, a.access, map[string]any{"consent": "opted_in"})
		wantField(t, r, "wording")
		r = s.Do(t, "POST", "/api/v1/imports/"+p.ImportID, a.access,
			map[string]any{"consent": "opted_in", "wording": "signed the connection card"})
		wantStatus(t, r, http.StatusOK)
		ans = runAnswer{}
		r.Decode(t, &ans)
		if ans.Created != 0 || ans.Updated != 32 {
			t.Fatalf("re-import: %+v; want 32 updated", ans)
		}
		if m := memberByPhone(t, s, a.access, "+13125550226"); m.FirstName != "Zoë" || m.Consent.Status != "opted_in" ||
			m.Consent.Wording != "signed the connection card" || m.Consent.Source != "import" {
			t.Fatalf("re-imported with consent: %+v", m)
		}
		w := ans.Welcome
		if w == nil || w.Total != 32 || w.DailyCap != 20 || len(w.Batches) != 4 || w.Batches[0].Count != 10 || w.Batches[3].Count != 2 ||
			!strings.Contains(w.Summary, "America/Chicago") || !strings.Contains(w.Batches[0].From, "-0") {
			t.Fatalf("welcome plan: %+v; want 32 paced 10 a day under a cap of 20", w)
		}

		// An edited mapping: the work phone and the nickname first.
		_, p = previewBody(t, s, a.access, "First Name,Nickname,Mobile,Work Phone,Email\nRobert,Bob,312-555-1201,312-555-1299,bad@\n,Sue,312-555-1202,,\nNoPhone,,,,\n")
		r = s.Do(t, "POST", "/api/v1/imports/"+p.ImportID, a.access,
			map[string]any{"consent": "none", "mapping": map[string][]string{"first_name": {"Nickname", "First Name"}, "phone": {"Work Phone", "Mobile"}, "email": {"Nope"}}})
		wantStatus(t, r, http.StatusBadRequest)
		if !strings.Contains(r.Raw, `"mapping.email":"names column \"Nope\"`) {
			t.Fatalf("mapping naming a missing column: %s; want the field mapping.email", r.Raw)
		}
		r = s.Do(t, "POST", "/api/v1/imports/"+p.ImportID, a.access,
			map[string]any{"consent": "none", "mapping": map[string][]string{"first_name": {"Nickname", "First Name"}, "phone": {"Work Phone", "Mobile"}}})
		wantStatus(t, r, http.StatusOK)
		ans = runAnswer{}
		r.Decode(t, &ans)
		if ans.Created != 2 || ans.Invalid != 1 {
			t.Fatalf("edited mapping: %+v; want 2 created, 1 invalid", ans)
		}
		if m := memberByPhone(t, s, a.access, "+13125551299"); m.FirstName != "Bob" || m.Email != "" {
			t.Fatalf("edited mapping: %+v; want Bob at the work phone, no email (not mapped)", m)
		}
		memberByPhone(t, s, a.access, "+13125551202") // a blank work phone falls back to the mobile

		// The rows not imported, as CSV with why.
		status, body, h := getRaw(t, s, a.access, "/api/v1/imports/"+p.ImportID+"/invalid.csv")
		if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
			t.Fatalf("invalid.csv: %d %s", status, body)
		}
		recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil || len(recs) != 2 || recs[0][0] != "Line" || recs[0][3] != "First Name" || recs[1][0] != "4" ||
			!strings.Contains(recs[1][2], "phone") || recs[1][3] != "NoPhone" {
			t.Fatalf("invalid.csv: %q (%v)", recs, err)
		}
		var sum runAnswer
		s.Do(t, "GET", "/api/v1/imports/"+p.ImportID, a.access, nil).Decode(t, &sum)
		if sum.Created != 2 || sum.ImportID != p.ImportID {
			t.Fatalf("GET import: %+v", sum)
		}
		if r := s.Do(t, "GET", "/api/v1/imports/not-an-id/invalid.csv", a.access, nil); r.Status != http.StatusNotFound {
			t.Fatalf("unknown id: %d", r.Status)
		}

		// Bad input is a 400 with a field, never a 500.
		if r, _ := previewBody(t, s, a.access, "Email,Notes\nx@example.org,hi\n"); r.Status != http.StatusCreated {
			t.Fatalf("preview of a file without the required columns: %d %s; want 201 naming what is missing", r.Status, r.Raw)
		}
		if r, _ := previewBody(t, s, a.access, ""); r.Status != http.StatusBadRequest {
			t.Fatalf("empty preview: %d", r.Status)
		}
	})
}

// Every fixture shaped like a real export imports through the API.
func TestImportRealExports(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		a := signup(t, s, "Grace Chapel", "owner@grace.example.org", pw1)
		for _, c := range []struct {
			file             string
			created, invalid int
			phone, first     string
		}{
			{"breeze.csv", 4, 1, "+13125550602", "Laz"},
			{"ccb.csv", 4, 0, "+13125550791", "Sarah"},
			{"excel_bom.csv", 2, 0, "+13125550801", "José"},
			{"semicolon_es.csv", 2, 0, "+13125550911", "María"},
			{"mac_roman_cr.csv", 2, 0, "+13125551001", "Zoë"},
			{"windows_1252.csv", 2, 0, "+13125551101", "Renée"},
		} {
			r, p := previewFile(t, s, a.access, "../members/testdata/import/"+c.file)
			wantStatus(t, r, http.StatusCreated)
			r = s.Do(t, "POST", "/api/v1/imports/"+p.ImportID, a.access, map[string]any{"consent": "none"})
			wantStatus(t, r, http.StatusOK)
			var ans runAnswer
			r.Decode(t, &ans)
			if ans.Created != c.created || ans.Invalid != c.invalid {
				t.Errorf("%s: %+v; want %d created, %d invalid", c.file, ans, c.created, c.invalid)
			}
			if m := memberByPhone(t, s, a.access, c.phone); m.FirstName != c.first {
				t.Errorf("%s: %+v; want %s", c.file, m, c.first)
			}
		}
	})
}
