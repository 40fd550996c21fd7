package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

// textChurch has the simulator deliver a text from phone to the church's
// number through the real webhook, and waits until the inbox has it.
func textChurch(t *testing.T, s *testkit.Server, c *testkit.Church, from, text string) string {
	t.Helper()
	if err := s.Sim.Inbound(context.Background(), telnyxsim.InboundMessage{From: from, To: c.Number, Text: text,
		WebhookURL: s.URL + "/webhooks/telnyx"}); err != nil {
		t.Fatal(err)
	}
	id := ""
	testkit.Eventually(t, 10*time.Second, func() string {
		id = conversationWith(t, s, c, from)
		if id == "" {
			return "no conversation with " + from
		}
		return ""
	})
	return id
}

// conversationWith is the id of the church's conversation with phone ("" if none).
func conversationWith(t *testing.T, s *testkit.Server, c *testkit.Church, phone string) string {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/conversations?filter=open&q="+url.QueryEscape(phone), c.Token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("conversations: %d %s", r.Status, r.Raw)
	}
	cs, _ := r.Body["conversations"].([]any)
	if len(cs) == 0 {
		return ""
	}
	return cs[0].(map[string]any)["id"].(string)
}

// conversationField reads one field of a conversation through the API.
func conversationField(t *testing.T, s *testkit.Server, c *testkit.Church, id, field string) any {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/conversations/"+id, c.Token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("conversation: %d %s", r.Status, r.Raw)
	}
	return r.Body[field]
}

// signInAs signs b in with a testkit church's owner.
func (b *browser) signInAs(c *testkit.Church) {
	b.t.Helper()
	p := b.post("/signin", url.Values{"email": {c.Email}, "password": {testkit.Password}, "next": {"/"}})
	if p.Status != http.StatusSeeOther {
		b.t.Fatalf("sign in: %d\n%s", p.Status, p.Body)
	}
}

