package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
)

// tenantOf reads the church a signed-in browser's session names.
func (b *browser) tenantOf() string {
	c := b.cookies["__Host-steeple_session"]
	if c == nil {
		b.t.Fatal("not signed in")
	}
	return auth.WebSessionTenant(c.Value)
}

// apiToken logs in through the JSON API (for setting up test data).
func apiToken(t *testing.T, s *testkit.Server, email, tenantID string) string {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": password, "tenant_id": tenantID})
	tok := r.Session(t).AccessToken
	if tok == "" {
		t.Fatalf("api login: %d %s", r.Status, r.Raw)
	}
	return tok
}

// Every page renders in English and in Spanish (chosen by Accept-Language
// before sign-in), with the layout's skip link and language picker.
func TestPagesInBothLanguages(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		for _, c := range []struct {
			lang, accept                                     string
			signup, signin, home, checklist, notFound, month string
		}{
			{"en", "en-US,en;q=0.9", "Start texting your church", "Sign in", "Home", "Get a phone number", "Page not found", "This month"},
			{"es", "es-MX,es;q=0.9,en;q=0.5", "Empiece a enviar mensajes", "Iniciar sesión", "Inicio", "Obtenga un número", "Página no encontrada", "Este mes"},
		} {
			t.Run(c.lang, func(t *testing.T) {
				b := newBrowser(t, s, c.accept)
				b.get("/signup").want(t, 200, `<html lang="`+c.lang+`"`, c.signup, `href="#main"`, `name="lang"`)
				b.get("/signin").want(t, 200, c.signin)
				b.get("/nowhere").want(t, 404, c.notFound)
				b.signUp("Iglesia "+c.lang, "owner-"+c.lang+"@example.org")
				home := b.get("/").want(t, 200, c.home, c.checklist, c.month, "Iglesia "+c.lang)
				if len(home.Body) > 100<<10 {
					t.Fatalf("home page is %d bytes", len(home.Body))
				}
				if home.Header.Get("Cache-Control") != "no-store" {
					t.Fatalf("home Cache-Control %q", home.Header.Get("Cache-Control"))
				}
				b.get("/messages/"+steeple.NewID()).want(t, 404, c.notFound)
			})
		}
	})
}

// The language is a setting of the admin: chosen once, it follows them to
// another browser whatever that browser asks for.
func TestLanguageIsPerAdmin(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		b := newBrowser(t, s, "en")
		b.signUp("Grace Chapel", "ruth@grace.example.org")
		p := b.post("/language", url.Values{"lang": {"es"}, "back": {"/"}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("language: %d", p.Status)
		}
		other := newBrowser(t, s, "en-US")
		other.signIn("ruth@grace.example.org")
		other.get("/").want(t, 200, `lang="es"`, "Inicio")
		// A language that is not offered falls back to English, never a 500.
		b.post("/language", url.Values{"lang": {"xx"}, "back": {"//evil.example"}})
		b.get("/").want(t, 200, `lang="en"`)
	})
}

// Sign-up errors show beside their fields, typed input comes back, nothing
// is created, and no input makes a 500.
func TestSignupForm(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		b := newBrowser(t, s, "en")
		p := b.post("/signup", url.Values{"church.name": {"  "}, "church.timezone": {"Mars/Olympus"}, "admin.name": {"Ruth <b>"},
			"admin.email": {"not-an-email"}, "admin.password": {"qz7k"}})
		p.want(t, 400, "This is required.", "Please choose a time zone from the list.", "This is not a valid email address.",
			"Please use at least 10 characters.", `value="Ruth &lt;b&gt;"`, `value="not-an-email"`, `aria-invalid="true"`)
		p.lacks(t, "qz7k") // a password is never sent back
		ts, err := s.Tenancy.Registry.Tenants(context.Background(), tenancyFilterAll())
		if err != nil || len(ts) != 0 {
			t.Fatalf("a failed sign-up created churches: %v %v", ts, err)
		}
		for _, f := range []url.Values{
			{},
			{"church.name": {strings.Repeat("é", 5000)}},
			{"admin.email": {"\x00"}, "church.timezone": {"Local"}},
		} {
			if p := b.post("/signup", f); p.Status >= 500 {
				t.Fatalf("sign-up %v: %d", f, p.Status)
			}
		}
		// A form too large for the limit is refused cleanly.
		b.post("/signup", url.Values{"church.name": {strings.Repeat("a", 70<<10)}}).want(t, 413)
		// Spanish errors beside the fields.
		es := newBrowser(t, s, "es")
		es.post("/signup", url.Values{"church.timezone": {"America/Chicago"}}).want(t, 400, "Este dato es obligatorio.")
	})
}

