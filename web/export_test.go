package web_test

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/web"
	"github.com/steeple-sms/steeple/web/webtest"
)

var exportLink = regexp.MustCompile(`href="(/settings/export/[^"]+)"`)

// prepareExport asks for an export and returns its download link.
func prepareExport(t *testing.T, b *browser) string {
	t.Helper()
	p := b.post("/settings/export", url.Values{}).want(t, 200, "export-download")
	m := exportLink.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no download link: %s", p.Body)
	}
	return m[1]
}

// openZip reads a downloaded archive: its files by name.
func openZip(t *testing.T, body string) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader([]byte(body)), int64(len(body)))
	if err != nil {
		t.Fatalf("download is not a zip: %v", err)
	}
	files := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		files[f.Name] = string(b)
	}
	return files
}

// Settings → Export: an owner prepares an export and downloads it once;
// a second use and a late use get a page saying so and offering a new one;
// the file is gone after either; both steps are audited; a sender, another
// church and an edited link get nothing.
func TestExportPage(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Members: 2})
		b := newBrowser(t, s, "en")
		b.signInChurch(c.Email)
		b.get("/settings").want(t, 200, `href="/settings/export"`)
		b.get("/settings/export").want(t, 200, "Prepare export", "left out")
		es := newBrowser(t, s, "es")
		es.signInChurch(c.Email)
		es.get("/settings/export").want(t, 200, "Preparar la exportación")

		evil := *b
		evil.origin = "https://evil.example"
		evil.post("/settings/export", url.Values{}).want(t, 403) // another site cannot make exports

		link := prepareExport(t, b)
		dir := filepath.Join(s.App.Tuning.ExportDir, c.ID)
		if n := countZips(t, dir); n != 1 {
			t.Fatalf("prepared exports on disk: %d", n)
		}
		p := b.get(link)
		if p.Status != 200 || p.Header.Get("Content-Type") != "application/zip" ||
			!strings.Contains(p.Header.Get("Content-Disposition"), `attachment; filename="grace-chapel-export-`) {
			t.Fatalf("download: %d %v", p.Status, p.Header)
		}
		files := openZip(t, p.Body)
		if !strings.Contains(files["manifest.json"], `"name": "Grace Chapel"`) || !strings.Contains(files["tables/members.jsonl"], testkit.Phone(0)) ||
			!strings.Contains(files["README.txt"], "password hashes") {
			t.Fatalf("archive: manifest %s; members %s", files["manifest.json"], files["tables/members.jsonl"])
		}
		if n := countZips(t, dir); n != 0 {
			t.Fatalf("exports left on disk after the download: %d", n)
		}
		b.get(link).want(t, 410, "already used", "Prepare a new export")

		late := prepareExport(t, b)
		s.Clock.Add(web.ExportTTL + time.Minute)
		b.get(late).want(t, 410, "has expired", "Prepare a new export")
		if n := countZips(t, dir); n != 0 {
			t.Fatalf("expired exports left on disk: %d", n)
		}

		c.Relogin(t, s) // the API token did not outlive the hour
		fresh := prepareExport(t, b)
		edited := fresh[:len(fresh)-1] + "0"
		if edited == fresh {
			edited = fresh[:len(fresh)-1] + "1"
		}
		b.get(edited).want(t, 404)
		other := s.Church(t, testkit.ChurchOptions{Name: "Hope Church"})
		ob := newBrowser(t, s, "en")
		ob.signInChurch(other.Email)
		ob.get(fresh).want(t, 404) // another church's link

		sender := inviteSender(t, s, c)
		sb := newBrowser(t, s, "en")
		sb.signInChurch(sender)
		sb.get("/settings/export").want(t, 403)
		sb.post("/settings/export", url.Values{}).want(t, 403)
		sb.get(fresh).want(t, 403)
		b.get(fresh).want(t, 200) // still unused: the refusals did not spend it

		var audit struct {
			Entries []struct{ Action, ActorID string }
		}
		c.API(s).Call(t, "GET", "/api/v1/audit?kind=church.", nil, http.StatusOK, &audit)
		count := map[string]int{}
		for _, e := range audit.Entries {
			count[e.Action]++
		}
		if count["church.exported"] != 3 || count["church.export_downloaded"] != 2 {
			t.Fatalf("audit: %v", count)
		}
	})
}

func countZips(t *testing.T, dir string) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.zip*"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

// In a browser: the export page passes axe before and after preparing; the
// link, fetched with the session's cookie, gives a zip that opens; a second
// use shows the page that says so (axe again); in Spanish at 360 px nothing
// scrolls sideways.
func TestBrowserExport(t *testing.T) {
	t.Parallel()
	s := testkit.NewServer(t, testkit.SQLite(t), testkit.ServerOptions{NoQueue: true})
	c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Members: 3})
	for _, size := range []struct {
		w, h int64
		lang string
	}{{1024, 768, "en-US"}, {360, 740, "es"}} {
		p := webtest.New(t, size.w, size.h)
		p.Language(size.lang)
		p.Do(chromedp.Navigate(s.URL+"/signin"), chromedp.WaitVisible("#email"),
			chromedp.SendKeys("#email", c.Email), chromedp.SendKeys("#password", testkit.Password),
			chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#glance-h"),
			chromedp.Navigate(s.URL+"/settings"), chromedp.WaitVisible("#settings-export"),
			chromedp.Click("#settings-export"), chromedp.WaitVisible("#export-prepare"))
		p.Axe()
		p.Do(chromedp.Click("#export-prepare"), chromedp.WaitVisible("#export-download"))
		p.Axe()
		if size.lang == "es" {
			p.NoSideways()
			continue
		}
		type fetched struct {
			Status int    `json:"status"`
			Type   string `json:"type"`
			Body   string `json:"body"`
		}
		got := webtest.Eval[fetched](p, `(async () => {
			const r = await fetch(document.querySelector("#export-download").href);
			const b = new Uint8Array(await r.arrayBuffer());
			let s = ""; for (const x of b) s += String.fromCharCode(x);
			return {status: r.status, type: r.headers.get("content-type"), body: btoa(s)};
		})()`)
		raw, err := base64.StdEncoding.DecodeString(got.Body)
		if err != nil || got.Status != 200 || got.Type != "application/zip" {
			t.Fatalf("download: %d %s %v", got.Status, got.Type, err)
		}
		files := openZip(t, string(raw))
		if !strings.Contains(files["tables/members.jsonl"], testkit.Phone(2)) || files["README.txt"] == "" {
			t.Fatalf("archive files: %d, members %q", len(files), files["tables/members.jsonl"])
		}
		href := webtest.Eval[string](p, `document.querySelector("#export-download").href`)
		p.Do(chromedp.Navigate(href), chromedp.WaitVisible("#export-prepare"))
		p.WaitText("main", "already used")
		p.Axe()
	}
}
