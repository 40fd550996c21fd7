package web_test

import (
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/web/webtest"
)

// In a real browser: sign up → upload the Planning Center export through
// the file input → preview → choose consent → import → the summary shows
// 32 people added; axe finds no violation on any step (errors included).
func TestBrowserImportPlanningCenter(t *testing.T) {
	t.Parallel()
	s := testkit.NewServer(t, testkit.SQLite(t), testkit.ServerOptions{NoQueue: true, Welcome: true,
		Tune: func(tu *app.Tuning) { tu.Messaging.UnregisteredDailyCap = 40 }})
	file, err := filepath.Abs("../members/testdata/import/planning_center.csv")
	if err != nil {
		t.Fatal(err)
	}
	p := webtest.New(t, 1024, 768)
	p.Language("en-US")
	p.Do(chromedp.Navigate(s.URL+"/signup"), chromedp.WaitVisible("#church-name"))
	webtest.Eval[bool](p, `(() => { document.querySelector("#church-tz").value = "America/Chicago"; return true })()`)
	p.Do(chromedp.SendKeys("#church-name", "Grace Chapel"), chromedp.SendKeys("#admin-name", "Ruth Alvarez"),
		chromedp.SendKeys("#admin-email", "ruth@grace.example.org"), chromedp.SendKeys("#admin-password", password),
		chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#glance-h"))

	p.Do(chromedp.Navigate(s.URL+"/members/import"), chromedp.WaitVisible("#file"))
	p.Axe()
	p.Screenshot(screens, "import-upload")
	// No file chosen: the error is beside the input.
	p.Do(chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#file-error"))
	p.Axe()

	p.Do(chromedp.SetUploadFiles("#file", []string{file}), chromedp.Click("main form button[type=submit]"),
		chromedp.WaitVisible("#import-button"))
	if got := p.Text("#import-button"); got != "Import 32 people" {
		t.Fatalf("import button: %q", got)
	}
	p.Axe()
	p.Screenshot(screens, "import-preview")

	// Import without choosing the consent: asked to choose, nothing imported.
	p.Do(chromedp.Click("#import-button"), chromedp.WaitVisible("#consent-error"))
	p.Axe()
	p.Do(chromedp.Click(`input[name=consent][value=opted_in]`), chromedp.SendKeys("#wording", "Signed the welcome card"),
		chromedp.Click("#import-button"), chromedp.WaitVisible("#sum-created"))
	if got := p.Text("#sum-created"); got != "32" {
		t.Fatalf("created: %q", got)
	}
	p.WaitText("#welcome-plan", "32 welcome texts")
	p.Axe()
	p.Screenshot(screens, "import-summary")
}

// In Spanish on a 360 px phone: the three import pages do not scroll
// sideways (the preview's table scrolls inside itself) and pass axe.
func TestBrowserImportSpanishPhone(t *testing.T) {
	t.Parallel()
	s := testkit.NewServer(t, testkit.SQLite(t), testkit.ServerOptions{NoQueue: true})
	file, err := filepath.Abs("../members/testdata/import/planning_center.csv")
	if err != nil {
		t.Fatal(err)
	}
	p := webtest.New(t, 360, 740)
	p.Language("es-MX,es;q=0.9")
	p.Do(chromedp.Navigate(s.URL+"/signup"), chromedp.WaitVisible("#church-name"))
	p.Do(chromedp.SendKeys("#church-name", "Iglesia Nueva Vida"), chromedp.SendKeys("#admin-name", "Ana Núñez"),
		chromedp.SendKeys("#admin-email", "ana@nuevavida.example.org"), chromedp.SendKeys("#admin-password", password),
		chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#glance-h"))
	p.Do(chromedp.Navigate(s.URL+"/members/import"), chromedp.WaitVisible("#file"))
	p.NoSideways()
	p.Axe()
	p.Do(chromedp.SetUploadFiles("#file", []string{file}), chromedp.Click("main form button[type=submit]"),
		chromedp.WaitVisible("#import-button"))
	if got := p.Text("#import-button"); got != "Importar 32 personas" {
		t.Fatalf("import button: %q", got)
	}
	p.NoSideways()
	p.Axe()
	p.Screenshot(screens, "import-preview-es-360")
	p.Do(chromedp.Click(`input[name=consent][value=none]`), chromedp.Click("#import-button"), chromedp.WaitVisible("#sum-created"))
	if got := p.Text("#sum-created"); got != "32" {
		t.Fatalf("created: %q", got)
	}
	p.WaitText("#welcome-plan", "No se enviarán mensajes de bienvenida")
	p.NoSideways()
	p.Axe()
}
