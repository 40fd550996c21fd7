package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

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
		b.get("/").want(t, 200, `href="/numbers"`, `href="/registration"`, `href="/members/import"`,
			`href="/setup/send"`, `data-confirm="Sign out on every device`)
		b.get("/setup/send").want(t, 200, "coming soon", "/api/v1/")
		for st, to := range map[string]string{"number": "/numbers", "register": "/registration"} {
			if p := b.get("/setup/" + st); p.Status != http.StatusSeeOther || p.Location != to {
				t.Fatalf("/setup/%s: %d %q; want a redirect to %s", st, p.Status, p.Location, to)
			}
		}
		b.get("/setup/nothing").want(t, 404)
		b.post("/language", url.Values{"lang": {"es"}, "back": {"/setup/send"}})
		b.get("/setup/send").want(t, 200, "Pronto habrá")
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

// Forgot → the mailed link → a new password: the old sessions end, the
// new password signs in; the same answer for an unknown email; a used link
// shows a clear page with a way to ask for another.
func TestPasswordResetPages(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		const email = "ruth@grace.example.org"
		old := newBrowser(t, s, "en")
		old.signUp("Grace Chapel", email)
		b := newBrowser(t, s, "en")
		b.get("/signin").want(t, 200, `href="/password/forgot"`, "Forgot password?")
		b.get("/password/forgot").want(t, 200, "Forgot your password?")
		b.post("/password/forgot", url.Values{"email": {"not an email"}}).want(t, 400, "not a valid email")
		known := b.post("/password/forgot", url.Values{"email": {email}}).want(t, 200, "is on its way")
		unknown := b.post("/password/forgot", url.Values{"email": {"nobody@example.org"}}).want(t, 200, "is on its way")
		if strings.ReplaceAll(unknown.Body, "nobody@example.org", email) != known.Body {
			t.Fatal("the answer differs for an unknown email")
		}
		token := s.Mail.WaitFor(t, email, "/password/reset?token=").Token()
		b.get("/password/reset?token="+url.QueryEscape(token)).want(t, 200, "Grace Chapel", `name="token"`, `autocomplete="new-password"`)
		b.post("/password/reset", url.Values{"token": {token}, "password": {"short"}}).want(t, 400, "at least 10 characters")
		p := b.post("/password/reset", url.Values{"token": {token}, "password": {"a brand new long passphrase"}})
		if p.Status != 303 || p.Location != "/signin?reset=1" {
			t.Fatalf("reset: %d %s\n%s", p.Status, p.Location, p.Body)
		}
		b.get(p.Location).want(t, 200, "Your password is changed")
		b.get("/password/reset?token="+url.QueryEscape(token)).want(t, 404, "expired or was already used", `href="/password/forgot"`)
		b.post("/password/reset", url.Values{"token": {token}, "password": {"another long passphrase"}}).want(t, 404, "expired or was already used")
		if p := old.get("/"); p.Status != 303 {
			t.Fatalf("the old session survived the reset: %d", p.Status)
		}
		if p := b.post("/signin", url.Values{"email": {email}, "password": {"a brand new long passphrase"}, "next": {"/"}}); p.Status != 303 || p.Location != "/" {
			t.Fatalf("sign in with the new password: %d\n%s", p.Status, p.Body)
		}
		b.lang = "es"
		b.get("/password/forgot").lacks(t, "Forgot your password?")
	})
}

// Changing the password from the account page: the current one is
// checked, Spanish errors are Spanish, other browsers are signed out and
// this one stays signed in.
func TestAccountPasswordChange(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		const email = "ruth@grace.example.org"
		a := newBrowser(t, s, "en")
		a.signUp("Grace Chapel", email)
		other := newBrowser(t, s, "en")
		other.signIn(email)
		a.get("/").want(t, 200, `href="/account/password"`)
		a.get("/account/password").want(t, 200, "Change your password", `autocomplete="current-password"`)
		a.post("/account/password", url.Values{"current": {"wrong password!!"}, "new": {"a brand new long passphrase"}}).want(t, 400, "is not your current password")
		a.post("/account/password", url.Values{"current": {password}, "new": {"Grace Chapel 2024"}}).want(t, 400, "church")
		a.post("/language", url.Values{"lang": {"es"}, "back": {"/"}})
		a.post("/account/password", url.Values{"current": {"wrong password!!"}, "new": {"a brand new long passphrase"}}).want(t, 400, "No es su contraseña actual")
		p := a.post("/account/password", url.Values{"current": {password}, "new": {"a brand new long passphrase"}})
		if p.Status != 303 {
			t.Fatalf("change: %d\n%s", p.Status, p.Body)
		}
		a.get(p.Location).want(t, 200, "Su contraseña se cambió")
		if p := other.get("/"); p.Status != 303 {
			t.Fatalf("the other browser is still signed in: %d", p.Status)
		}
	})
}

