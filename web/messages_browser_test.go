package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/web/webtest"
)

// In a real browser: a text sent to a group; its page shows progress and
// htmx polls the fragment until it is rendered without its trigger (we
// wait on that condition, no sleeps). The reports chart's bars carry the
// numbers of its table. axe finds no violation; at 360 px, in Spanish,
// nothing scrolls sideways.
func TestBrowserBroadcastAndReports(t *testing.T) {
	t.Parallel()
	// Two texts a second: the four take about two seconds, so the page
	// opens while they are going out.
	s := testkit.NewServer(t, testkit.SQLite(t), testkit.ServerOptions{Messaging: func(c *messaging.Config) { c.PerNumberRate = 2 }})
	b, tok, ids := sendingChurch(t, s, "Grace Chapel", "ruth@grace.example.org", 5)
	choir := addGroup(t, s, tok, "Choir")
	if r := s.Do(t, "POST", "/api/v1/groups/"+choir+"/members", tok, map[string]any{"member_ids": ids[:4]}); r.Status != http.StatusNoContent {
		t.Fatalf("group members: %d %s", r.Status, r.Raw)
	}
	_ = b
	p := webtest.New(t, 1024, 900)
	p.Language("en-US")
	browserSignIn(p, s.URL, "ruth@grace.example.org")

	r := s.Do(t, "POST", "/api/v1/messages", tok, map[string]any{"text": "Choir practice is at 7 tonight. Reply if you can't come.",
		"audience": map[string]any{"group_ids": []string{choir}}})
	if r.Status != http.StatusCreated && r.Status != http.StatusAccepted {
		t.Fatalf("message: %d %s", r.Status, r.Raw)
	}
	id := r.ID(t)
	p.Do(chromedp.Navigate(s.URL+"/messages/"+id), chromedp.WaitVisible("#progress"))
	if !webtest.Eval[bool](p, `document.querySelector("#progress").hasAttribute("hx-trigger")`) {
		t.Fatal("the page opened after sending finished: nothing was watched")
	}
	p.Screenshot(screens, "broadcast-sending")
	// htmx swaps the fragment in until it comes without its trigger (and
	// then reloads the page once, so the whole page shows the result).
	p.Do(chromedp.WaitVisible(`#progress[data-done]:not([hx-trigger])`))
	p.Do(chromedp.WaitVisible(`table.recipients`))
	p.WaitText("#progress h2", "Finished sending")
	p.WaitText("#progress [role=status]", "4 of 4 texts handled")
	p.Axe()
	p.Screenshot(screens, "broadcast")

	p.Do(chromedp.Navigate(s.URL+"/messages"), chromedp.WaitVisible("table.messages"))
	p.Axe()
	p.Screenshot(screens, "messages")

	p.Do(chromedp.Navigate(s.URL+"/reports"), chromedp.WaitVisible("#chart-texts"))
	// The chart's bars and its table hold the same numbers, week by week.
	bars := webtest.Eval[[]string](p, `Array.from(document.querySelectorAll("#chart-texts rect")).map(e => e.dataset.value)`)
	cells := webtest.Eval[[]string](p, `Array.from(document.querySelectorAll("#table-texts tbody td")).map(e => e.textContent.trim())`)
	var report messaging.WeeklyReport
	s.Client(tok).Call(t, "GET", "/api/v1/reports/weekly", nil, 200, &report)
	var fromAPI []string
	for _, w := range report.Weeks {
		fromAPI = append(fromAPI, fmt.Sprint(w.Texts))
	}
	if strings.Join(bars, ",") != strings.Join(cells, ",") || strings.Join(bars, ",") != strings.Join(fromAPI, ",") || bars[11] != "4" {
		t.Fatalf("chart %v, table %v, API %v", bars, cells, fromAPI)
	}
	p.Axe()
	p.Screenshot(screens, "reports")

	m := webtest.New(t, 360, 740)
	m.Language("es-MX,es;q=0.9")
	browserSignIn(m, s.URL, "ruth@grace.example.org")
	for _, path := range []string{"/messages", "/messages/" + id, "/reports"} {
		m.Do(chromedp.Navigate(s.URL+path), chromedp.WaitVisible("main h1"))
		m.NoSideways()
		m.Axe()
	}
	m.Do(chromedp.Navigate(s.URL+"/messages/"+id), chromedp.WaitVisible("#progress"))
	m.Screenshot(screens, "broadcast-es-360")
}
