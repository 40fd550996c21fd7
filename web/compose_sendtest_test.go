package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// "Send a test to me" on the review: without a phone on file the page says
// so and offers "My phone"; once saved, the test goes to that phone only,
// the review keeps what was typed, and no member gets anything.
func TestComposeSendTestToMe(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		b := newBrowser(t, s, "en")
		tok, group := readyChurch(t, s, b, "Grace Chapel", "ruth@grace.example.org", "+13125550142")
		form := url.Values{"op": {"review"}, "body": {"Hi {first_name}, choir at 7 tonight"}, "audience": {"groups"},
			"group_id": {group}, "when": {"now"}}
		b.post("/messages/new", form).want(t, http.StatusOK, "Send a test to me", "We don&#39;t have your own mobile number",
			`id="my-phone"`, `value="savephone"`).lacks(t, `id="test-button"`)

		// A test without a phone sends nothing and asks for the phone.
		form.Set("op", "test")
		b.post("/messages/new", form).want(t, http.StatusOK, `id="my-phone"`).lacks(t, `id="rv-test-sent"`)
		form.Set("op", "savephone")
		form.Set("my_phone", "call me")
		b.post("/messages/new", form).want(t, http.StatusBadRequest, `id="my-phone-error"`, `value="call me"`, `aria-invalid="true"`)
		form.Set("my_phone", "(312) 555-0177")
		saved := b.post("/messages/new", form).want(t, http.StatusOK, "Saved: tests go to (312) 555-0177",
			"Text a test to my phone, (312) 555-0177", `name="body" value="Hi {first_name}, choir at 7 tonight"`,
			`name="group_id" value="`+group+`"`)
		saved.lacks(t, `id="my-phone"`, `name="my_phone"`)
		if n := len(s.Sim.Messages()); n != 0 {
			t.Fatalf("%d texts before the test", n)
		}
		if r := s.Do(t, "GET", "/api/v1/me", tok, nil); !strings.Contains(r.Raw, `"phone":"+13125550177"`) {
			t.Fatalf("me after saving the phone: %s", r.Raw)
		}

		form.Del("my_phone")
		form.Set("op", "test")
		b.post("/messages/new", form).want(t, http.StatusOK, `id="rv-test-sent"`,
			"A test went to your phone, (312) 555-0177", "Send 1 text (1 part)")
		msgs := s.Sim.Messages()
		if len(msgs) != 1 || msgs[0].To != "+13125550177" || msgs[0].From != "+13125550142" ||
			msgs[0].Text != "Hi Ruth, choir at 7 tonight" {
			t.Fatalf("simulator got %+v; want one text to the admin's phone", msgs)
		}
		for _, member := range []string{"+13125550601", "+13125550602", "+13125550603"} {
			if n := s.Sim.CountTo(member); n != 0 {
				t.Fatalf("member %s got %d texts from a test", member, n)
			}
		}
		if r := s.Do(t, "GET", "/api/v1/messages", tok, nil); strings.Contains(r.Raw, `"id"`) {
			t.Fatalf("a test created a broadcast: %s", r.Raw)
		}
	})
}