// The signup mail's link verifies through its page; home shows a banner
// until then, with a way to get a new link; a used link explains itself
// and, for a verified church, says there is nothing more to do.
func TestVerifyEmailPageAndBanner(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		const email = "ruth@grace.example.org"
		b := newBrowser(t, s, "en")
		b.signUp("Grace Chapel", email)
		b.get("/").want(t, 200, "Verify your email address: we sent a link to "+email, "cannot get a number", `action="/verify-email/resend"`)
		p := b.post("/verify-email/resend", url.Values{})
		if p.Status != 303 || p.Location != "/?resent=1" {
			t.Fatalf("resend: %d %s", p.Status, p.Location)
		}
		b.get(p.Location).want(t, 200, "A new link is on its way")
		var token string
		deadline := time.Now().Add(10 * time.Second)
		for ; token == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if ms := s.Mail.Mails(); len(ms) >= 2 {
				token = ms[len(ms)-1].Token()
			}
		}
		if token == "" {
			t.Fatal("no second verification mail")
		}
		anon := newBrowser(t, s, "es")
		anon.get("/verify-email?token=not-a-token").want(t, 404, "venció o ya se usó", `href="/signin"`)
		anon.get("/verify-email?token="+url.QueryEscape(token)).want(t, 200, "su correo está verificado", "Grace Chapel")
		b.get("/").want(t, 200).lacks(t, "Verify your email address")
		b.get("/verify-email?token="+url.QueryEscape(token)).want(t, 404, "already verified").lacks(t, "Send me a new link")
	})
}

// An invitation's link opens a name and password form; accepting signs the
// new admin in (in a browser of its own), with the sign-up password rules.
func TestAcceptInvitationPage(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		r := s.Signup(t, "Grace Chapel", "ruth@grace.example.org", password)
		tok := apiToken(t, s, "ruth@grace.example.org", r.Session(t).Tenant.ID)
		if r := s.Do(t, "POST", "/api/v1/admins/invitations", tok, map[string]any{"email": "paul@grace.example.org"}); r.Status != 201 && r.Status != 202 {
			t.Fatalf("invite: %d %s", r.Status, r.Raw)
		}
		link := s.Mail.WaitFor(t, "paul@grace.example.org", "/invitations/accept?token=").Token()
		b := newBrowser(t, s, "en")
		b.get("/invitations/accept?token="+url.QueryEscape(link)).want(t, 200, "Grace Chapel", "paul@grace.example.org", `name="token"`)
		b.post("/invitations/accept", url.Values{"token": {link}, "name": {""}, "password": {"another long passphrase"}}).
			want(t, 400, "This is required.")
		b.post("/invitations/accept", url.Values{"token": {link}, "name": {"Paul"}, "password": {"Paul@Grace.example.org"}}).
			want(t, 400, "church", `value="Paul"`)
		p := b.post("/invitations/accept", url.Values{"token": {link}, "name": {"Paul Deacon"}, "password": {"another long passphrase"}})
		if p.Status != 303 || p.Location != "/" {
			t.Fatalf("accept: %d %s\n%s", p.Status, p.Location, p.Body)
		}
		b.get("/").want(t, 200, "Paul Deacon", "Grace Chapel")
		newBrowser(t, s, "en").get("/invitations/accept?token="+url.QueryEscape(link)).want(t, 404, "expired, was already used")
	})
}

// The duplicate warning needs the password: without it a sign-up with a
// known email and church name is an ordinary sign-up, and the page never
// says which emails run which church.
func TestSignupDuplicateWarningNeedsPassword(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		newBrowser(t, s, "en").signUp("Grace Chapel", "ruth@grace.example.org")
		f := signupForm("Grace Chapel", "ruth@grace.example.org")
		f.Set("admin.password", "a stranger's own passphrase")
		p := newBrowser(t, s, "en").post("/signup", f)
		if p.Status != 303 || strings.Contains(p.Body, "You already run") {
			t.Fatalf("a sign-up with another password was warned: %d\n%s", p.Status, p.Body)
		}
	})
}

