package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/internal/testkit"
)

// signInChurch signs b in as a testkit church's owner (or any admin of one
// church with testkit.Password).
func (b *browser) signInChurch(email string) {
	b.t.Helper()
	p := b.post("/signin", url.Values{"email": {email}, "password": {testkit.Password}, "next": {"/"}})
	if p.Status != http.StatusSeeOther || p.Location != "/" {
		b.t.Fatalf("sign in: %d %s\n%s", p.Status, p.Location, p.Body)
	}
}

var orderPath = regexp.MustCompile(`^/numbers/orders/([0-9A-Za-z-]+)$`)

// Through the pages: search by area code, buy a number typed the way people
// write it (confirm, then the order's progress until it is ready), release
// it (the confirm page explains the grace period) and restore it. Another
// church's number and order answer 404 through every form and fragment;
// bad input comes back beside its field, in Spanish too.
func TestNumbersPages(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		// One number until 10DLC, as by default (the test kit lifts it).
		s := testkit.NewServer(t, be, testkit.ServerOptions{Auth: func(c *auth.Config) { c.UnregisteredMaxNumbers = 1 }})
		a := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		other := s.Church(t, testkit.ChurchOptions{Name: "Hope Church", Number: "+13125550100"})
		b := newBrowser(t, s, "en")
		b.signInChurch(a.Email)

		b.get("/numbers").want(t, 200, "Your church has no number yet", `href="/numbers"`, `href="/registration"`)
		found := b.get("/numbers?q=(312)").want(t, 200, `id="found"`, "(312) ")
		m := regexp.MustCompile(`name="number" value="&#43;(1312[0-9]{7})"`).FindStringSubmatch(found.Body)
		if m == nil {
			t.Fatalf("no number offered:\n%s", found.Body)
		}
		e164 := "+" + m[1]
		typed := "(" + e164[2:5] + ") " + e164[5:8] + "-" + e164[8:]
		b.get("/numbers?q=chicago").want(t, 200, `id="found"`, "Chicago, IL")
		b.get("/numbers?q=12").want(t, 400, "Please type a city name")
		b.post("/numbers/buy", url.Values{"number": {"(312) 555-01"}}).want(t, 400, "Please type a US number", `value="(312) 555-01"`)

		// Ask first, then order.
		b.post("/numbers/buy", url.Values{"number": {typed}}).
			want(t, 200, "Buy "+typed+" for Grace Chapel?", `name="number" value="&#43;`+e164[1:]+`"`, `name="confirm" value="yes"`)
		p := b.post("/numbers/buy", url.Values{"number": {e164}, "confirm": {"yes"}})
		om := orderPath.FindStringSubmatch(p.Location)
		if p.Status != http.StatusSeeOther || om == nil {
			t.Fatalf("order: %d %q\n%s", p.Status, p.Location, p.Body)
		}
		b.follow(p).want(t, 200, "Buying "+typed, `id="order-progress"`)
		testkit.Eventually(t, 15*time.Second, func() string {
			f := b.do2("GET", p.Location+"/progress", nil, map[string]string{"HX-Request": "true"})
			if f.Status != 200 || strings.Contains(f.Body, "<html") {
				t.Fatalf("progress fragment: %d\n%s", f.Status, f.Body)
			}
			if !strings.Contains(f.Body, `data-done="true"`) || !strings.Contains(f.Body, "Your number is ready") {
				return "order not finished: " + f.Body
			}
			if strings.Contains(f.Body, "hx-trigger") {
				t.Fatalf("a finished order still polls:\n%s", f.Body)
			}
			return ""
		})
		b.get("/numbers").want(t, 200, `data-number="&#43;`+e164[1:]+`"`, "Sending").lacks(t, "no number yet")

		// A second number before 10DLC is refused beside the field.
		b.post("/numbers/buy", url.Values{"number": {"+13125550111"}, "confirm": {"yes"}}).
			want(t, 400, "once its 10DLC registration is approved")

		// Another church's number and order: not found through every route.
		for _, path := range []string{"/numbers/release", "/numbers/restore"} {
			b.post(path, url.Values{"number": {other.Number}}).want(t, 404)
			b.post(path, url.Values{"number": {other.Number}, "confirm": {"yes"}}).want(t, 404)
		}
		ob := newBrowser(t, s, "en")
		ob.signInChurch(other.Email)
		ob.get(p.Location).want(t, 404)
		ob.do2("GET", p.Location+"/progress", nil, map[string]string{"HX-Request": "true"}).want(t, 404)
		ob.post("/numbers/release", url.Values{"number": {typed}, "confirm": {"yes"}}).want(t, 404)
		ob.get("/numbers/orders/nope").want(t, 404)

		// Release: explained first, then done; restore brings it back.
		b.post("/numbers/release", url.Values{"number": {typed}}).
			want(t, 200, "Release "+typed+"?", "Texts stop going out from it at once", "for 30 days")
		p = b.post("/numbers/release", url.Values{"number": {typed}, "confirm": {"yes"}})
		if p.Status != http.StatusSeeOther || p.Location != "/numbers?done=released" {
			t.Fatalf("release: %d %q\n%s", p.Status, p.Location, p.Body)
		}
		b.follow(p).want(t, 200, "The number is released", "Released: texts stopped.", `action="/numbers/restore"`)
		if n := a.API(s).Numbers(t).Number(e164); n == nil || n.State != "releasing" {
			t.Fatalf("after release: %+v", n)
		}
		b.post("/numbers/release", url.Values{"number": {e164}, "confirm": {"yes"}}).want(t, 409)
		p = b.post("/numbers/restore", url.Values{"number": {e164}})
		if p.Status != http.StatusSeeOther || p.Location != "/numbers?done=restored" {
			t.Fatalf("restore: %d %q\n%s", p.Status, p.Location, p.Body)
		}
		b.follow(p).want(t, 200, "The number is restored", "Sending")

		es := newBrowser(t, s, "es")
		es.signInChurch(a.Email)
		es.get("/numbers?q=12").want(t, 400, "Números de teléfono", "Escriba el nombre de una ciudad")
		es.post("/numbers/release", url.Values{"number": {e164}}).want(t, 200, "Sigue siendo de su iglesia durante 30 días")
	})
}

// A sender sees neither link and is refused every numbers and registration
// route with the page that says whom to ask.
func TestNumbersAndRegistrationRefuseSenders(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100"})
		b := newBrowser(t, s, "en")
		b.signInChurch(inviteSender(t, s, c))
		b.get("/").want(t, 200).lacks(t, `href="/numbers"`, `href="/registration"`)
		for _, path := range []string{"/numbers", "/numbers?q=312", "/numbers/orders/x", "/registration"} {
			b.get(path).want(t, 403, "Ask an owner or admin")
		}
		for _, path := range []string{"/numbers/buy", "/numbers/release", "/numbers/restore", "/registration", "/registration/check"} {
			b.post(path, url.Values{"number": {c.Number}, "confirm": {"yes"}, "field": {"ein"}}).want(t, 403, "Ask an owner or admin")
		}
		if n := c.API(s).Numbers(t).Number(c.Number); n == nil || n.State != "active" {
			t.Fatalf("the sender's release changed the number: %+v", n)
		}
	})
}
