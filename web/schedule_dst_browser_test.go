package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/web/webtest"
)

// In a real browser, with the clock on Monday 1 March 2027 in Chicago: a
// weekly Sunday 09:00 text shows its next five times on the review, every
// one at 9:00 AM local though the clocks spring forward on 14 March, which
// alone is flagged; started, the schedules list keeps 9:00 AM and the flag.
func TestBrowserWeeklyAcrossDST(t *testing.T) {
	t.Parallel()
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	s := testkit.NewServer(t, testkit.SQLite(t), testkit.ServerOptions{NoQueue: true})
	s.Clock.Set(time.Date(2027, 3, 1, 12, 0, 0, 0, chicago))
	b := newBrowser(t, s, "en")
	readyChurch(t, s, b, "Grace Chapel", "ruth@grace.example.org", "+13125550142")

	p := webtest.New(t, 1024, 900)
	p.Language("en-US")
	signInBrowser(p, s, "ruth@grace.example.org")
	p.Do(chromedp.Navigate(s.URL+"/messages/new"), chromedp.WaitVisible("#c-body"),
		chromedp.SendKeys("#c-body", "Sunday service at 9. Doors open at 8:30."),
		chromedp.Click(`input[name=when][value=recurring]`))
	// Weekly on Sunday at 09:00 are the form's defaults; make sure of them.
	if !webtest.Eval[bool](p, `document.querySelector("#c-freq").value === "weekly" && document.querySelector("#c-time").value === "09:00" &&
		document.querySelector("input[name=weekday][value=sunday]").checked`) {
		t.Fatal("the recurring defaults are not weekly on Sunday at 09:00")
	}
	p.Do(chromedp.Click("#review-button"), chromedp.WaitVisible("#upcoming"))
	items := webtest.Eval[[]string](p, `Array.from(document.querySelectorAll("#upcoming li")).map(e => e.textContent)`)
	want := []string{"Mar 7, 2027, 9:00 AM CST", "Mar 14, 2027, 9:00 AM CDT", "Mar 21, 2027, 9:00 AM CDT", "Mar 28, 2027, 9:00 AM CDT", "Apr 4, 2027, 9:00 AM CDT"}
	if len(items) != len(want) {
		t.Fatalf("upcoming: %q", items)
	}
	for i, it := range items {
		flagged := strings.Contains(it, "the clocks change that day")
		if !strings.HasPrefix(it, want[i]) || flagged != (i == 1) {
			t.Fatalf("upcoming %d: %q; want %q, flagged only on 14 March", i, it, want[i])
		}
	}
	p.Axe()
	p.Screenshot(screens, "review-recurring-dst")

	p.Do(chromedp.Click("#send-button"), chromedp.WaitVisible("#slots"))
	rows := webtest.Eval[[]string](p, `Array.from(document.querySelectorAll("#slots tbody tr td:first-child")).map(e => e.textContent)`)
	if len(rows) != 4 {
		t.Fatalf("schedules over the next 30 days: %q", rows)
	}
	for i, row := range rows {
		flagged := strings.Contains(row, "the clocks change that day")
		if !strings.HasPrefix(row, want[i]) || flagged != (i == 1) {
			t.Fatalf("schedules row %d: %q; want %q, flagged only on 14 March", i, row, want[i])
		}
	}
	p.Axe()
}