// The church chooser never carries the password: a signed choice cookie
// (HttpOnly, __Host-, short-lived) names the matching admins and the
// chooser posts only the church id; the cookie works once, and only for a
// church it names.
func TestChooserCarriesNoPassword(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		first := newBrowser(t, s, "en")
		first.signUp("First Baptist", "pastor@example.org")
		second := newBrowser(t, s, "en")
		second.signUp("Second Baptist", "pastor@example.org")
		other := newBrowser(t, s, "en")
		other.signUp("Other Church", "someone@example.org")

		b := newBrowser(t, s, "en")
		p := b.post("/signin", url.Values{"email": {"pastor@example.org"}, "password": {password}, "next": {"/account/password"}}).
			want(t, 200, "Which church?", `action="/signin/choose"`, `name="tenant_id"`)
		p.lacks(t, password, `name="password"`, `name="email"`)
		var choice *http.Cookie
		for _, c := range p.Cookies {
			if c.Name == "__Host-steeple_choice" {
				choice = c
			}
		}
		if choice == nil || !choice.HttpOnly || !choice.Secure || choice.Path != "/" || choice.Domain != "" ||
			choice.SameSite != http.SameSiteLaxMode || choice.Expires.After(time.Now().Add(6*time.Minute)) {
			t.Fatalf("choice cookie %+v", choice)
		}
		if strings.Contains(choice.Value, password) {
			t.Fatal("the choice cookie holds the password")
		}
		// A church the token does not name is refused.
		b.post("/signin/choose", url.Values{"tenant_id": {other.tenantOf()}, "next": {"/"}}).want(t, 401, "took too long")
		if _, ok := b.cookies["__Host-steeple_session"]; ok {
			t.Fatal("signed in to a church the password did not open")
		}
		p = b.post("/signin", url.Values{"email": {"pastor@example.org"}, "password": {password}, "next": {"/account/password"}})
		saved := b.cookies["__Host-steeple_choice"]
		p = b.post("/signin/choose", url.Values{"tenant_id": {second.tenantOf()}, "next": {"/account/password"}})
		if p.Status != 303 || p.Location != "/account/password" || b.tenantOf() != second.tenantOf() {
			t.Fatalf("choose: %d %s", p.Status, p.Location)
		}
		// The choice works once.
		replay := newBrowser(t, s, "en")
		replay.cookies[saved.Name] = saved
		replay.post("/signin/choose", url.Values{"tenant_id": {second.tenantOf()}}).want(t, 401)
		// Without the cookie: sign in again.
		newBrowser(t, s, "en").post("/signin/choose", url.Values{"tenant_id": {second.tenantOf()}}).want(t, 401)
	})
}

// The new forms refuse cross-site posts (403), and the session cookie a
// reset-then-sign-in gives has the __Host- attributes.
func TestAccountFormsCrossOriginAndCookie(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		b := newBrowser(t, s, "en")
		b.signUp("Grace Chapel", "ruth@grace.example.org")
		evil := newBrowser(t, s, "en")
		evil.cookies = b.cookies
		evil.origin = "https://evil.example"
		for _, path := range []string{"/password/forgot", "/password/reset", "/account/password", "/invitations/accept",
			"/signin/choose", "/verify-email/resend"} {
			evil.post(path, url.Values{"email": {"ruth@grace.example.org"}}).want(t, 403)
		}
		if s.Mail.Count("ruth@grace.example.org") != 1 { // the sign-up's verification only
			t.Fatalf("a cross-site post sent mail: %d", s.Mail.Count("ruth@grace.example.org"))
		}
		p := newBrowser(t, s, "en").post("/signin", url.Values{"email": {"ruth@grace.example.org"}, "password": {password}, "next": {"/"}})
		var c *http.Cookie
		for _, k := range p.Cookies {
			if k.Name == "__Host-steeple_session" {
				c = k
			}
		}
		if c == nil || !c.HttpOnly || !c.Secure || c.Path != "/" || c.Domain != "" || c.SameSite != http.SameSiteLaxMode {
			t.Fatalf("session cookie %+v", c)
		}
	})
}
