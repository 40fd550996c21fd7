package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/web/webtest"
)

// signInBrowser signs a real browser in with the form (one church, no MFA).
func signInBrowser(p *webtest.Page, s *testkit.Server, email string) {
	p.Do(chromedp.Navigate(s.URL+"/signin"), chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", email), chromedp.SendKeys("#password", password),
		chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#glance-h"))
}

// In a real browser: an accented text costs two parts → accept the plain
// characters → one part → send to a group → the broadcast's page; then
// schedule for tomorrow 09:00 local and see 09:00 in the schedules list.
// axe finds no violation on compose, review and schedules.
func TestBrowserComposeSendAndSchedule(t *testing.T) {
	t.Parallel()
	s := testkit.NewServer(t, testkit.SQLite(t), testkit.ServerOptions{NoQueue: true})
	b := newBrowser(t, s, "en")
	readyChurch(t, s, b, "Grace Chapel", "ruth@grace.example.org", "+13125550142")

	p := webtest.New(t, 1024, 900)
	p.Language("en-US")
	signInBrowser(p, s, "ruth@grace.example.org")
	p.Do(chromedp.Navigate(s.URL+"/messages/new"), chromedp.WaitVisible("#c-body"))
	text := "Reunión mañana a las 7 en el salón: traiga un plato para compartir, ¡gracias!"
	p.Do(chromedp.SendKeys("#c-body", text))
	p.WaitText("#count-parts", "2 parts per person")
	p.WaitText("#count-ucs2", "ó")
	p.Axe()
	p.Screenshot(screens, "compose")
	p.Do(chromedp.Click("#plain-button"), chromedp.WaitNotPresent("#plain-button"))
	p.WaitText("#count-parts", "1 part per person")

	p.Do(chromedp.Click(`input[name=audience][value=groups]`), chromedp.Click(`input[name=group_id]`))
	p.WaitText("#aud-recipients", "1 person will get this text")
	p.Do(chromedp.Click("#review-button"), chromedp.WaitVisible("#send-button"))
	if got := p.Text("#send-button"); got != "Send 1 text (1 part) from (312) 555-0142" {
		t.Fatalf("send button: %q", got)
	}
	p.Axe()
	p.Screenshot(screens, "review")
	p.Do(chromedp.Click("#send-button"), chromedp.WaitNotPresent("#send-button"), chromedp.WaitVisible("main h1"))
	if loc := p.Location(); !strings.Contains(loc, "/messages/") || strings.HasSuffix(loc, "/new") {
		t.Fatalf("after sending: %s", loc)
	}
	p.WaitText("main", "Reunion mañana")

	// Schedule for tomorrow 09:00 in the church's zone.
	loc, _ := time.LoadLocation("America/Chicago")
	tomorrow := time.Now().In(loc).AddDate(0, 0, 1)
	p.Do(chromedp.Navigate(s.URL+"/messages/new"), chromedp.WaitVisible("#c-body"),
		chromedp.SendKeys("#c-body", "Potluck tomorrow after the service"),
		chromedp.Click(`input[name=when][value=at]`))
	webtest.Eval[bool](p, `(() => { document.querySelector("#c-date").value = "`+tomorrow.Format(time.DateOnly)+
		`"; document.querySelector("#c-time").value = "09:00"; return true })()`)
	p.Do(chromedp.Click("#review-button"), chromedp.WaitVisible("#send-button"))
	p.WaitText("#rv-when", "9:00 AM C")
	p.Do(chromedp.Click("#send-button"), chromedp.WaitVisible("#slots"))
	p.WaitText("#slots", tomorrow.Format("Jan 2, 2006")+", 9:00 AM C")
	p.Axe()
	p.Screenshot(screens, "schedules")
}

// On a 360 px phone in Spanish the compose page does not scroll sideways.
func TestBrowserComposeSpanishPhone(t *testing.T) {
	t.Parallel()
	s := testkit.NewServer(t, testkit.SQLite(t), testkit.ServerOptions{NoQueue: true})
	b := newBrowser(t, s, "es")
	readyChurch(t, s, b, "Iglesia Nueva Vida", "ana@nuevavida.example.org", "+13125550142")
	p := webtest.New(t, 360, 740)
	p.Language("es-MX,es;q=0.9")
	signInBrowser(p, s, "ana@nuevavida.example.org")
	p.Do(chromedp.Navigate(s.URL+"/messages/new"), chromedp.WaitVisible("#c-body"),
		chromedp.SendKeys("#c-body", "Reunión mañana"))
	p.WaitText("#count-parts", "1 parte por persona")
	p.NoSideways()
	p.Axe()
	p.Screenshot(screens, "compose-es-360")
	p.Do(chromedp.Navigate(s.URL+"/schedules"), chromedp.WaitVisible("main h1"))
	p.NoSideways()
	p.Axe()
}
