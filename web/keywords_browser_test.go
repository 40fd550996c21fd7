package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
	"github.com/steeple-sms/steeple/web/webtest"
)

// In a real browser: an owner creates CONNECT for the Youth group with a
// connect card; an unknown phone texts "connect!" and then its name; the
// keyword's page shows Ana among the latest and one join this week, in
// the chart's table too. A sender sees the keywords but no form, and
// posting one anyway is refused. axe finds nothing; at 360 px in Spanish
// nothing scrolls sideways.
func TestBrowserKeywords(t *testing.T) {
	t.Parallel()
	s := testkit.NewServer(t, testkit.SQLite(t))
	c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100", QuietHoursOff: true})
	youth := addGroup(t, s, c.Token, "Youth")
	p := webtest.New(t, 1024, 768)
	p.Language("en-US")
	p.Do(chromedp.Navigate(s.URL+"/signin"), chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", c.Email), chromedp.SendKeys("#password", testkit.Password),
		chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#glance-h"))

	p.Do(chromedp.Navigate(s.URL+"/keywords"), chromedp.WaitVisible("#k-word"))
	p.WaitText("main", "Text CONNECT to (312) 555-0100")
	// A reserved word is refused beside the field, in plain words.
	p.Do(chromedp.SendKeys("#k-word", "Stop"), chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#k-word-error"))
	p.WaitText("#k-word-error", "reserved")
	p.Axe()
	p.Do(chromedp.SetValue("#k-word", "Connect"), chromedp.SetValue("#k-group", youth),
		chromedp.SendKeys("#k-reply", "Welcome! We are glad you came."),
		chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#latest-h"))
	p.WaitText("main .notice", "Keyword created")

	visitor := "+13125550777"
	for _, text := range []string{"connect!", "Ana López"} {
		if err := s.Sim.Inbound(context.Background(), telnyxsim.InboundMessage{From: visitor, To: c.Number, Text: text,
			WebhookURL: s.URL + "/webhooks/telnyx"}); err != nil {
			t.Fatal(err)
		}
		want := 1
		if text != "connect!" {
			want = 2
		}
		testkit.WaitUntil(t, 15*time.Second, func() bool { return s.Sim.CountTo(visitor) == want }, "the answer to "+text)
	}
	if got := s.SentTo(visitor)[0].Text; !strings.HasPrefix(got, "Grace Chapel: Welcome! We are glad you came. Msg & data rates may apply.") ||
		!strings.Contains(got, "first and last name") {
		t.Fatalf("the keyword's answer: %q", got)
	}
	p.Do(chromedp.Reload(), chromedp.WaitVisible("#latest"))
	p.WaitText("#latest", "Ana López")
	if got := webtest.Eval[string](p, `[...document.querySelectorAll("#table-joins tbody td")].map(td => td.textContent).pop()`); got != "1" {
		t.Fatalf("this week's joins in the chart's table: %q", got)
	}
	p.Axe()
	p.Screenshot(screens, "keyword")

	// At 360 px, in Spanish.
	small := webtest.New(t, 360, 740)
	small.Language("es")
	small.Do(chromedp.Navigate(s.URL+"/signin"), chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", c.Email), chromedp.SendKeys("#password", testkit.Password),
		chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#glance-h"),
		chromedp.Navigate(s.URL+"/keywords"), chromedp.WaitVisible("#keyword-table"))
	small.WaitText("main", "Palabras clave para unirse")
	small.NoSideways()
	small.Axe()
	small.Screenshot(screens, "keywords-es-360")

	// A sender reads keywords but cannot make one.
	sender := inviteSender(t, s, c)
	sp := webtest.New(t, 1024, 768)
	sp.Language("en-US")
	sp.Do(chromedp.Navigate(s.URL+"/signin"), chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", sender), chromedp.SendKeys("#password", testkit.Password),
		chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#glance-h"),
		chromedp.Navigate(s.URL+"/keywords"), chromedp.WaitVisible("#keyword-table"))
	if webtest.Eval[bool](sp, `!!document.querySelector("#k-word")`) {
		t.Fatal("a sender is shown the form for a new keyword")
	}
	status := webtest.Eval[float64](sp, `fetch("/keywords", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "word=CHOIR"}).then(r => r.status)`)
	if int(status) != http.StatusForbidden {
		t.Fatalf("a sender's keyword post: %v; want 403", status)
	}
}
