package webhooks_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
	"github.com/steeple-sms/steeple/webhooks"
)

// An inbound MMS keeps its media; a reply in one member's conversation
// reaches that member only, from the number they texted, and MMS replies
// carry their media; unread, close and reopen follow the texts.
func TestReplyReachesOnlyItsMember(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100"})
		const second = "+13125550101" // Ann texts the church's second number
		if err := s.Tenancy.Registry.AssignNumber(context.Background(), c.ID, second); err != nil {
			t.Fatal(err)
		}
		ann := s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Ann", Phone: testkit.Phone(1), OptedIn: true})
		ben := s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Ben", Phone: testkit.Phone(2), OptedIn: true})

		media := []telnyxsim.Media{
			{URL: "https://media.example.org/flyer.jpg", ContentType: "image/jpeg", Size: 48213},
			{URL: "https://media.example.org/map.png", ContentType: "image/png", Size: 1024},
		}
		inbound(t, s, testkit.Phone(1), second, "Here's the flyer for Sunday", media...)
		inbound(t, s, testkit.Phone(2), c.Number, "Hi, is Bible study on tonight?")
		annTh := waitConversationWith(t, s, c, testkit.Phone(1), 1)
		benTh := waitConversationWith(t, s, c, testkit.Phone(2), 1)
		if annTh.Member == nil || annTh.Member.ID != ann || annTh.ChurchNumber != second || annTh.Unread != 1 {
			t.Fatalf("Ann's conversation: %+v", annTh.Conversation)
		}
		if benTh.Member == nil || benTh.Member.ID != ben {
			t.Fatalf("Ben's conversation: %+v", benTh.Conversation)
		}
		want := []store.Media{{URL: media[0].URL, ContentType: "image/jpeg", Size: 48213}, {URL: media[1].URL, ContentType: "image/png", Size: 1024}}
		if got := annTh.Messages[0].Media; !reflect.DeepEqual(got, want) {
			t.Fatalf("inbound MMS media: %+v; want %+v", got, want)
		}

		// A text reply in Ann's conversation: one text, to Ann, from the
		// number she texted.
		r := s.Do(t, "POST", "/api/v1/conversations/"+annTh.ID+"/messages", c.Token, map[string]any{"text": "Thanks Ann, see you Sunday"})
		if r.Status != http.StatusCreated {
			t.Fatalf("reply: %d %s", r.Status, r.Raw)
		}
		var reply store.ConversationMessage
		testkit.DecodeJSON(t, r.Raw, &reply)
		testkit.Eventually(t, 10*time.Second, func() string {
			for _, m := range c.API(s).Thread(t, annTh.ID).Messages {
				if m.ID == reply.ID && m.Status == steeple.RecipientDelivered {
					return ""
				}
			}
			return "the reply is not delivered"
		})
		all := s.Sim.Messages()
		if len(all) != 1 || all[0].To != testkit.Phone(1) || all[0].From != second || all[0].Text != "Thanks Ann, see you Sunday" {
			t.Fatalf("the simulator accepted %+v; want one text to Ann from %s", all, second)
		}

		// An MMS reply carries its media.
		r = s.Do(t, "POST", "/api/v1/conversations/"+annTh.ID+"/messages", c.Token,
			map[string]any{"text": "Here's the map", "media_urls": []string{"https://example.org/map.png"}})
		if r.Status != http.StatusCreated {
			t.Fatalf("MMS reply: %d %s", r.Status, r.Raw)
		}
		testkit.Eventually(t, 10*time.Second, func() string {
			if n := len(s.Sim.Messages()); n != 2 {
				return fmt.Sprintf("the simulator has %d texts; want 2", n)
			}
			return ""
		})
		mms := s.Sim.Messages()[1]
		if mms.To != testkit.Phone(1) || mms.From != second || mms.Type != "MMS" || !reflect.DeepEqual(mms.MediaURLs, []string{"https://example.org/map.png"}) {
			t.Fatalf("MMS reply as sent: %+v", mms)
		}
		// Invalid replies are refused and send nothing.
		for _, bad := range []map[string]any{{"text": "  "}, {"text": "x", "media_urls": []string{"ftp://example.org/a.png"}}} {
			if r := s.Do(t, "POST", "/api/v1/conversations/"+annTh.ID+"/messages", c.Token, bad); r.Status != http.StatusBadRequest {
				t.Fatalf("reply %v: %d %s; want 400", bad, r.Status, r.Raw)
			}
		}
		if err := s.Sim.WaitIdle(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := s.Sim.CountTo(testkit.Phone(2)); n != 0 || len(s.Sim.Messages()) != 2 {
			t.Fatalf("Ben got %d texts, %d texts in all; want replies to Ann only", n, len(s.Sim.Messages()))
		}
		if th := c.API(s).Thread(t, benTh.ID); len(th.Messages) != 1 {
			t.Fatalf("Ben's thread: %+v; want only his own text", th.Messages)
		}

		// Unread, read, close, reopen.
		var cv store.Conversation
		if r = c.API(s).Call(t, "POST", "/api/v1/conversations/"+annTh.ID+"/read", nil, http.StatusOK, &cv); cv.Unread != 0 {
			t.Fatalf("read: %s", r.Raw)
		}
		if r = c.API(s).Call(t, "POST", "/api/v1/conversations/"+annTh.ID+"/close", nil, http.StatusOK, &cv); cv.Status != "closed" {
			t.Fatalf("close: %s", r.Raw)
		}
		if cs := c.API(s).Conversations(t, "?status=open"); len(cs) != 1 || cs[0].ID != benTh.ID || cs[0].Unread != 1 {
			t.Fatalf("open conversations: %+v; want Ben's, unread 1", cs)
		}
		if cs := c.API(s).Conversations(t, "?status=closed"); len(cs) != 1 || cs[0].ID != annTh.ID || cs[0].Unread != 0 {
			t.Fatalf("closed conversations: %+v; want Ann's, read", cs)
		}
		s.Clock.Add(time.Second) // the next text is the newest
		inbound(t, s, testkit.Phone(1), second, "One more thing")
		testkit.Eventually(t, 10*time.Second, func() string {
			cs := c.API(s).Conversations(t, "?limit=1")
			if len(cs) == 1 && cs[0].ID == annTh.ID && cs[0].Status == steeple.ConversationOpen && cs[0].Unread == 1 &&
				cs[0].LastMessage.Preview == "One more thing" {
				return ""
			}
			return fmt.Sprintf("newest conversation: %+v; want Ann's reopened with one unread text", cs)
		})
		var page1 struct {
			NextCursor string `json:"next_cursor"`
		}
		if r = c.API(s).Call(t, "GET", "/api/v1/conversations?limit=1", nil, http.StatusOK, &page1); page1.NextCursor == "" {
			t.Fatalf("first page of one: %s; want a next_cursor", r.Raw)
		}
		page2 := c.API(s).Conversations(t, "?limit=1&cursor="+page1.NextCursor)
		if len(page2) != 1 || page2[0].ID != benTh.ID {
			t.Fatalf("second page: %+v; want Ben's conversation", page2)
		}
	})
}

