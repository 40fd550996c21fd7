package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// importAnswer is the answer to POST /api/v1/members/import.
type importAnswer struct {
	Created    int `json:"created"`
	Updated    int `json:"updated"`
	Duplicates int `json:"skipped_duplicate"`
	Invalid    int `json:"invalid"`
	Rows       []struct {
		Line     int    `json:"line"`
		Outcome  string `json:"outcome"`
		MemberID string `json:"member_id"`
		Reason   string `json:"reason"`
		Warning  string `json:"warning"`
	} `json:"rows"`
}

// importCSV posts body with the given content type to the import endpoint.
func importCSV(t *testing.T, s *testkit.Server, token string, q url.Values, contentType string, body io.Reader) *testkit.Response {
	t.Helper()
	req, err := http.NewRequest("POST", s.URL+"/api/v1/members/import?"+q.Encode(), body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := &testkit.Response{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if err := json.Unmarshal(raw, &r.Body); err != nil {
		t.Fatalf("import answer %q: %v", raw, err)
	}
	return r
}

// testImport checks per-row results: created, updated, skipped duplicates
// and invalid rows with reasons, and that bad rows never stop good ones.
func testImport(t *testing.T, s *testkit.Server, a *account) {
	existing := postMember(t, s, a.access, "Old", "Name", "+13125550310", false)
	consent := url.Values{"consent": {"opted_in"}, "wording": {"Signed the card at the welcome desk"}}
	csv := strings.Join([]string{
		`First Name,Last Name,Mobile Phone Number,Home Email,Groups`,
		`Mary,Magdalene,(312) 555-0301,Mary@Example.org,Choir;Youth`,   // 2 created
		`Martha,Bethany,312.555.0302,,Choir|Hospitality`,               // 3 created
		`Lazarus,Bethany,not a phone,laz@example.org,`,                 // 4 invalid phone
		`,Nofirst,312-555-0303,,`,                                      // 5 invalid: no first name
		`Mary,Again,+13125550301,,`,                                    // 6 duplicate of line 2
		`Peter,Rock,3125550304,peter@,Choir`,                           // 7 created without its invalid email
		`Jo"hn,Baptist,3125550305,,`,                                   // 8 unreadable (bare quote)
		`John,Zebedee,+1 312 555 0306,john@example.org,"Choir, Youth"`, // 9 created, after the bad rows
		`Old,Member,312-555-0310,existing@example.org,`,                // 10 updated (same phone, same first name)
	}, "\n") + "\n"
	r := importCSV(t, s, a.access, consent, "text/csv", strings.NewReader(csv))
	wantStatus(t, r, http.StatusOK)
	var ans importAnswer
	r.Decode(t, &ans)
	if ans.Created != 4 || ans.Updated != 1 || ans.Duplicates != 1 || ans.Invalid != 3 || len(ans.Rows) != 9 {
		t.Fatalf("import counts: %+v; want 4 created, 1 updated, 1 duplicate, 3 invalid, 9 rows", ans)
	}
	want := []struct{ outcome, reason string }{
		{"created", ""}, {"created", ""}, {"invalid", "phone"}, {"invalid", "first name"}, {"skipped_duplicate", "line 2"},
		{"created", ""}, {"invalid", "CSV"}, {"created", ""}, {"updated", ""},
	}
	ids := map[int]string{}
	for i, w := range want {
		row := ans.Rows[i]
		if row.Line != i+2 || row.Outcome != w.outcome || !strings.Contains(row.Reason, w.reason) {
			t.Errorf("row %d: %+v; want line %d %s with a reason mentioning %q", i, row, i+2, w.outcome, w.reason)
		}
		if (w.outcome == "created" || w.outcome == "updated") != (row.MemberID != "") {
			t.Errorf("row %d: member_id %q with outcome %s", i, row.MemberID, row.Outcome)
		}
		if w.outcome == "invalid" && row.Reason == "" {
			t.Errorf("row %d is invalid without a reason", i)
		}
		ids[row.Line] = row.MemberID
	}
	if w := ans.Rows[5].Warning; !strings.Contains(w, "peter@") || !strings.Contains(w, "without an email") {
		t.Errorf("row 7 warning %q; want the dropped email reported", w)
	}
	if ids[10] != existing.ID {
		t.Fatalf("row 10 updated %s; want the member who has that phone, %s", ids[10], existing.ID)
	}
	var mary apiMember
	s.Do(t, "GET", "/api/v1/members/"+ids[2], a.access, nil).Decode(t, &mary)
	if mary.Phone != "+13125550301" || mary.Email != "mary@example.org" || mary.Consent.Status != "opted_in" ||
		mary.Consent.Source != "import" || mary.Consent.Wording != "Signed the card at the welcome desk" || len(mary.Groups) != 2 {
		t.Fatalf("imported member: %+v", mary)
	}
	var updated apiMember
	s.Do(t, "GET", "/api/v1/members/"+existing.ID, a.access, nil).Decode(t, &updated)
	// Importing with consent records it for a member already present.
	if updated.LastName != "Member" || updated.Email != "existing@example.org" || updated.Consent.Status != "opted_in" ||
		updated.Consent.Source != "import" || updated.Consent.Wording != "Signed the card at the welcome desk" {
		t.Fatalf("updated member: %+v; want new name and email, consent recorded by the import", updated)
	}
	var groups struct {
		Groups []struct {
			Name    string
			Members int
		}
	}
	s.Do(t, "GET", "/api/v1/groups", a.access, nil).Decode(t, &groups)
	sizes := map[string]int{}
	for _, g := range groups.Groups {
		sizes[g.Name] = g.Members
	}
	if sizes["Choir"] != 4 || sizes["Youth"] != 2 || sizes["Hospitality"] != 1 {
		t.Fatalf("groups after import: %v; want Choir 4, Youth 2, Hospitality 1", sizes)
	}

	// The same file again: everyone is known now.
	ans = importAnswer{}
	importCSV(t, s, a.access, consent, "text/csv", strings.NewReader(csv)).Decode(t, &ans)
	if ans.Created != 0 || ans.Updated != 5 || ans.Duplicates != 1 || ans.Invalid != 3 {
		t.Fatalf("re-import: %+v; want 5 updated, 1 duplicate, 3 invalid", ans)
	}

	// Multipart upload; without ?consent new members start opted out.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "people.csv")
	_, _ = fw.Write([]byte("first_name,phone\nThomas,312-555-0320\n"))
	_ = mw.Close()
	ans = importAnswer{}
	importCSV(t, s, a.access, nil, mw.FormDataContentType(), &body).Decode(t, &ans)
	if ans.Created != 1 || len(ans.Rows) != 1 {
		t.Fatalf("multipart import: %+v", ans)
	}
	var thomas apiMember
	s.Do(t, "GET", "/api/v1/members/"+ans.Rows[0].MemberID, a.access, nil).Decode(t, &thomas)
	if thomas.Consent.Status != "opted_out" || thomas.Consent.Source != "import" {
		t.Fatalf("member imported without consent: %+v; want opted_out", thomas.Consent)
	}

	// Files that cannot be imported at all.
	for name, c := range map[string]struct {
		contentType, body string
		q                 url.Values
		field             string
	}{
		"no phone column": {"text/csv", "First Name,Email\nAnn,ann@example.org\n", nil, "file"},
		"empty file":      {"text/csv", "", nil, "file"},
		"bad consent":     {"text/csv", "first_name,phone\nAnn,3125550330\n", url.Values{"consent": {"maybe"}}, "consent"},
		"json body":       {"application/json", `{"first_name":"Ann"}`, nil, ""},
	} {
		r := importCSV(t, s, a.access, c.q, c.contentType, strings.NewReader(c.body))
		if r.Status != http.StatusBadRequest {
			t.Fatalf("%s: %d %s; want 400", name, r.Status, r.Raw)
		}
		if c.field != "" {
			wantField(t, r, c.field)
		}
	}
	if ms, _ := listMembers(t, s, a.access, url.Values{"q": {"+13125550330"}}); len(ms) != 0 {
		t.Fatalf("a refused import created %s", memberNames(ms))
	}
}
