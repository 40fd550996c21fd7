package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/tenancy"
	"github.com/steeple-sms/steeple/web/webtest"
)

// inviteAdmin invites an admin (not an owner) to c's church and returns
// their email (password testkit.Password).
func inviteAdmin(t *testing.T, s *testkit.Server, c *testkit.Church) string {
	t.Helper()
	email := "ada@" + url.PathEscape(c.ID[:8]) + ".example.org"
	if r := s.Do(t, "POST", "/api/v1/admins/invitations", c.Token, map[string]any{"email": email, "role": "admin"}); r.Status != http.StatusCreated {
		t.Fatalf("invite an admin: %d %s", r.Status, r.Raw)
	}
	tok := s.Mail.WaitFor(t, email, "/invitations/accept?token=").Token()
	if r := s.Do(t, "POST", "/api/v1/invitations/accept", "", map[string]any{"token": tok, "name": "Ada Reyes", "password": testkit.Password}); r.Status != http.StatusCreated {
		t.Fatalf("accept: %d %s", r.Status, r.Raw)
	}
	return email
}

// Settings → Close account: only owners see the link and the page; a
// wrong name closes nothing; the right one closes the church, signs
// everyone out, answers the page with the purge date, and audit-logs the
// owner as the one who closed it.
func TestCloseAccountPage(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		ctx := context.Background()
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		admin := inviteAdmin(t, s, c)
		sender := inviteSender(t, s, c)
		for _, who := range []string{admin, sender} {
			b := newBrowser(t, s, "en")
			b.signInChurch(who)
			b.get("/settings/close").want(t, 403)
			b.post("/settings/close", url.Values{"confirm": {"Grace Chapel"}}).want(t, 403)
			if who == admin {
				b.get("/settings").want(t, 200).lacks(t, `href="/settings/close"`)
			}
		}
		if tn, _ := s.Tenancy.Registry.Tenant(ctx, c.ID); tn.Status != steeple.TenantActive {
			t.Fatalf("a non-owner closed the church: %s", tn.Status)
		}
		es := newBrowser(t, s, "es")
		es.signInChurch(c.Email)
		es.get("/settings/close").want(t, 200, "Cerrar la cuenta de su iglesia", "escriba el nombre de su iglesia: Grace Chapel", "30 días")
		b := newBrowser(t, s, "en")
		b.signInChurch(c.Email)
		b.get("/settings").want(t, 200, `href="/settings/close"`)
		b.get("/settings/close").want(t, 200, "Close your church&#39;s account", "For 30 days", "type your church&#39;s name: Grace Chapel")
		// A form posted from another site closes nothing.
		b.origin = "https://evil.example"
		b.post("/settings/close", url.Values{"confirm": {"Grace Chapel"}}).want(t, 403)
		b.origin = s.URL
		b.post("/settings/close", url.Values{"confirm": {"Grace"}}).want(t, 400, "Type the church&#39;s name exactly", `value="Grace"`)
		if tn, _ := s.Tenancy.Registry.Tenant(ctx, c.ID); tn.Status != steeple.TenantActive {
			t.Fatalf("a wrong name or another site closed the church: %s", tn.Status)
		}
		p := b.post("/settings/close", url.Values{"confirm": {"  grace   chapel "}})
		cl, err := s.Tenancy.Registry.Closure(ctx, c.ID)
		if err != nil || cl.Status != steeple.TenantDeleting || cl.PurgeAt == nil {
			t.Fatalf("closure after the form: %+v, %v", cl, err)
		}
		p.want(t, 200, "Account closed", "The account of Grace Chapel is closed", "will be destroyed after", "restore the account")
		if cleared := p.Header.Get("Set-Cookie"); cleared == "" {
			t.Fatal("the session cookie was not cleared")
		}
		// Every session is over: this browser's, and the Spanish one's.
		if r := b.get("/"); r.Status != http.StatusSeeOther {
			t.Fatalf("home after closing: %d; want a redirect to sign-in", r.Status)
		}
		if r := es.get("/settings"); r.Status != http.StatusSeeOther {
			t.Fatalf("another session after closing: %d; want a redirect to sign-in", r.Status)
		}
		if _, err := s.App.Closing.Restore(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		s.WithHandle(t, c.ID, func(h *tenancy.Handle) {
			log, err := s.Store.AuditLog(ctx, h, "church.closed", 0, 5)
			if err != nil || len(log) != 1 || log[0].ActorID == "" || log[0].ActorID == "operator" {
				t.Fatalf("audit of the close: %+v, %v; want the owner", log, err)
			}
			n, err := s.Store.RevokeChurchSessions(ctx, h)
			if err != nil || n != 0 {
				t.Fatalf("%d web sessions survived the close (%v)", n, err)
			}
		})
	})
}

// In a browser: the close page passes axe in English and, at 360 px, in
// Spanish; closing answers the closed page.
func TestBrowserCloseAccount(t *testing.T) {
	t.Parallel()
	s := testkit.NewServer(t, testkit.SQLite(t), testkit.ServerOptions{NoQueue: true})
	c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
	for _, size := range []struct {
		w, h int64
		lang string
	}{{360, 740, "es"}, {1024, 768, "en-US"}} {
		p := webtest.New(t, size.w, size.h)
		p.Language(size.lang)
		p.Do(chromedp.Navigate(s.URL+"/signin"), chromedp.WaitVisible("#email"),
			chromedp.SendKeys("#email", c.Email), chromedp.SendKeys("#password", testkit.Password),
			chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("#glance-h"),
			chromedp.Navigate(s.URL+"/settings/close"), chromedp.WaitVisible("#close-confirm"))
		p.Axe()
		if size.lang == "es" {
			p.NoSideways()
			continue
		}
		p.Screenshot(screens, "close")
		p.Do(chromedp.SendKeys("#close-confirm", "Grace Chapel"), chromedp.Click("main form button[type=submit]"))
		p.Do(chromedp.WaitVisible("#closed-h"))
		p.WaitText("#closed-h", "Account closed")
		p.Axe()
		p.Screenshot(screens, "closed")
	}
}
