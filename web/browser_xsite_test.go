package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/web/webtest"
)

// In a real browser: the session cookie carries the __Host- hardening
// (HttpOnly, Secure, SameSite=Lax, Path=/, host-only), and a form on another
// site that posts to /signout is refused with 403 by the cross-origin
// protection (the browser sends Sec-Fetch-Site: cross-site and an Origin),
// leaving the session signed in.
func TestBrowserCrossSiteAndCookie(t *testing.T) {
	t.Parallel()
	s := testkit.NewServer(t, testkit.SQLite(t), testkit.ServerOptions{NoQueue: true})
	app, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	p := webtest.New(t, 1024, 768)
	p.Language("en-US")
	p.Do(chromedp.Navigate(s.URL+"/signup"), chromedp.WaitVisible("#church-name"))
	webtest.Eval[bool](p, `(() => { document.querySelector("#church-tz").value = "America/Chicago"; return true })()`)
	p.Do(chromedp.SendKeys("#church-name", "Grace Chapel"),
		chromedp.SendKeys("#admin-name", "Ruth Alvarez"), chromedp.SendKeys("#admin-email", "ruth@grace.example.org"),
		chromedp.SendKeys("#admin-password", password), chromedp.Click("main form button[type=submit]"),
		chromedp.WaitVisible("#glance-h"))

	// The session cookie, as the browser stored it.
	var cookies []*network.Cookie
	p.Do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{s.URL + "/"}})
		cookies = res.Cookies
		return err
	}))
	var session *network.Cookie
	for _, c := range cookies {
		if c.Name == "__Host-steeple_session" {
			session = c
		}
	}
	if session == nil {
		names := make([]string, 0, len(cookies))
		for _, c := range cookies {
			names = append(names, c.Name)
		}
		t.Fatalf("no __Host-steeple_session cookie; browser has %v", names)
	}
	if !session.HTTPOnly || !session.Secure || session.SameSite != network.CookieSameSiteLax || session.Path != "/" {
		t.Fatalf("session cookie: httpOnly=%v secure=%v sameSite=%q path=%q; want true, true, Lax, /",
			session.HTTPOnly, session.Secure, session.SameSite, session.Path)
	}
	// Host-only: the browser records the exact host, never a ".domain".
	if session.Domain != app.Hostname() {
		t.Fatalf("session cookie domain %q; want host-only %q", session.Domain, app.Hostname())
	}
	if webtest.Eval[bool](p, `document.cookie.includes("steeple_session")`) {
		t.Fatal("the session cookie is readable from script")
	}

	// Another site (localhost is not the same site as 127.0.0.1) with a
	// form that signs the visitor out of Steeple.
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><title>Prize</title>
<form method="post" action="%s/signout"><button id="go" type="submit">Claim your prize</button></form></html>`, s.URL)
	}))
	t.Cleanup(attacker.Close)
	evil := strings.Replace(attacker.URL, "127.0.0.1", "localhost", 1)
	if evil == attacker.URL {
		t.Fatalf("attacker server at %s is not on 127.0.0.1", attacker.URL)
	}
	if app.Hostname() != "127.0.0.1" {
		t.Fatalf("app at %s: the attacker must be on another site", s.URL)
	}
	p.Do(chromedp.Navigate(evil+"/"), chromedp.WaitVisible("#go"))
	var resp *network.Response
	p.Do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		var err error
		resp, err = chromedp.RunResponse(ctx, chromedp.Click("#go"))
		return err
	}))
	if resp.Status != http.StatusForbidden || !strings.HasPrefix(resp.URL, s.URL+"/signout") {
		t.Fatalf("cross-site POST %s answered %d; want 403", resp.URL, resp.Status)
	}
	if got := p.Text("h1"); got != "Not allowed" {
		t.Fatalf("cross-site POST page: %q", got)
	}

	// The session survived: home still shows the signed-in church.
	p.Do(chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible("#glance-h"))
	if got := p.Text("header .church"); got != "Grace Chapel" {
		t.Fatalf("after the cross-site POST, header church: %q", got)
	}
}
