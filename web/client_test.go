package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// browser is a minimal browser for the pages: it keeps cookies (Secure ones
// too: the test server is plain http on loopback, which browsers treat as
// secure), sends Origin on posts like a browser, and does not follow
// redirects on its own.
type browser struct {
	t       *testing.T
	s       *testkit.Server
	lang    string
	cookies map[string]*http.Cookie
	origin  string
}

func newBrowser(t *testing.T, s *testkit.Server, lang string) *browser {
	return &browser{t: t, s: s, lang: lang, cookies: map[string]*http.Cookie{}, origin: s.URL}
}

// page is one answer.
type page struct {
	Status   int
	Header   http.Header
	Body     string
	Location string
	Cookies  []*http.Cookie
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (b *browser) do(method, path string, form url.Values) *page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(context.Background(), method, b.s.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if method != http.MethodGet && b.origin != "" {
		req.Header.Set("Origin", b.origin)
	}
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	for _, c := range b.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	p := &page{Status: resp.StatusCode, Header: resp.Header, Body: string(raw), Location: resp.Header.Get("Location"), Cookies: resp.Cookies()}
	for _, c := range p.Cookies {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return p
}

func (b *browser) get(path string) *page { return b.do(http.MethodGet, path, nil) }

func (b *browser) post(path string, form url.Values) *page { return b.do(http.MethodPost, path, form) }

// follow follows a redirect answer with a GET (303 See Other).
func (b *browser) follow(p *page) *page {
	b.t.Helper()
	for i := 0; i < 5 && p.Status >= 300 && p.Status < 400; i++ {
		p = b.get(p.Location)
	}
	return p
}

// want checks status and that the body holds each string.
func (p *page) want(t *testing.T, status int, contains ...string) *page {
	t.Helper()
	if p.Status != status {
		t.Fatalf("status %d, want %d; body:\n%s", p.Status, status, p.Body)
	}
	for _, c := range contains {
		if !strings.Contains(p.Body, c) {
			t.Fatalf("page lacks %q:\n%s", c, p.Body)
		}
	}
	return p
}

// lacks checks the body holds none of the strings.
func (p *page) lacks(t *testing.T, strs ...string) *page {
	t.Helper()
	for _, c := range strs {
		if strings.Contains(p.Body, c) {
			t.Fatalf("page holds %q:\n%s", c, p.Body)
		}
	}
	return p
}

const password = "correct horse battery staple"

// signupForm is a church's sign-up form.
func signupForm(church, email string) url.Values {
	return url.Values{"church.name": {church}, "church.timezone": {"America/Chicago"}, "admin.name": {"Ruth Secretary"},
		"admin.email": {email}, "admin.password": {password}}
}

// signUp creates a church through the web form and leaves b signed in.
func (b *browser) signUp(church, email string) {
	b.t.Helper()
	p := b.post("/signup", signupForm(church, email))
	if p.Status != http.StatusSeeOther || p.Location != "/" {
		b.t.Fatalf("sign up: %d %s\n%s", p.Status, p.Location, p.Body)
	}
}

// signIn signs in with email and password (one church, no MFA).
func (b *browser) signIn(email string) {
	b.t.Helper()
	p := b.post("/signin", url.Values{"email": {email}, "password": {password}, "next": {"/"}})
	if p.Status != http.StatusSeeOther || p.Location != "/" {
		b.t.Fatalf("sign in: %d %s\n%s", p.Status, p.Location, p.Body)
	}
}
