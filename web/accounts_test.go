package web_test

import (
	"net/url"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// Each checklist item links to where it is done (a short explanation when
// it has no page yet), and "Sign out everywhere" asks first.
func TestHomeChecklistLinksAndConfirm(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		b := newBrowser(t, s, "en")
		b.signUp("Grace Chapel", "ruth@grace.example.org")
		b.get("/").want(t, 200, `href="/setup/number"`, `href="/setup/register"`, `href="/members/import"`,
			`href="/setup/send"`, `data-confirm="Sign out on every device`)
		for _, st := range []string{"number", "register", "send"} {
			b.get("/setup/"+st).want(t, 200, "coming soon", "/api/v1/")
		}
		b.get("/setup/nothing").want(t, 404)
		b.post("/language", url.Values{"lang": {"es"}, "back": {"/setup/register"}})
		b.get("/setup/register").want(t, 200, "Regístrese en 10DLC", "Pronto habrá")
		b.get("/").want(t, 200, `data-confirm="¿Cerrar sesión`)
	})
}

// The language picker's "back" stays on this site, like sign-in's "next".
func TestLanguageBackStaysOnSite(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		b := newBrowser(t, s, "en")
		for _, back := range []string{"/%09/evil.example", "/\t/evil.example", "//evil.example", "/\\evil.example"} {
			p := b.post("/language", url.Values{"lang": {"es"}, "back": {back}})
			if p.Status != 303 || p.Location != "/" {
				t.Fatalf("back %q: %d %q", back, p.Status, p.Location)
			}
			p = b.get("/signin?next=" + url.QueryEscape(back))
			p.want(t, 200).lacks(t, "evil.example")
		}
	})
}
