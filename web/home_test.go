package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// The home page reflects real state: the checklist follows the number,
// members and first text; texts used and recent messages appear; a message
// of another church is a 404 page.
func TestHomeReflectsState(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be)
		ctx := context.Background()
		b := newBrowser(t, s, "en")
		b.signUp("Grace Chapel", "ruth@grace.example.org")
		home := b.get("/").want(t, 200, "Getting set up", "Get a phone number", "No messages sent yet.",
			"has not registered for 10DLC yet")
		home.lacks(t, "Done:")

		// Texting needs a verified email: follow the sign-up mail's link.
		vt := s.Mail.WaitFor(t, "ruth@grace.example.org", "/verify-email?token=").Token()
		b.get("/verify-email?token="+url.QueryEscape(vt)).want(t, 200, "your email is verified")
		if err := s.Tenancy.Registry.AssignNumber(ctx, b.tenantOf(), "+13125559101"); err != nil {
			t.Fatal(err)
		}
		tok := apiToken(t, s, "ruth@grace.example.org", b.tenantOf())
		r := s.Do(t, "POST", "/api/v1/members", tok, map[string]any{"first_name": "Ann", "last_name": "Arbor",
			"phone": "+13125550601", "consent": map[string]any{"opted_in": true, "wording": "Reply YES"}})
		if r.Status != http.StatusCreated {
			t.Fatalf("member: %d %s", r.Status, r.Raw)
		}
		r = s.Do(t, "POST", "/api/v1/messages", tok, map[string]any{"text": "Potluck Sunday <b>6pm</b>", "audience": map[string]any{"all": true}})
		if r.Status != http.StatusCreated && r.Status != http.StatusAccepted {
			t.Fatalf("message: %d %s", r.Status, r.Raw)
		}
		id := r.ID(t)
		home = b.get("/").want(t, 200, "Done:", "Potluck Sunday &lt;b&gt;6pm&lt;/b&gt;", "/messages/"+id, "CST")
		home.lacks(t, "No messages sent yet.", "<b>6pm</b>")
		b.get("/messages/"+id).want(t, 200, "Where its text went", "Delivered")
		b.post("/language", url.Values{"lang": {"es"}, "back": {"/messages/" + id}})
		b.get("/messages/"+id).want(t, 200, "Adónde fue su mensaje", "Entregado")
		b.get("/").want(t, 200, "Mensajes recientes", "Hecho:")

		other := newBrowser(t, s, "en")
		other.signUp("Other Church", "other@example.org")
		other.get("/messages/"+id).want(t, 404, "Page not found").lacks(t, "Potluck")
		other.get("/messages/not-an-id").want(t, 404)
	})
}