// The same church name with the same email warns before a second church is
// made; confirming makes it.
func TestSignupTwiceWarns(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		b := newBrowser(t, s, "en")
		b.signUp("Grace Chapel", "ruth@grace.example.org")
		again := newBrowser(t, s, "en")
		again.post("/signup", signupForm(" grace  chapel", "RUTH@grace.example.org")).
			want(t, 409, "You already run a church called", `name="confirm_duplicate"`, `value="grace  chapel"`)
		if len(again.cookies) != 0 {
			t.Fatal("a warned sign-up signed in")
		}
		// Another email with the same name is not warned.
		newBrowser(t, s, "en").signUp("Grace Chapel", "other@grace.example.org")
		f := signupForm("Grace Chapel", "ruth@grace.example.org")
		f.Set("confirm_duplicate", "yes")
		if p := again.post("/signup", f); p.Status != http.StatusSeeOther {
			t.Fatalf("confirmed sign-up: %d %s", p.Status, p.Body)
		}
	})
}

// An email at two churches chooses the church (name and creation date),
// and lands in the one chosen.
func TestSigninChoosesChurch(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		first := newBrowser(t, s, "en")
		first.signUp("First Baptist", "pastor@example.org")
		second := newBrowser(t, s, "en")
		second.signUp("Second Baptist", "pastor@example.org")
		// The second church gave its city for 10DLC: the choice shows it.
		h, err := s.Tenancy.Manager.Acquire(context.Background(), second.tenantOf())
		if err != nil {
			t.Fatal(err)
		}
		err = s.Store.SubmitRegistration(context.Background(), h, store.BrandProfile{LegalName: "Second Baptist Church", EIN: "123456789",
			EINLast4: "6789", City: "Springfield", State: "IL"}, steeple.RegBrandPending)
		h.Release()
		if err != nil {
			t.Fatal(err)
		}
		b := newBrowser(t, s, "en")
		b.post("/signin", url.Values{"email": {"pastor@example.org"}, "password": {"wrong password here"}}).
			want(t, 401, "do not match", `value="pastor@example.org"`)
		p := b.post("/signin", url.Values{"email": {"pastor@example.org"}, "password": {password}}).
			want(t, 200, "Which church?", "First Baptist", "Second Baptist", "Springfield · Created")
		if len(b.cookies) != 1 || b.cookies["__Host-steeple_choice"] == nil {
			t.Fatalf("a choice of churches set cookies %v (want only the choice cookie)", b.cookies)
		}
		_ = p
		p = b.post("/signin", url.Values{"email": {"pastor@example.org"}, "password": {password}, "tenant_id": {second.tenantOf()}})
		b.follow(p).want(t, 200, "Second Baptist").lacks(t, "First Baptist")
		if b.tenantOf() != second.tenantOf() {
			t.Fatal("signed in to the wrong church")
		}
		newBrowser(t, s, "es").post("/signin", url.Values{"email": {"pastor@example.org"}, "password": {password}}).
			want(t, 200, "¿Qué iglesia?", "Creada el", "Abrir Second Baptist")
		// A church id that is not one of theirs is the same as a wrong password.
		newBrowser(t, s, "en").post("/signin", url.Values{"email": {"pastor@example.org"}, "password": {password},
			"tenant_id": {steeple.NewID()}}).want(t, 401)
		newBrowser(t, s, "en").post("/signin", url.Values{"email": {"pastor@example.org"}, "password": {password},
			"tenant_id": {"../../etc"}}).want(t, 400)
	})
}

// Repeated wrong passwords lock the email, shared with the API.
func TestSigninLockoutShared(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		newBrowser(t, s, "en").signUp("Grace Chapel", "ruth@grace.example.org")
		b := newBrowser(t, s, "en")
		for range 5 {
			b.post("/signin", url.Values{"email": {"ruth@grace.example.org"}, "password": {"not the password"}})
		}
		p := b.post("/signin", url.Values{"email": {"ruth@grace.example.org"}, "password": {password}})
		if p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" && !strings.Contains(p.Body, "field-error") {
			t.Fatalf("after 5 failures: %d\n%s", p.Status, p.Body)
		}
		r := s.Do(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": "ruth@grace.example.org", "password": password})
		if r.Status != http.StatusTooManyRequests {
			t.Fatalf("the API is not locked too: %d %s", r.Status, r.Raw)
		}
	})
}

func tenancyFilterAll() tenancyFilter { return tenancyFilter{} }

