package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/web/webtest"
)

// In a browser: People, My account (turning two-step sign-in on shows a
// QR code image that loads) and the audit log pass axe, and at 360 px in
// Spanish nothing scrolls sideways.
func TestBrowserPeopleAccountAudit(t *testing.T) {
	t.Parallel()
	s := testkit.NewServer(t, testkit.SQLite(t), testkit.ServerOptions{NoQueue: true})
	c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
	inviteSender(t, s, c)
	for _, size := range []struct {
		w, h int64
		lang string
	}{{1024, 768, "en-US"}, {360, 740, "es"}} {
		p := webtest.New(t, size.w, size.h)
		p.Language(size.lang)
		p.Do(chromedp.Navigate(s.URL+"/signin"), chromedp.WaitVisible("#email"),
			chromedp.SendKeys("#email", c.Email), chromedp.SendKeys("#password", testkit.Password),
			chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#glance-h"))
		for _, page := range []struct{ path, ready, shot string }{
			{"/admins", "#admin-table", "people"}, {"/account", "#mfa-start", "account"}, {"/audit", "#audit-table", "audit"},
		} {
			p.Do(chromedp.Navigate(s.URL+page.path), chromedp.WaitVisible(page.ready))
			p.Axe()
			if size.lang == "es" {
				p.NoSideways()
			}
		}
		if size.lang == "es" {
			p.Screenshot(screens, "people-es-360")
			// The audit log reads as blocks on a phone, its actions in Spanish.
			p.Do(chromedp.Navigate(s.URL+"/audit"), chromedp.WaitVisible("#audit-table"))
			if got := webtest.Eval[string](p, `document.querySelector("#audit-table tbody td[data-label]:nth-child(3)").textContent`); strings.Contains(got, ".") || !strings.Contains(got, " ") {
				t.Errorf("the audit log's first action reads %q; want it in words, in Spanish", got)
			}
			p.Screenshot(screens, "audit-es-360")
			continue
		}
		p.Do(chromedp.Navigate(s.URL+"/account"), chromedp.WaitVisible("#mfa-start"), chromedp.Click("#mfa-start"), chromedp.WaitVisible("#mfa-qr"))
		if !webtest.Eval[bool](p, `document.querySelector("#mfa-qr").complete && document.querySelector("#mfa-qr").naturalWidth === 256`) {
			t.Fatal("the QR code image did not load")
		}
		p.Axe()
		p.Screenshot(screens, "account-mfa")
		p.Do(chromedp.Navigate(s.URL+"/admins"), chromedp.WaitVisible("#admin-table"))
		p.Screenshot(screens, "people")
	}
}
