package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/web/webtest"
)

// browserSignIn signs p in through the sign-in form.
func browserSignIn(p *webtest.Page, url, email string) {
	p.Do(chromedp.Navigate(url+"/signin"), chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", email), chromedp.SendKeys("#password", password),
		chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#glance-h"))
}

// In a real browser: find a member by accent-insensitive search ("zoe"
// finds "Zoë"), tick her, add her to a group in bulk, and the group shows
// her; axe finds no violation on the members, member, groups and
// templates pages; at 360 px none scrolls sideways.
func TestBrowserMembersGroupsTemplates(t *testing.T) {
	t.Parallel()
	s := testkit.NewServer(t, testkit.SQLite(t), testkit.ServerOptions{NoQueue: true})
	p := webtest.New(t, 1024, 768)
	p.Language("en-US")
	// Sign up in the browser, as a secretary would.
	p.Do(chromedp.Navigate(s.URL+"/signup"), chromedp.WaitVisible("#church-name"))
	webtest.Eval[bool](p, `(() => { document.querySelector("#church-tz").value = "America/Chicago"; return true })()`)
	p.Do(chromedp.SendKeys("#church-name", "Grace Chapel"), chromedp.SendKeys("#admin-name", "Ruth Alvarez"),
		chromedp.SendKeys("#admin-email", "ruth@grace.example.org"), chromedp.SendKeys("#admin-password", password),
		chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#glance-h"))
	// Add Zoë through the form, with her consent.
	p.Do(chromedp.Navigate(s.URL+"/members/new"), chromedp.WaitVisible("#first-name"),
		chromedp.SendKeys("#first-name", "Zoë"), chromedp.SendKeys("#last-name", "Ávila"),
		chromedp.SendKeys("#phone", "(312) 555-0601"), chromedp.Click(`input[name=consent]`),
		chromedp.SendKeys("#wording", "Signed the welcome card on Sunday"),
		chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#consent-h"))
	p.Axe()
	zoe := strings.TrimPrefix(strings.SplitN(p.Location(), "?", 2)[0], s.URL+"/members/")
	// The rest of the church through the JSON API.
	tok := apiToken(t, s, "ruth@grace.example.org", "")
	addMember(t, s, tok, "Juan", "Pérez", "+13125550602", false)
	addMember(t, s, tok, "Mateo", "Núñez", "+13125550604", true)
	addMember(t, s, tok, "Grace", "Okafor", "+13125550605", true)
	choir := addGroup(t, s, tok, "Choir")
	addGroup(t, s, tok, "Youth")
	tr := s.Do(t, "POST", "/api/v1/templates", tok, map[string]any{"name": "Sunday reminder", "body": "Hi {first_name}, see you Sunday at 10 at {church_name}!"})
	tid := tr.ID(t)

	p.Do(chromedp.Navigate(s.URL+"/members"), chromedp.WaitVisible("#q"))
	p.WaitText("#total", "4 members")
	p.Axe()
	p.Screenshot(screens, "members")

	// Search as you type: htmx swaps the results in.
	p.Do(chromedp.SendKeys("#q", "zoe"))
	// Wait (a condition, not a sleep) until htmx has pushed the last
	// search's address and no request is in flight.
	webtest.Eval[bool](p, `new Promise(r => { const f = () => (location.search.includes("q=zoe") && !document.querySelector(".htmx-request")) ? r(true) : setTimeout(f, 50); f(); })`)
	p.WaitText("#total", "1 member matches")
	if got := p.Text("table.members tbody"); got == "" || !contains(got, "Zoë Ávila") || contains(got, "Juan") {
		t.Fatalf("search results: %q", got)
	}
	// Ticking a row moves the focus out of the search box. The search form
	// once re-ran the search on that "change" and swapped the results out,
	// ticks and all (the bulk form then posted nobody): the tick must stay.
	p.Do(chromedp.Click("#sel-" + zoe))
	webtest.Eval[bool](p, `new Promise(r => { const f = () => !document.querySelector(".htmx-request") ? r(true) : setTimeout(f, 50); f(); })`)
	if !webtest.Eval[bool](p, `document.querySelector("#sel-`+zoe+`").checked`) {
		t.Fatal("ticking Zoë re-ran the search and the tick was lost")
	}
	p.Do(chromedp.SetValue("#bulk-action", "add_to_group"), chromedp.SetValue("#bulk-group", choir),
		chromedp.Click("fieldset.bulk button[type=submit]"))
	p.Do(chromedp.WaitVisible("main .notice"))
	if got := p.Text(".notice[role=status]"); got != "Added 1 member to the group." {
		t.Fatalf("after bulk: %q at %s: %s", got, p.Location(), p.Text("main"))
	}
	p.Axe()

	p.Do(chromedp.Navigate(s.URL+"/groups"), chromedp.WaitVisible("#group-name"))
	p.WaitText("ul.group-list", "1 member")
	p.Axe()
	p.Screenshot(screens, "groups")
	p.Do(chromedp.Click(`a[href="/members?group=`+choir+`"]`), chromedp.WaitVisible("table.members"))
	p.WaitText("#total", "1 member matches")
	if got := p.Text("table.members tbody"); !contains(got, "Zoë Ávila") {
		t.Fatalf("the group's members: %q", got)
	}

	p.Do(chromedp.Navigate(s.URL+"/members/"+zoe), chromedp.WaitVisible("#consent-h"))
	if got := p.Text("main table"); !contains(got, "Signed the welcome card on Sunday") {
		t.Fatalf("consent history: %q", got)
	}
	p.Axe()
	p.Screenshot(screens, "member")

	p.Do(chromedp.Navigate(s.URL+"/templates"), chromedp.WaitVisible("main table"))
	p.Axe()
	p.Screenshot(screens, "templates")
	// The editor: a variable goes in at the cursor, and the preview uses
	// a real member's details.
	p.Do(chromedp.Navigate(s.URL+"/templates/"+tid), chromedp.WaitVisible("#t-body"))
	webtest.Eval[bool](p, `(() => { const b = document.querySelector("#t-body"); b.value = "Hello , welcome!"; b.setSelectionRange(6, 6); return true })()`)
	p.Do(chromedp.SetValue("#t-variable", "first_name"), chromedp.Click("button[data-insert-variable]"))
	if got := webtest.Eval[string](p, `document.querySelector("#t-body").value`); got != "Hello {first_name}, welcome!" {
		t.Fatalf("inserted variable: %q", got)
	}
	p.Do(chromedp.SetValue("#t-member", zoe), chromedp.Click(`button[value=preview]`))
	p.WaitText("#preview", "Hello Zoë, welcome!")
	p.Axe()
	// A misspelt variable is refused beside the text, which stays as typed.
	webtest.Eval[bool](p, `(() => { document.querySelector("#t-body").value = "Hi {frist_name}, see you Sunday!"; return true })()`)
	p.Do(chromedp.Click(`button[value=save]`), chromedp.WaitVisible("#t-body-error"))
	if got := p.Text("#t-body-error"); !contains(got, "{frist_name}") {
		t.Fatalf("variable error: %q", got)
	}
	p.Axe()
	p.Screenshot(screens, "template")

	p.Do(chromedp.Click("header form[action='/signout'] button"), chromedp.WaitVisible("#email"))

	// A phone: nothing scrolls sideways, in Spanish.
	m := webtest.New(t, 360, 740)
	m.Language("es-MX,es;q=0.9")
	browserSignIn(m, s.URL, "ruth@grace.example.org")
	for _, path := range []string{"/members", "/members/" + zoe, "/members/new", "/groups", "/templates", "/templates/" + tid} {
		m.Do(chromedp.Navigate(s.URL+path), chromedp.WaitVisible("main h1"))
		m.NoSideways()
		m.Axe()
		switch path {
		case "/members/" + zoe:
			m.Screenshot(screens, "member-es-360")
		case "/templates":
			m.Screenshot(screens, "templates-es-360")
		}
	}
	m.Do(chromedp.Navigate(s.URL+"/members"), chromedp.WaitVisible("#q"))
	m.Screenshot(screens, "members-es-360")
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
