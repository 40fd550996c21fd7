package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/web/webtest"
)

// In a real browser: "Forgot password?" → the link from the mail the real
// SMTP server received → a new password → sign in with it; every page
// passes axe.
func TestBrowserPasswordReset(t *testing.T) {
	t.Parallel()
	s := testkit.NewServer(t, testkit.SQLite(t), testkit.ServerOptions{NoQueue: true})
	s.Signup(t, "Grace Chapel", "ruth@grace.example.org", password)
	p := webtest.New(t, 1024, 768)
	p.Language("en-US")
	p.Do(chromedp.Navigate(s.URL+"/signin"), chromedp.WaitVisible("#email"),
		chromedp.Click(`a[href="/password/forgot"]`), chromedp.WaitVisible("#email"))
	p.Axe()
	p.Screenshot(screens, "forgot")
	p.Do(chromedp.SendKeys("#email", "ruth@grace.example.org"), chromedp.Click("main form button[type=submit]"),
		chromedp.WaitVisible("main .notice"))
	p.Axe()
	token := s.Mail.WaitFor(t, "ruth@grace.example.org", "/password/reset?token=").Token()
	p.Do(chromedp.Navigate(s.URL+"/password/reset?token="+token), chromedp.WaitVisible("#password"))
	p.Axe()
	p.Screenshot(screens, "reset")
	const fresh = "lanterns over the quiet harbor"
	p.Do(chromedp.SendKeys("#password", fresh), chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#email"))
	p.Axe()
	p.Do(chromedp.SendKeys("#email", "ruth@grace.example.org"), chromedp.SendKeys("#password", fresh),
		chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#glance-h"))
	if got := p.Text("header .church"); got != "Grace Chapel" {
		t.Fatalf("signed in to %q", got)
	}
}

// In a real browser: the owner is signed in in one context; the invited
// admin opens the mailed link in another, chooses a name and password and
// lands signed in on the church's home page.
func TestBrowserAcceptInvitation(t *testing.T) {
	t.Parallel()
	s := testkit.NewServer(t, testkit.SQLite(t), testkit.ServerOptions{NoQueue: true})
	r := s.Signup(t, "Grace Chapel", "ruth@grace.example.org", password)
	owner := webtest.New(t, 1024, 768)
	owner.Language("en-US")
	owner.Do(chromedp.Navigate(s.URL+"/signin"), chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", "ruth@grace.example.org"), chromedp.SendKeys("#password", password),
		chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#glance-h"))
	if inv := s.Do(t, "POST", "/api/v1/admins/invitations", r.Session(t).AccessToken, map[string]any{"email": "paul@grace.example.org"}); inv.Status >= 300 {
		t.Fatalf("invite: %d %s", inv.Status, inv.Raw)
	}
	link := s.Mail.WaitFor(t, "paul@grace.example.org", "/invitations/accept?token=").Token()

	paul := webtest.New(t, 360, 740)
	paul.Language("en-US")
	paul.Do(chromedp.Navigate(s.URL+"/invitations/accept?token="+link), chromedp.WaitVisible("#name"))
	paul.NoSideways()
	paul.Axe()
	paul.Screenshot(screens, "accept")
	paul.Do(chromedp.SendKeys("#name", "Paul Deacon"), chromedp.SendKeys("#password", "lanterns over the quiet harbor"),
		chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#glance-h"))
	if got := paul.Text("header .church"); got != "Grace Chapel" {
		t.Fatalf("paul signed in to %q", got)
	}
	// The owner's own session is untouched.
	owner.Do(chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible("#glance-h"))
}
