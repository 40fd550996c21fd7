package web_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/internal/testkit"
)

// upload posts a file through the import form as a browser does
// (multipart/form-data, field "file"); name "" sends the form without a file.
func (b *browser) upload(path, name string, content []byte) *page {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if name != "" {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			b.t.Fatal(err)
		}
		_, _ = fw.Write(content)
	} else {
		_, _ = mw.CreateFormFile("file", "")
	}
	_ = mw.Close()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, b.s.URL+path, &body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", b.origin)
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	for _, c := range b.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return &page{Status: resp.StatusCode, Header: resp.Header, Body: string(raw), Location: resp.Header.Get("Location")}
}

func planningCenter(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../members/testdata/import/planning_center.csv")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var importIDPath = regexp.MustCompile(`^/members/import/([A-Za-z0-9_-]+)$`)

// The whole import through the pages: upload the Planning Center export →
// preview with the detected mapping and a button that counts the people →
// consent → summary with the counts, the welcome plan in the church's
// timezone and the rows not imported; reloading never imports twice.
func TestImportPlanningCenterThroughPages(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		// An unregistered church capped at 40 texts a day: the welcome
		// texts take at most half of it each day.
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true, Welcome: true, Tune: func(tu *app.Tuning) { tu.Messaging.UnregisteredDailyCap = 40 }})
		b := newBrowser(t, s, "en")
		b.signUp("Grace Chapel", "ruth@grace.example.org")
		b.get("/members/import").want(t, 200, "Import members from a spreadsheet", `enctype="multipart/form-data"`, "20 MB", "10,000")

		p := b.upload("/members/import", "planning_center.csv", planningCenter(t))
		if p.Status != http.StatusSeeOther || !importIDPath.MatchString(p.Location) {
			t.Fatalf("upload: %d %q\n%s", p.Status, p.Location, p.Body)
		}
		id := importIDPath.FindStringSubmatch(p.Location)[1]
		prev := b.get(p.Location).want(t, 200, "32 people found", "Import 32 people", "Abigail", "(312) 555-0201",
			`<option value="Mobile Phone Number" selected>`, "Home Phone Number", "No consent recorded")
		if len(prev.Body) > 100<<10 {
			t.Fatalf("preview is %d bytes", len(prev.Body))
		}
		// No consent chosen: the page comes back, nothing imported.
		run := url.Values{"map.first_name": {"First Name"}, "map.last_name": {"Last Name"}, "map.phone": {"Mobile Phone Number"},
			"map.email": {"Home Email"}, "map.groups": {""}, "action": {"import"}}
		b.post("/members/import/"+id, run).want(t, 400, "Please choose one.", "Import 32 people")
		// Consent without its wording: the choice is kept.
		run.Set("consent", "opted_in")
		b.post("/members/import/"+id, run).want(t, 400, "This is required.", `value="opted_in" checked`)
		b.get("/members/import/"+id+"/done").want(t, 404)

		run.Set("wording", "Signed the welcome card")
		p = b.post("/members/import/"+id, run)
		if p.Status != http.StatusSeeOther || p.Location != "/members/import/"+id+"/done" {
			t.Fatalf("import: %d %q\n%s", p.Status, p.Location, p.Body)
		}
		sum := b.get(p.Location).want(t, 200, "Import finished", `<td id="sum-created">32</td>`,
			"32 welcome texts will go out", "daily limit of 40 texts", "<td>20</td>", "<td>12</td>", "CST")
		sum.lacks(t, "UTC")
		// Importing again (a second click) shows the same summary.
		p = b.post("/members/import/"+id, run)
		if p.Status != http.StatusSeeOther || p.Location != "/members/import/"+id+"/done" {
			t.Fatalf("second import: %d %q", p.Status, p.Location)
		}
		if p := b.get("/members/import/" + id); p.Status != http.StatusSeeOther {
			t.Fatalf("preview after import: %d", p.Status)
		}
		// Everyone is there, "Zoë Zimmerman" (the last row) too.
		tok := apiToken(t, s, "ruth@grace.example.org", b.tenantOf())
		if r := s.Do(t, "GET", "/api/v1/members?q=zoe", tok, nil); r.Status != 200 || !strings.Contains(string(r.Raw), "Zimmerman") {
			t.Fatalf("search zoe: %d %s", r.Status, r.Raw)
		}
		home := b.get("/")
		if !strings.Contains(home.Body, "Done:") {
			t.Fatal("home checklist does not show the import step done")
		}

		// In Spanish, the preview and summary speak Spanish.
		b.post("/language", url.Values{"lang": {"es"}, "back": {"/"}})
		b.get("/members/import/"+id+"/done").want(t, 200, "Importación terminada", "Miembros nuevos agregados")
		b.get("/members/import").want(t, 200, "Importar miembros desde una hoja de cálculo")
	})
}