// poll asks for a live fragment as htmx does until it is not 204.
func (b *browser) poll(path string) *page {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p := b.get(path)
		if p.Status != http.StatusNoContent || time.Now().After(deadline) {
			return p
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var liveURL = regexp.MustCompile(`id="(?:inbox|thread)-live" hx-get="([^"]+)"`)

// liveOf is the polled fragment's URL in a page.
func liveOf(t *testing.T, p *page) string {
	t.Helper()
	m := liveURL.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no live fragment in:\n%s", p.Body)
	}
	return html.UnescapeString(m[1])
}

// The inbox over HTTP on both backends: list, filters, search, the live
// fragment's cheap 204 until something changes, the thread and every
// action on it; a sender uses it too; another church's admin gets 404 for
// every page, fragment and form of this church's conversation.
func TestInboxPages(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be)
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100", QuietHoursOff: true, Members: 1})
		if r := s.Do(t, "PATCH", "/api/v1/members/"+c.MemberIDs[0], c.Token, map[string]any{"first_name": "Ann", "last_name": "Lee"}); r.Status != http.StatusOK {
			t.Fatalf("rename: %d %s", r.Status, r.Raw)
		}
		ann := textChurch(t, s, c, c.Phones[0], "See you Sunday!")
		stranger := "+13125550177"
		unknown := textChurch(t, s, c, stranger, "Hello, who is this?")
		worried := "+13125550178"
		flagged := textChurch(t, s, c, worried, "please stop texting me")

		b := newBrowser(t, s, "en")
		b.signInAs(c)
		list := b.get("/inbox").want(t, 200, "Ann Lee", "See you Sunday!", "(312) 555-0177", "Hello, who is this?",
			`hx-trigger="every 1s"`, "Needs reply", "May want to stop", `href="/inbox/`+ann+`"`)
		b.get("/inbox?filter=flagged").want(t, 200, "(312) 555-0178").lacks(t, "See you Sunday!")
		b.get("/inbox?q=ann").want(t, 200, "Ann Lee").lacks(t, "Hello, who is this?")
		b.get("/inbox?q="+url.QueryEscape("(312) 555-0177")).want(t, 200, "Hello, who is this?").lacks(t, "Ann Lee")
		b.get("/inbox?filter=nonsense").want(t, 200, "Ann Lee") // an unknown filter shows the default list

		// Polling: nothing changed → 204; a new text → the fragment with it.
		live := liveOf(t, list)
		if p := b.get(live); p.Status != http.StatusNoContent {
			t.Fatalf("an unchanged inbox: %d\n%s", p.Status, p.Body)
		}
		textChurch(t, s, c, c.Phones[0], "Can I bring a friend?")
		b.poll(live).want(t, 200, "Can I bring a friend?", `id="inbox-live"`).lacks(t, "<html")

		// The thread reads the conversation; its fragment polls the same way.
		thread := b.get("/inbox/"+ann).want(t, 200, "See you Sunday!", "Can I bring a friend?", "Send reply", " CST", `id="thread-live"`)
		if n := conversationField(t, s, c, ann, "unread"); n != 0.0 {
			t.Fatalf("unread after opening: %v", n)
		}
		tlive := liveOf(t, thread)
		if p := b.get(tlive); p.Status != http.StatusNoContent {
			t.Fatalf("an unchanged thread: %d\n%s", p.Status, p.Body)
		}
		b.post("/inbox/"+ann+"/reply", url.Values{"op": {"send"}, "body": {"Of course, bring them!"}}).want(t, 303)
		testkit.WaitUntil(t, 10*time.Second, func() bool {
			for _, m := range s.SentTo(c.Phones[0]) {
				if m.Text == "Of course, bring them!" && m.From == c.Number {
					return true
				}
			}
			return false
		}, "the reply at the simulator")
		b.poll(tlive).want(t, 200, "Of course, bring them!")
		b.post("/inbox/"+ann+"/reply", url.Values{"op": {"send"}, "body": {"  "}}).want(t, 400, `id="r-body-error"`)

		// Close, reopen, mark unread, assign.
		b.post("/inbox/"+ann+"/close", nil).want(t, 303)
		if st := conversationField(t, s, c, ann, "status"); st != "closed" {
			t.Fatalf("status after close: %v", st)
		}
		b.get("/inbox?filter=closed").want(t, 200, "Ann Lee")
		b.post("/inbox/"+ann+"/reopen", nil).want(t, 303)
		b.post("/inbox/"+ann+"/unread", nil).want(t, 303)
		if n := conversationField(t, s, c, ann, "unread"); n == 0.0 {
			t.Fatal("still read after mark unread")
		}
		me := s.Do(t, "GET", "/api/v1/me", c.Token, nil).Body["admin"].(map[string]any)["id"].(string)
		b.post("/inbox/"+ann+"/assign", url.Values{"admin_id": {me}}).want(t, 303)
		if a := conversationField(t, s, c, ann, "assignee_id"); a != me {
			t.Fatalf("assignee: %v", a)
		}

		// A flag: dismissed, then (flagged again) confirmed as an opt-out;
		// the thread then shows the refusal and no reply box.
		b.get("/inbox/"+flagged).want(t, 200, "Confirm opt-out", "Dismiss")
		b.post("/inbox/"+flagged+"/dismiss", nil).want(t, 303)
		if f := conversationField(t, s, c, flagged, "flagged"); f != false {
			t.Fatalf("flag after dismiss: %v", f)
		}
		textChurch(t, s, c, worried, "no more texts please, stop")
		b.post("/inbox/"+flagged+"/opt-out", nil).want(t, 303)
		b.get("/inbox/"+flagged).want(t, 200, "Nothing can be sent to them until they text START", "Opted out").lacks(t, `id="reply-form"`)
		b.post("/inbox/"+flagged+"/reply", url.Values{"op": {"send"}, "body": {"Sorry!"}}).want(t, 409, "Nothing can be sent to them")

		// An unknown sender added as a member, with no consent unless ticked.
		b.get("/inbox/"+unknown).want(t, 200, "Add as a member")
		b.post("/inbox/"+unknown+"/member", url.Values{"first_name": {""}}).want(t, 400, `id="m-first-error"`)
		b.post("/inbox/"+unknown+"/member", url.Values{"first_name": {"Rosa"}, "last_name": {"Díaz"}}).want(t, 303)
		b.get("/inbox/"+unknown).want(t, 200, "Rosa Díaz").lacks(t, "Add as a member")

		// A sender uses the inbox.
		sb := newBrowser(t, s, "en")
		sb.signInChurch(inviteSender(t, s, c))
		sb.get("/inbox").want(t, 200, "Ann Lee")
		sb.post("/inbox/"+ann+"/reply", url.Values{"op": {"send"}, "body": {"From the sender"}}).want(t, 303)
		sb.post("/inbox/"+ann+"/close", nil).want(t, 303)

		// Another church sees none of it.
		other := s.Church(t, testkit.ChurchOptions{Name: "Other Church", Number: "+13125550200"})
		ob := newBrowser(t, s, "en")
		ob.signInAs(other)
		ob.get("/inbox").want(t, 200).lacks(t, "Ann Lee", "See you Sunday!")
		for _, id := range []string{ann, unknown, flagged} {
			for _, p := range []string{"/inbox/" + id, "/inbox/" + id + "/live", "/inbox/" + id + "/live?v=x&since=0&every=1"} {
				ob.get(p).want(t, 404).lacks(t, "See you Sunday!", "Ann Lee")
			}
			for _, p := range []string{"reply", "close", "reopen", "unread", "assign", "opt-out", "dismiss", "member"} {
				ob.post("/inbox/"+id+"/"+p, url.Values{"op": {"send"}, "body": {"hi"}, "first_name": {"X"}, "admin_id": {me}}).
					want(t, 404).lacks(t, "Ann Lee")
			}
		}
		if st := conversationField(t, s, c, ann, "status"); st != "closed" {
			t.Fatalf("another church's posts changed the conversation: %v", st)
		}
		for _, m := range s.SentTo(c.Phones[0]) {
			if m.Text == "hi" {
				t.Fatal("another church's reply was sent")
			}
		}
		if strings.Contains(ob.get("/inbox?q=ann").Body, "Ann") {
			t.Fatal("another church finds Ann")
		}
	})
}