// Cookie attributes of the session: __Host- prefixed, HttpOnly, Secure,
// SameSite=Lax, Path=/, no Domain.
func TestSessionCookie(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		b := newBrowser(t, s, "en")
		p := b.post("/signup", signupForm("Grace Chapel", "ruth@grace.example.org"))
		var c *http.Cookie
		for _, k := range p.Cookies {
			if k.Name == "__Host-steeple_session" {
				c = k
			}
		}
		if c == nil {
			t.Fatalf("no session cookie: %v", p.Header["Set-Cookie"])
		}
		if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
			t.Fatalf("cookie attributes: %s", c.String())
		}
		if !strings.HasPrefix(c.Value, "ws1.") || strings.Contains(c.Value, "rt1") {
			t.Fatalf("cookie value is not a web session: %.8s…", c.Value)
		}
		// Not the API's tokens: the cookie is no bearer token.
		if r := s.Do(t, "GET", "/api/v1/members", c.Value, nil); r.Status != http.StatusUnauthorized {
			t.Fatalf("session as bearer token: %d", r.Status)
		}
	})
}

// A session ends after 12 idle hours, 14 days after sign-in even when used,
// on sign out, on sign out everywhere, when the admin is removed, when the
// password changes, and when the church is suspended.
func TestSessionEnds(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		ctx := context.Background()
		signedOut := func(t *testing.T, b *browser) {
			t.Helper()
			p := b.get("/")
			if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/signin") {
				t.Fatalf("still signed in: %d %s", p.Status, p.Location)
			}
			if _, ok := b.cookies["__Host-steeple_session"]; ok {
				t.Fatal("the ended session's cookie was not cleared")
			}
		}
		t.Run("idle", func(t *testing.T) {
			b := newBrowser(t, s, "en")
			b.signUp("Idle Church", "idle@example.org")
			s.Clock.Add(11 * time.Hour)
			b.get("/").want(t, 200)
			s.Clock.Add(11 * time.Hour) // 22 h after sign-in but 11 h after last use
			b.get("/").want(t, 200)
			s.Clock.Add(12*time.Hour + time.Second)
			signedOut(t, b)
		})
		t.Run("pruned at sign-in", func(t *testing.T) {
			b := newBrowser(t, s, "en")
			b.signUp("Prune Church", "prune@example.org")
			newBrowser(t, s, "en").signIn("prune@example.org")
			s.Clock.Add(13 * time.Hour)
			newBrowser(t, s, "en").signIn("prune@example.org")
			h, err := s.Tenancy.Manager.Acquire(ctx, b.tenantOf())
			if err != nil {
				t.Fatal(err)
			}
			defer h.Release()
			admins, err := s.Store.Admins(ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			if n, err := s.Store.CountWebSessions(ctx, h, admins[0].ID); err != nil || n != 1 {
				t.Fatalf("sessions after the idle ones ended: %d (%v), want 1", n, err)
			}
		})
		t.Run("absolute", func(t *testing.T) {
			b := newBrowser(t, s, "en")
			b.signUp("Busy Church", "busy@example.org")
			for range 14 {
				s.Clock.Add(23*time.Hour + 59*time.Minute)
				b.get("/")
			}
			s.Clock.Add(20 * time.Minute)
			signedOut(t, b)
		})
		t.Run("sign out", func(t *testing.T) {
			b := newBrowser(t, s, "en")
			b.signUp("Out Church", "out@example.org")
			other := newBrowser(t, s, "en")
			other.signIn("out@example.org")
			old := b.cookies["__Host-steeple_session"].Value
			b.follow(b.post("/signout", url.Values{})).want(t, 200, "You have signed out.")
			signedOut(t, b)
			// The old value no longer works even if kept.
			b.cookies["__Host-steeple_session"] = &http.Cookie{Name: "__Host-steeple_session", Value: old}
			signedOut(t, b)
			other.get("/").want(t, 200)
		})
		t.Run("everywhere", func(t *testing.T) {
			b := newBrowser(t, s, "en")
			b.signUp("All Church", "all@example.org")
			other := newBrowser(t, s, "en")
			other.signIn("all@example.org")
			b.post("/signout", url.Values{"everywhere": {"yes"}}).want(t, http.StatusSeeOther)
			signedOut(t, b)
			signedOut(t, other)
		})
		t.Run("admin removed", func(t *testing.T) {
			owner := newBrowser(t, s, "en")
			owner.signUp("Team Church", "owner@team.example.org")
			h, err := s.Tenancy.Manager.Acquire(ctx, owner.tenantOf())
			if err != nil {
				t.Fatal(err)
			}
			a, err := s.Store.Admins(ctx, h)
			if err != nil {
				h.Release()
				t.Fatal(err)
			}
			// A second owner so the first may be removed.
			hash, _ := auth.HashPassword(password)
			if _, err := s.Store.CreateAdmin(ctx, h, storeNewAdmin("Second", "second@team.example.org", hash)); err != nil {
				h.Release()
				t.Fatal(err)
			}
			_, err = s.Store.DeleteAdmin(ctx, h, a[0].ID)
			h.Release()
			if err != nil {
				t.Fatal(err)
			}
			signedOut(t, owner)
		})
		t.Run("password changed", func(t *testing.T) {
			b := newBrowser(t, s, "en")
			b.signUp("Pw Church", "pw@example.org")
			h, err := s.Tenancy.Manager.Acquire(ctx, b.tenantOf())
			if err != nil {
				t.Fatal(err)
			}
			hash, _ := auth.HashPassword("a brand new password")
			_, err = h.ExecContext(ctx, `UPDATE admins SET password_hash = $1`, hash)
			h.Release()
			if err != nil {
				t.Fatal(err)
			}
			signedOut(t, b)
		})
		t.Run("church suspended", func(t *testing.T) {
			b := newBrowser(t, s, "en")
			b.signUp("Suspended Church", "sus@example.org")
			if _, err := s.Tenancy.Registry.SetStatus(ctx, b.tenantOf(), steeple.TenantSuspended, steeple.TenantActive); err != nil {
				t.Fatal(err)
			}
			signedOut(t, b)
		})
		t.Run("forged", func(t *testing.T) {
			b := newBrowser(t, s, "en")
			for _, v := range []string{"x", "ws1." + steeple.NewID() + "." + strings.Repeat("A", 52), "ws1.../..", strings.Repeat("z", 4000)} {
				b.cookies["__Host-steeple_session"] = &http.Cookie{Name: "__Host-steeple_session", Value: v}
				if p := b.get("/"); p.Status != http.StatusSeeOther {
					t.Fatalf("forged cookie %.20q: %d", v, p.Status)
				}
			}
		})
	})
}

