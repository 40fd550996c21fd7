package web_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
	"github.com/steeple-sms/steeple/web/webtest"
)

// signInOwner signs a real browser in with testkit.Password.
func signInOwner(p *webtest.Page, s *testkit.Server, email string) {
	p.Do(chromedp.Navigate(s.URL+"/signin"), chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", email), chromedp.SendKeys("#password", testkit.Password),
		chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#glance-h"))
}

// In a real browser on the simulator: reach Phone numbers from the More
// menu, search by area code, buy the first number (confirm, then the
// order's page updates by itself until the number is ready), release it
// (the confirm page explains the grace period) and restore it. axe finds
// nothing; at 360 px in Spanish nothing scrolls sideways. A sender sees
// no link and is refused both pages.
func TestBrowserNumbers(t *testing.T) {
	t.Parallel()
	s := testkit.NewServer(t, testkit.SQLite(t))
	c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
	s.Sim.SetOrderDelay(1500 * time.Millisecond) // 1.5 s pending: the order page shows progress first
	p := webtest.New(t, 1024, 768)
	p.Language("en-US")
	signInOwner(p, s, c.Email)
	p.Do(chromedp.Click("details.nav-more summary"), chromedp.WaitVisible(`a[href="/numbers"]`),
		chromedp.Click(`a[href="/numbers"]`), chromedp.WaitVisible("#no-numbers"))
	p.Do(chromedp.SendKeys("#q", "312"), chromedp.Click("#search-form button[type=submit]"), chromedp.WaitVisible("#found"))
	p.Axe()
	p.Screenshot(screens, "numbers-search")
	number := webtest.Eval[string](p, `document.querySelector("#found input[name=number]").value`)
	typed := "(" + number[2:5] + ") " + number[5:8] + "-" + number[8:]
	p.Do(chromedp.Click("#found button[type=submit]"), chromedp.WaitVisible("button.danger"))
	p.WaitText("main", "Buy "+typed+" for Grace Chapel?")
	p.Do(chromedp.Click("button.danger"), chromedp.WaitVisible("#order-progress"))
	p.WaitText("h1", "Buying "+typed)
	p.WaitText("#order-progress", "Your number is ready") // htmx polling, no reload
	if webtest.Eval[bool](p, `document.querySelector("#order-progress").hasAttribute("hx-trigger")`) {
		t.Fatal("the finished order still polls")
	}
	p.Axe()
	p.Screenshot(screens, "number-order")

	p.Do(chromedp.Navigate(s.URL+"/numbers"), chromedp.WaitVisible("#number-table"))
	p.WaitText("#number-table", typed)
	p.Do(chromedp.Click(`#number-table form[action="/numbers/release"] button`), chromedp.WaitVisible("button.danger"))
	p.WaitText("main", "Texts stop going out from it at once")
	p.Axe()
	p.Do(chromedp.Click("button.danger"), chromedp.WaitVisible(`#number-table form[action="/numbers/restore"]`))
	p.WaitText("#number-table", "Released: texts stopped.")
	p.Axe()
	p.Screenshot(screens, "numbers")
	p.Do(chromedp.Click(`#number-table form[action="/numbers/restore"] button`), chromedp.WaitVisible(`#number-table form[action="/numbers/release"]`))
	p.WaitText("main .notice", "The number is restored")

	small := webtest.New(t, 360, 740)
	small.Language("es")
	signInOwner(small, s, c.Email)
	small.Do(chromedp.Navigate(s.URL+"/numbers?q=312"), chromedp.WaitVisible("#found"))
	small.WaitText("main", "Números de teléfono")
	small.NoSideways()
	small.Axe()
	small.Screenshot(screens, "numbers-es-360")

	sender := inviteSender(t, s, c)
	sp := webtest.New(t, 1024, 768)
	sp.Language("en-US")
	signInOwner(sp, s, sender)
	if webtest.Eval[bool](sp, `!!document.querySelector('a[href="/numbers"], a[href="/registration"]')`) {
		t.Fatal("a sender is shown a link to numbers or registration")
	}
	for _, path := range []string{"/numbers", "/registration"} {
		sp.Do(chromedp.Navigate(s.URL+path), chromedp.WaitVisible("main h1"))
		sp.WaitText("main", "Ask an owner or admin")
	}
}

// In a real browser: the 10DLC form checks a field as it is left, the
// carriers reject the campaign with a reason, the page shows it and what
// to fix, and a resubmission is approved. axe finds nothing on the form,
// the rejection and the approval; at 360 px in Spanish nothing scrolls
// sideways.
func TestBrowserRegistration(t *testing.T) {
	t.Parallel()
	// The documented limits, as a church sees them (the test kit lifts them).
	s := testkit.NewServer(t, testkit.SQLite(t), testkit.ServerOptions{Messaging: func(m *messaging.Config) {
		m.PerNumberRate, m.UnregisteredDailyCap = 1, 200
	}})
	c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
	c.API(s).BuyNumber(t, "312") // in the provider's account, so it can join the campaign
	reason := "Campaign description does not say how members opt in."
	testkit.ScriptRegistration(t, s.Sim, telnyxsim.RegistrationCampaign, telnyxsim.RegistrationOutcome{Result: telnyxsim.Reject,
		Reasons: []string{reason}, RejectAt: "MNO_REJECTED"})
	p := webtest.New(t, 1024, 900)
	p.Language("en-US")
	signInOwner(p, s, c.Email)
	p.Do(chromedp.Navigate(s.URL+"/registration"), chromedp.WaitVisible("#reg-form"))
	// A mistyped EIN is flagged when the field is left.
	p.Do(chromedp.SendKeys("#r-ein", "12-34"), chromedp.Focus("#r-street"))
	p.WaitText("#r-ein-error", "Please type the 9-digit EIN")
	p.Axe()
	fill := func(ein string) {
		p.Do(chromedp.SetValue("#r-legal_name", "Grace Chapel of Springfield, Inc."), chromedp.SetValue("#r-ein", ein),
			chromedp.SetValue("#r-street", "1 Main St"), chromedp.SetValue("#r-city", "Springfield"), chromedp.SetValue("#r-state", "IL"),
			chromedp.SetValue("#r-postal_code", "62701"), chromedp.SetValue("#r-website", "https://grace.example.org"),
			chromedp.SetValue("#r-contact_email", "office@grace.example.org"), chromedp.SetValue("#r-contact_phone", "(312) 555-0199"))
	}
	fill("12-3456789")
	p.Screenshot(screens, "registration-form")
	p.Do(chromedp.Click("#reg-form button[type=submit]"), chromedp.WaitVisible("#timeline"))
	p.WaitText("main .notice", "Sent.")
	waitPage(t, p, s.URL+"/registration", `[data-status="campaign_rejected"]`)
	p.WaitText("#reasons", reason)
	p.WaitText("#fix", "What to fix")
	p.Axe()
	p.Screenshot(screens, "registration-rejected")

	testkit.ScriptRegistration(t, s.Sim, telnyxsim.RegistrationCampaign, telnyxsim.RegistrationOutcome{Result: telnyxsim.Approve})
	// The first submission's notice goes, so only the resubmission's answer can say "Sent.".
	webtest.Eval[bool](p, `(document.querySelectorAll("main .notice").forEach(e => e.remove()), true)`)
	p.Do(chromedp.SetValue("#r-ein", "12-3456789"), chromedp.Click("#reg-form button[type=submit]"))
	p.WaitText("main .notice", "Sent.") // the resubmission has landed before the page is reloaded
	waitPage(t, p, s.URL+"/registration", `[data-status="provisioned"]`)
	p.WaitText("#reg-status", "Approved")
	p.WaitText("#limits", "no daily cap")
	p.Axe()
	p.Screenshot(screens, "registration")

	small := webtest.New(t, 360, 740)
	small.Language("es")
	signInOwner(small, s, c.Email)
	small.Do(chromedp.Navigate(s.URL+"/registration"), chromedp.WaitVisible("#timeline"))
	small.WaitText("main", "Aprobado")
	small.NoSideways()
	small.Axe()
	small.Screenshot(screens, "registration-es-360")
}

// waitPage reloads url until sel is on the page (the registration page
// does not poll: its steps take days).
func waitPage(t *testing.T, p *webtest.Page, url, sel string) {
	t.Helper()
	testkit.Eventually(t, 20*time.Second, func() string {
		p.Do(chromedp.Navigate(url), chromedp.WaitVisible("main h1"))
		if webtest.Eval[bool](p, `!!document.querySelector(`+"`"+sel+"`"+`)`) {
			return ""
		}
		return "not yet " + sel
	})
}