// The pretend phone over HTTP: /readyz names the simulator; a text from
// the panel reaches the church through the simulator's webhook and the
// panel's fragment shows the answer; bad input is said beside its field.
func TestPretendPhonePages(t *testing.T) {
	t.Parallel()
	s := testkit.NewServer(t, testkit.SQLite(t))
	if r := s.Do(t, "GET", "/readyz", "", nil); r.Status != http.StatusOK || r.Body["simulator_url"] != s.SimURL || s.SimURL == "" {
		t.Fatalf("readyz: %d %s; want simulator_url %q", r.Status, r.Raw, s.SimURL)
	}
	c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100", QuietHoursOff: true})
	b := newBrowser(t, s, "en")
	b.signInAs(c)
	b.get("/inbox").want(t, 200, "Try it: text your church as a member would", "Text to (312) 555-0100")
	b.post("/inbox/phone", url.Values{"phone": {"12"}, "text": {"HELP"}}).want(t, 400, `id="pp-phone-error"`)
	b.post("/inbox/phone", url.Values{"phone": {"(312) 555-0166"}, "text": {" "}}).want(t, 400, `id="pp-text-error"`)
	p := b.post("/inbox/phone", url.Values{"phone": {"(312) 555-0166"}, "text": {"HELP"}}).want(t, 303)
	if !strings.HasPrefix(p.Location, "/inbox?phone=") {
		t.Fatalf("after sending: %s", p.Location)
	}
	b.poll("/inbox/phone?phone="+url.QueryEscape("(312) 555-0166")+"&n=0").want(t, 200, "Grace Chapel: ", "Reply STOP to opt out")
	b.poll(liveOf(t, b.get("/inbox"))) // settles
	b.get("/inbox").want(t, 200, "(312) 555-0166")

	// A church without a number is told to get one first.
	bare := s.Church(t, testkit.ChurchOptions{Name: "Bare Church"})
	bb := newBrowser(t, s, "en")
	bb.signInAs(bare)
	bb.get("/inbox").want(t, 200, "Your church needs a number first")
	bb.post("/inbox/phone", url.Values{"phone": {"(312) 555-0166"}, "text": {"HELP"}}).want(t, 400, "Your church needs a number first")
}