// Cross-site posts are refused with 403, on public and signed-in routes;
// same-origin posts and requests without Origin (non-browsers) pass.
func TestCrossOriginRefused(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		b := newBrowser(t, s, "en")
		b.signUp("Grace Chapel", "ruth@grace.example.org")
		evil := *b
		evil.origin = "https://evil.example"
		evil.post("/signout", url.Values{"everywhere": {"yes"}}).want(t, 403, "Not allowed")
		evil.post("/signup", signupForm("Evil Church", "evil@example.org")).want(t, 403)
		evil.post("/signin", url.Values{"email": {"ruth@grace.example.org"}, "password": {password}}).want(t, 403)
		evil.post("/language", url.Values{"lang": {"es"}}).want(t, 403)
		b.get("/").want(t, 200) // still signed in: the forged sign-out did nothing
	})
}

// Security headers on every page; static files carry a content hash and are
// cached for a year.
func TestHeadersAndStatic(t *testing.T) {
	t.Parallel()
	s := testkit.NewServer(t, testkit.SQLite(t), testkit.ServerOptions{NoQueue: true})
	b := newBrowser(t, s, "en")
	p := b.get("/signin").want(t, 200)
	for k, v := range map[string]string{
		"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
		"Referrer-Policy":         "same-origin",
		"X-Content-Type-Options":  "nosniff",
		"Cache-Control":           "no-store",
	} {
		if got := p.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if strings.Contains(p.Body, "<script>") || strings.Contains(p.Body, " style=") || strings.Contains(p.Body, "onclick") {
		t.Error("inline script or style in a page")
	}
	for _, name := range []string{"htmx-2.0.11.min", "pico-2.1.1.min", "app"} {
		i := strings.Index(p.Body, "/static/"+name+".")
		if i < 0 {
			t.Fatalf("page does not link %s", name)
		}
		u := p.Body[i:]
		u = u[:strings.IndexByte(u, '"')]
		sp := b.get(u).want(t, 200)
		if sp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || sp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s headers: %v", u, sp.Header)
		}
	}
	b.get("/static/app.css").want(t, 404)
	// The API keeps its routes beside the web app.
	if r := s.Do(t, "GET", "/api/v1/nothing", "", nil); r.Status != 404 || !strings.Contains(r.Raw, `"error"`) {
		t.Fatalf("API 404 is not JSON: %d %s", r.Status, r.Raw)
	}
	if r := s.Do(t, "GET", "/healthz", "", nil); r.Status != 200 {
		t.Fatalf("healthz: %d", r.Status)
	}
}
