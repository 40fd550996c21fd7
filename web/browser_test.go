package web_test

import (
	"os"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/web/webtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	webtest.Close()
	os.Exit(code)
}

// screens is where STEEPLE_SCREENSHOTS=1 writes the screenshots docs/web.md shows.
const screens = "../docs/screens"

// In a real browser: sign up → home → sign out → sign in → home, with
// axe-core finding no violation on any page (errors shown included).
func TestBrowserSignupSigninHome(t *testing.T) {
	t.Parallel()
	s := testkit.NewServer(t, testkit.SQLite(t), testkit.ServerOptions{NoQueue: true})
	p := webtest.New(t, 1024, 768)
	p.Language("en-US")
	p.Do(chromedp.Navigate(s.URL+"/signup"), chromedp.WaitVisible("#church-name"))
	p.Axe()
	p.Screenshot(screens, "signup")

	// A form with errors: each beside its field, still accessible.
	p.Do(chromedp.SendKeys("#admin-email", "ruth@"), chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#admin-email-error"))
	if got := p.Text("#admin-email-error"); got != "This is not a valid email address." {
		t.Fatalf("email error: %q", got)
	}
	p.Axe()

	webtest.Eval[bool](p, `(() => { document.querySelector("#admin-email").value = ""; document.querySelector("#church-tz").value = "America/Chicago"; return true })()`)
	p.Do(chromedp.SendKeys("#church-name", "Grace Chapel"),
		chromedp.SendKeys("#admin-name", "Ruth Alvarez"), chromedp.SendKeys("#admin-email", "ruth@grace.example.org"),
		chromedp.SendKeys("#admin-password", password), chromedp.Click("main form button[type=submit]"),
		chromedp.WaitVisible("#glance-h"))
	if got := p.Text("header .church"); got != "Grace Chapel" {
		t.Fatalf("header church: %q", got)
	}
	p.Axe()
	p.Screenshot(screens, "home")
	// htmx loaded from its hashed URL under the CSP, configured without eval
	// or inline indicator styles.
	if !webtest.Eval[bool](p, `typeof htmx === "object" && htmx.config.allowEval === false && htmx.config.includeIndicatorStyles === false`) {
		t.Fatal("htmx is not loaded with the CSP-safe configuration")
	}

	p.Do(chromedp.Click("header form[action='/signout'] button"), chromedp.WaitVisible("#email"))
	if got := p.Text("h1"); got != "Sign in" {
		t.Fatalf("after sign out: %q", got)
	}
	p.Axe()
	p.Screenshot(screens, "signin")

	p.Do(chromedp.SendKeys("#email", "ruth@grace.example.org"), chromedp.SendKeys("#password", password),
		chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#glance-h"))
	if got := p.Text("h1"); got != "Home" {
		t.Fatalf("after sign in: %q", got)
	}
}

// In Spanish on a 360 px phone: no sideways scrolling and no axe violation
// on any page; the language picker switches back to English.
func TestBrowserSpanishPhone(t *testing.T) {
	t.Parallel()
	s := testkit.NewServer(t, testkit.SQLite(t), testkit.ServerOptions{NoQueue: true})
	p := webtest.New(t, 360, 740)
	p.Language("es-MX,es;q=0.9")
	p.Do(chromedp.Navigate(s.URL+"/signup"), chromedp.WaitVisible("#church-name"))
	if got := p.Text("h1"); got != "Empiece a enviar mensajes a su iglesia" {
		t.Fatalf("Spanish sign-up title: %q", got)
	}
	p.NoSideways()
	p.Axe()
	p.Screenshot(screens, "signup-es-360")

	p.Do(chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#church-name-error"))
	if got := p.Text("#church-name-error"); got != "Este dato es obligatorio." {
		t.Fatalf("Spanish error: %q", got)
	}
	p.NoSideways()
	p.Axe()

	p.Do(chromedp.SendKeys("#church-name", "Iglesia Bautista Hispana de la Comunidad"), chromedp.SendKeys("#admin-name", "María José Hernández"),
		chromedp.SendKeys("#admin-email", "maria@iglesia.example.org"), chromedp.SendKeys("#admin-password", password),
		chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#glance-h"))
	if got := p.Text("h1"); got != "Inicio" {
		t.Fatalf("Spanish home: %q", got)
	}
	p.NoSideways()
	p.Axe()
	p.Screenshot(screens, "home-es-360")

	// The picker's button works without script too; the choice is stored.
	webtest.Eval[bool](p, `(() => { document.querySelector("#lang-select").value = "en"; return true })()`)
	p.Do(chromedp.Click(".lang-form button"), chromedp.WaitVisible("html[lang=en] #glance-h"))
	if got := p.Text("h1"); got != "Home" {
		t.Fatalf("after choosing English: %q", got)
	}
	p.NoSideways()
}

// In a real browser: an email at two churches chooses one, then gives its
// authenticator code; both steps pass axe.
func TestBrowserChooseChurchAndCode(t *testing.T) {
	t.Parallel()
	s := testkit.NewServer(t, testkit.SQLite(t), testkit.ServerOptions{NoQueue: true})
	first := s.Signup(t, "First Baptist", "pastor@example.org", password)
	s.Signup(t, "First Baptist Annex", "pastor@example.org", password)
	fs := first.Session(t)
	firstID := fs.Tenant.ID
	secret, _ := s.Client(fs.AccessToken).EnableMFA(t)

	p := webtest.New(t, 1024, 768)
	p.Language("en-US")
	p.Do(chromedp.Navigate(s.URL+"/signin"), chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", "pastor@example.org"), chromedp.SendKeys("#password", password),
		chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("main article h2"))
	if got := p.Text("h1"); got != "Which church?" {
		t.Fatalf("church choice: %q", got)
	}
	p.Axe()
	p.Screenshot(screens, "choose")

	p.Do(chromedp.Click(`form:has(input[name=tenant_id][value="`+firstID+`"]) button`), chromedp.WaitVisible("#code"))
	p.Axe()
	p.Screenshot(screens, "code")
	code, err := totp.GenerateCode(secret, s.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	p.Do(chromedp.SendKeys("#code", code), chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#glance-h"))
	if got := p.Text("header .church"); got != "First Baptist" {
		t.Fatalf("signed in to %q", got)
	}
}