// Church B's admin cannot see or touch church A's conversation, even with
// its id: every conversation endpoint answers 404 and A's conversation
// stays as it was.
func TestConversationsOfAnotherChurchAreNotFound(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		a := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100"})
		other := s.Church(t, testkit.ChurchOptions{Name: "Hope Fellowship", Number: "+13125550200"})
		p := testkit.Phone(8) // an unknown contact of A's
		inbound(t, s, p, a.Number, "Who do I talk to about baptism?")
		th := waitConversationWith(t, s, a, p, 1)
		if r := s.Do(t, "POST", "/api/v1/conversations/"+th.ID+"/close", a.Token, nil); r.Status != http.StatusOK {
			t.Fatalf("A closes its conversation: %d %s", r.Status, r.Raw)
		}

		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"GET", "", nil},
			{"POST", "/messages", map[string]any{"text": "Hello from another church"}},
			{"POST", "/read", nil},
			{"POST", "/close", nil},
			{"POST", "/reopen", nil},
			{"POST", "/member", map[string]any{"first_name": "Stolen", "consent": map[string]any{"opted_in": true, "wording": "yes"}}},
		} {
			r := s.Do(t, c.method, "/api/v1/conversations/"+th.ID+c.path, other.Token, c.body)
			if r.Status != http.StatusNotFound {
				t.Errorf("B: %s %s → %d %s; want 404", c.method, c.path, r.Status, r.Raw)
			}
			if r := s.Do(t, c.method, "/api/v1/conversations/"+th.ID+c.path, "", c.body); r.Status != http.StatusUnauthorized {
				t.Errorf("no token: %s %s → %d; want 401", c.method, c.path, r.Status)
			}
		}

		after := a.API(s).Thread(t, th.ID)
		if after.Status != steeple.ConversationClosed || after.Unread != 1 || after.Member != nil || len(after.Messages) != 1 {
			t.Fatalf("A's conversation after B's attempts: %+v %+v; want closed, unread 1, no member, one text",
				after.Conversation, after.Messages)
		}
		if err := s.Sim.WaitIdle(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // a reply job, had one been queued, would have run
		if n := len(s.Sim.Messages()); n != 0 {
			t.Fatalf("%d texts sent; want none", n)
		}
		if cs := other.API(s).Conversations(t, ""); len(cs) != 0 {
			t.Fatalf("B has conversations: %+v", cs)
		}
		var list struct{ Members []steeple.Member }
		if r := other.API(s).Call(t, "GET", "/api/v1/members", nil, http.StatusOK, &list); len(list.Members) != 0 {
			t.Fatalf("B's members: %s; want none", r.Raw)
		}
	})
}

// A group text lists every recipient: it reaches the church whose number
// is among them, wherever it stands in the list, and the conversation is
// on that number.
func TestGroupTextReachesTheChurchItIncludes(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		k := newSigner(t)
		s := testkit.NewServer(t, b, k.options(nil))
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100"})
		p := inboundPayload(newUUID(), testkit.Phone(3), "+13125559999", "Who's bringing the casserole?", "", map[string]any{
			"url": "https://media.example.org/dish.jpg", "content_type": "image/jpeg", "size": 2048})
		p["to"] = []map[string]any{{"phone_number": "+13125559999", "status": "webhook_delivered"},
			{"phone_number": c.Number, "status": "webhook_delivered"}}
		k.mustAccept(t, s, eventBody(t, newUUID(), telnyx.EventMessageReceived, time.Now(), p))
		th := waitConversationWith(t, s, c, testkit.Phone(3), 1)
		if th.ChurchNumber != c.Number || len(th.Messages) != 1 || th.Messages[0].Body != "Who's bringing the casserole?" {
			t.Fatalf("the group text's conversation: %+v %+v; want it on %s", th.Conversation, th.Messages, c.Number)
		}
		if got := metric(t, s, telnyx.EventMessageReceived, webhooks.OutcomeUnrouted); got != 0 {
			t.Fatalf("%v group texts unrouted; want 0", got)
		}
	})
}
