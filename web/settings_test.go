package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/web/webtest"
)

// The settings page: the church's name and timezone (registry) and its
// texting settings (its database), each form saved alone, refused beside
// the field with nothing written, audited; a sender is refused.
func TestSettingsPage(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		b := newBrowser(t, s, "en")
		b.post("/signin", url.Values{"email": {c.Email}, "password": {testkit.Password}, "next": {"/"}})
		b.get("/settings").want(t, 200, `value="Grace Chapel"`, `value="21:00"`, "{church_name}")

		b.post("/settings/church", url.Values{"name": {""}, "timezone": {"America/Denver"}}).want(t, 400, "This is required.")
		if got := c.API(s).Me(t).Church.Timezone; got == "America/Denver" {
			t.Fatal("a refused form changed the timezone")
		}
		p := b.post("/settings/church", url.Values{"name": {"Grace Chapel of Elgin"}, "timezone": {"America/Denver"}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("save church: %d %s", p.Status, p.Body)
		}
		b.follow(p).want(t, 200, "Church saved.", `value="Grace Chapel of Elgin"`, `value="America/Denver" selected`)
		if me := c.API(s).Me(t); me.Church.Name != "Grace Chapel of Elgin" || me.Church.Timezone != "America/Denver" {
			t.Fatalf("church after save: %+v", me.Church)
		}

		// A welcome text without STOP: refused beside the field; the valid
		// quiet hours typed with it are not written either.
		bad := url.Values{"quiet_hours_start": {"22:00"}, "quiet_hours_end": {"07:00"}, "help_contact": {"Call 312-555-0142"},
			"welcome_text": {"Welcome to {church_name}! Reply HELP for help. Msg & data rates may apply."}}
		b.post("/settings/texting", bad).want(t, 400, "include STOP", `value="22:00"`)
		if st := c.API(s).Settings(t); st.QuietHoursStart != "21:00" {
			t.Fatalf("a refused form wrote quiet hours: %+v", st)
		}
		good := bad
		good.Set("welcome_text", "Welcome to {church_name}! Reply HELP for help, STOP to opt out. Msg & data rates may apply.")
		b.follow(b.post("/settings/texting", good)).want(t, 200, "Texting settings saved.")
		if st := c.API(s).Settings(t); st.QuietHoursStart != "22:00" || st.HelpContact != "Call 312-555-0142" || !strings.Contains(st.WelcomeText, "STOP") {
			t.Fatalf("settings after save: %+v", st)
		}
		// The live counter counts the text as members get it.
		b.post("/settings/count", url.Values{"welcome_text": {"Hola de {church_name} — ¿cómo está?"}}).want(t, 200, "welcome-count", "special characters (70 per part)")

		var audit struct {
			Entries []struct{ Action, Detail string }
		}
		c.API(s).Call(t, "GET", "/api/v1/audit", nil, http.StatusOK, &audit)
		var actions []string
		for _, e := range audit.Entries {
			actions = append(actions, e.Action+":"+e.Detail)
		}
		if got := strings.Join(actions, " "); !strings.Contains(got, "church.updated:timezone America/Denver") ||
			!strings.Contains(got, "settings.changed:help_contact, quiet_hours_end, quiet_hours_start, welcome_text") {
			t.Fatalf("audit: %s", got)
		}

		// A sender gets the plain refusal, for the page and the forms.
		sender := inviteSender(t, s, c)
		sb := newBrowser(t, s, "en")
		sb.signInChurch(sender)
		sb.get("/settings").want(t, 403, "Ask an owner or admin")
		sb.post("/settings/church", url.Values{"name": {"Mine now"}, "timezone": {"America/Denver"}}).want(t, 403)
		sb.get("/").lacks(t, `href="/settings"`)
		if me := c.API(s).Me(t); me.Church.Name != "Grace Chapel of Elgin" {
			t.Fatalf("a sender renamed the church: %+v", me.Church)
		}
	})
}

// In a browser: the welcome text's counter follows typing; axe finds
// nothing; at 360 px in Spanish nothing scrolls sideways.
func TestBrowserSettings(t *testing.T) {
	t.Parallel()
	s := testkit.NewServer(t, testkit.SQLite(t), testkit.ServerOptions{NoQueue: true})
	c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
	for _, size := range []struct {
		w, h int64
		lang string
	}{{1024, 768, "en-US"}, {360, 740, "es"}} {
		p := webtest.New(t, size.w, size.h)
		p.Language(size.lang)
		p.Do(chromedp.Navigate(s.URL+"/signin"), chromedp.WaitVisible("#email"),
			chromedp.SendKeys("#email", c.Email), chromedp.SendKeys("#password", testkit.Password),
			chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#glance-h"),
			chromedp.Navigate(s.URL+"/settings"), chromedp.WaitVisible("#s-welcome"))
		p.Axe()
		if size.lang == "es" {
			p.NoSideways()
			p.Screenshot(screens, "settings-es-360")
			continue
		}
		webtest.Eval[bool](p, `(() => { document.querySelector("#s-welcome").value = ""; return true })()`)
		p.Do(chromedp.SendKeys("#s-welcome", "¡Bienvenidos a {church_name}! ¿Cómo está? Reply HELP for help, STOP to opt out. Msg & data rates may apply."))
		p.WaitText("#welcome-count", "special characters")
		p.Screenshot(screens, "settings")
	}
}