// Editing the mapping changes what is imported: "Show the rows again"
// previews with the new choice; a required field left out is refused
// beside the mapping; rows not imported download as a CSV with why.
func TestImportMappingEdit(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		b := newBrowser(t, s, "en")
		b.signUp("Grace Chapel", "ruth@grace.example.org")
		p := b.upload("/members/import", "pc.csv", planningCenter(t))
		id := importIDPath.FindStringSubmatch(p.Location)[1]
		// Nickname as the first name: blank nicknames fall back to the other
		// first-name columns.
		form := url.Values{"map.first_name": {"Nickname"}, "map.last_name": {"Last Name"}, "map.phone": {"Mobile Phone Number"},
			"map.email": {""}, "map.groups": {""}, "action": {"refresh"}, "consent": {"none"}}
		b.post("/members/import/"+id, form).want(t, 200, `<option value="Nickname" selected>`, `value="none" checked`, "Import 32 people")

		// No phone column: refused beside the mapping, nothing imported.
		form.Set("map.phone", "")
		form.Set("action", "import")
		b.post("/members/import/"+id, form).want(t, 400, "Choose a column for first name and for mobile phone")
		b.get("/members/import/"+id+"/done").want(t, 404)

		// A column that holds no phone numbers: every row is skipped, and
		// the preview says so before anything is imported.
		form.Set("map.phone", "Person ID")
		form.Set("action", "refresh")
		b.post("/members/import/"+id, form).want(t, 200, "Will be skipped:", `<option value="Person ID" selected>`)
		form.Set("action", "import")
		form.Set("map.first_name", "First Name")
		p = b.post("/members/import/"+id, form)
		if p.Status != http.StatusSeeOther {
			t.Fatalf("import: %d\n%s", p.Status, p.Body)
		}
		b.get(p.Location).want(t, 200, "not-imported.csv", "Download the 32 rows not imported", `<td id="sum-invalid">32</td>`,
			`<td id="sum-created">0</td>`, "No welcome texts")
		csv := b.get("/members/import/" + id + "/not-imported.csv")
		if csv.Status != 200 || !strings.HasPrefix(csv.Header.Get("Content-Type"), "text/csv") || !strings.Contains(csv.Body, "phone") {
			t.Fatalf("invalid rows: %d %s\n%s", csv.Status, csv.Header.Get("Content-Type"), csv.Body)
		}
	})
}

// Bad uploads are shown on the upload page beside the file input, with
// the limit; nothing is kept. Another church's upload is a 404 page.
func TestImportUploadErrors(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		b := newBrowser(t, s, "en")
		b.signUp("Grace Chapel", "ruth@grace.example.org")

		b.upload("/members/import", "", nil).want(t, 400, `id="file-error"`, "This is required.", "20 MB")
		b.upload("/members/import", "members.xlsx", []byte("PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00")).
			want(t, 400, "This is not a CSV file.", "CSV UTF-8")
		big := bytes.Repeat([]byte("Ann,Arbor,+13125550101\n"), (20<<20)/23+10)
		b.upload("/members/import", "big.csv", append([]byte("First Name,Last Name,Mobile Phone\n"), big...)).
			want(t, 413, "larger than 20 MB, the limit for one import")
		b.upload("/members/import", "empty.csv", []byte("   \n")).want(t, 400, "This file is empty.")

		p := b.upload("/members/import", "pc.csv", planningCenter(t))
		id := importIDPath.FindStringSubmatch(p.Location)[1]
		other := newBrowser(t, s, "en")
		other.signUp("Other Church", "other@example.org")
		other.get("/members/import/"+id).want(t, 404, "Page not found").lacks(t, "Zoë")
		other.post("/members/import/"+id, url.Values{"consent": {"none"}, "action": {"import"}}).want(t, 404)
		other.get("/members/import/"+id+"/done").want(t, 404)
		other.get("/members/import/"+id+"/not-imported.csv").want(t, 404)
		other.get("/members/import/not-an-id").want(t, 404)
		// The owner can still import it.
		b.get("/members/import/"+id).want(t, 200, "Import 32 people")

		// Without a session: to sign in, the upload unread.
		anon := newBrowser(t, s, "en")
		if p := anon.upload("/members/import", "pc.csv", planningCenter(t)); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/signin") {
			t.Fatalf("anonymous upload: %d %q", p.Status, p.Location)
		}
	})
}
