package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/tenancy"
)

// The live counter takes no church connection: with the church's only
// connection held elsewhere, the counter answers while the audience count
// (which reads the church's members) runs out of time. A session signed
// out gets no counter, and one this process has not checked yet is checked
// in the church's database once.
func TestComposeCounterNeedsNoChurchConnection(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true, AcquireTimeout: 300 * time.Millisecond,
			Tenancy: func(o *tenancy.Options) { o.Manager.MaxPerTenant = 1 }})
		b := newBrowser(t, s, "en")
		b.signUp("Grace Chapel", "ruth@grace.example.org")
		b.get("/messages/new").want(t, 200, `hx-post="/messages/count"`)

		held, err := s.Tenancy.Manager.Acquire(context.Background(), b.tenantOf())
		if err != nil {
			t.Fatal(err)
		}
		count := url.Values{"body": {"Reunión mañana"}}
		b.do2("POST", "/messages/count", count, htmx).want(t, http.StatusOK, `id="counter"`, "1 part per person", "<mark>ó</mark>")
		if st := s.Tenancy.Manager.Stats(); st.InUse != 1 {
			t.Fatalf("%d connections in use while counting; want only the held one", st.InUse)
		}
		b.do2("POST", "/messages/new", url.Values{"op": {"audience"}, "body": {"x"}, "audience": {"all"}}, htmx).
			want(t, http.StatusServiceUnavailable)
		held.Release()

		// Another browser signed in to the same church: its first count is
		// checked in the church's database, then remembered.
		c := newBrowser(t, s, "en")
		c.signIn("ruth@grace.example.org")
		c.do2("POST", "/messages/count", count, htmx).want(t, http.StatusOK, "1 part per person")

		// Signed out, the old cookie counts nothing.
		old := *b.cookies["__Host-steeple_session"]
		b.post("/signout", url.Values{})
		b.cookies[old.Name] = &old
		if p := b.do2("POST", "/messages/count", count, htmx); p.Status != http.StatusUnauthorized || p.Header.Get("HX-Redirect") != "/signin" {
			t.Fatalf("count after sign-out: %d %q", p.Status, p.Header.Get("HX-Redirect"))
		}
	})
}
