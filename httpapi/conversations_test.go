package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
)

// apiConversation is a conversation as the API shows it.
type apiConversation struct {
	ID     string `json:"id"`
	Phone  string `json:"phone"`
	Member *struct {
		ID            string `json:"id"`
		FirstName     string `json:"first_name"`
		ConsentStatus string `json:"consent_status"`
	} `json:"member"`
	ChurchNumber string `json:"church_number"`
	Status       string `json:"status"`
	Unread       int    `json:"unread"`
	Flagged      bool   `json:"flagged"`
	OptedOut     bool   `json:"opted_out"`
	LastMessage  struct {
		Preview   string `json:"preview"`
		Direction string `json:"direction"`
	} `json:"last_message"`
}

// apiThread is GET /api/v1/conversations/{id}.
type apiThread struct {
	apiConversation
	Messages []struct {
		ID        string `json:"id"`
		Direction string `json:"direction"`
		Body      string `json:"body"`
		Status    string `json:"status"`
		Purpose   string `json:"purpose"`
		CreatedBy string `json:"created_by"`
		Media     []struct {
			URL string `json:"url"`
		} `json:"media"`
	} `json:"messages"`
	NextCursor string `json:"next_cursor"`
}

// textIn stores an inbound text to a church as the webhook worker would.
func textIn(t *testing.T, s *testkit.Server, tenantID, id, from, to, text string) string {
	t.Helper()
	ctx := context.Background()
	h, err := s.Tenancy.Manager.Acquire(ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	s.Clock.Add(time.Second)
	res, err := s.Inbox.ApplyInbound(ctx, h, &telnyx.MessagePayload{ID: id, From: telnyx.Endpoint{PhoneNumber: from},
		To: []telnyx.Recipient{{PhoneNumber: to}}, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	return res.ConversationID
}

func getThread(t *testing.T, s *testkit.Server, token, id string) apiThread {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/conversations/"+id, token, nil)
	wantStatus(t, r, http.StatusOK)
	var th apiThread
	r.Decode(t, &th)
	return th
}

func listConversations(t *testing.T, s *testkit.Server, token, query string) ([]apiConversation, string) {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/conversations"+query, token, nil)
	wantStatus(t, r, http.StatusOK)
	var page struct {
		Conversations []apiConversation `json:"conversations"`
		NextCursor    string            `json:"next_cursor"`
	}
	r.Decode(t, &page)
	if page.Conversations == nil {
		t.Fatalf("conversations is not a list: %s", r.Raw)
	}
	return page.Conversations, page.NextCursor
}

func TestConversationsAPI(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		a := signup(t, s, "Grace Chapel", "pat@grace.example.org", pw1)
		other := signup(t, s, "Hope Church", "sam@hope.example.org", pw2)
		const number, contact = "+13125550100", "+13122000001"
		if err := s.Tenancy.Registry.AssignNumber(context.Background(), a.tenantID, number); err != nil {
			t.Fatal(err)
		}
		id := textIn(t, s, a.tenantID, "in-1", contact, number, "Is there choir practice tonight?")

		th := getThread(t, s, a.access, id)
		if th.ID != id || th.Phone != contact || th.ChurchNumber != number || th.Member != nil || th.Unread != 1 ||
			th.Status != "open" || len(th.Messages) != 1 || th.Messages[0].Body != "Is there choir practice tonight?" {
			t.Fatalf("thread %+v", th)
		}

		paths := []struct{ method, path string }{
			{"GET", "/api/v1/conversations"},
			{"GET", "/api/v1/conversations/" + id},
			{"POST", "/api/v1/conversations/" + id + "/messages"},
			{"POST", "/api/v1/conversations/" + id + "/read"},
			{"POST", "/api/v1/conversations/" + id + "/close"},
			{"POST", "/api/v1/conversations/" + id + "/reopen"},
			{"POST", "/api/v1/conversations/" + id + "/member"},
		}
		bodies := map[string]any{
			"/messages": map[string]any{"text": "Yes, at 7"},
			"/member":   map[string]any{"first_name": "Mallory", "consent": map[string]any{"opted_in": true, "wording": "x"}},
		}
		bodyFor := func(path string) any {
			for suffix, b := range bodies {
				if strings.HasSuffix(path, suffix) {
					return b
				}
			}
			return nil
		}

		t.Run("no token", func(t *testing.T) {
			for _, p := range paths {
				wantError(t, s.Do(t, p.method, p.path, "", bodyFor(p.path)), http.StatusUnauthorized, steeple.EUNAUTHORIZED)
				wantError(t, s.Do(t, p.method, p.path, "not-a-token", bodyFor(p.path)), http.StatusUnauthorized, steeple.EUNAUTHORIZED)
			}
		})

		t.Run("another church's conversation is not found", func(t *testing.T) {
			for _, p := range paths[1:] {
				r := s.Do(t, p.method, p.path, other.access, bodyFor(p.path))
				wantError(t, r, http.StatusNotFound, steeple.ENOTFOUND)
			}
			if cs, _ := listConversations(t, s, other.access, ""); len(cs) != 0 {
				t.Fatalf("B lists %d conversations", len(cs))
			}
			th := getThread(t, s, a.access, id)
			if th.Unread != 1 || th.Status != "open" || th.Member != nil || len(th.Messages) != 1 {
				t.Fatalf("A's conversation changed: %+v", th)
			}
			ms, _ := listMembers(t, s, other.access, nil)
			if len(ms) != 0 {
				t.Fatalf("B has members %s", memberNames(ms))
			}
			ms, _ = listMembers(t, s, a.access, nil)
			if len(ms) != 0 {
				t.Fatalf("A has members %s", memberNames(ms))
			}
			for _, bad := range []string{steeple.NewID(), "nope", "..%2f..%2fmembers"} {
				wantError(t, s.Do(t, "GET", "/api/v1/conversations/"+bad, a.access, nil), http.StatusNotFound, steeple.ENOTFOUND)
				wantError(t, s.Do(t, "POST", "/api/v1/conversations/"+bad+"/read", a.access, nil), http.StatusNotFound, steeple.ENOTFOUND)
			}
		})

		t.Run("query validation", func(t *testing.T) {
			for _, q := range []string{"?limit=0", "?limit=-1", "?limit=201", "?limit=ten"} {
				r := s.Do(t, "GET", "/api/v1/conversations"+q, a.access, nil)
				wantError(t, r, http.StatusBadRequest, steeple.EINVALID)
				wantField(t, r, "limit")
				wantError(t, s.Do(t, "GET", "/api/v1/conversations/"+id+q, a.access, nil), http.StatusBadRequest, steeple.EINVALID)
			}
			r := s.Do(t, "GET", "/api/v1/conversations?status=archived", a.access, nil)
			wantError(t, r, http.StatusBadRequest, steeple.EINVALID)
			wantField(t, r, "status")
			wantError(t, s.Do(t, "GET", "/api/v1/conversations?cursor=%21%21", a.access, nil), http.StatusBadRequest, steeple.EINVALID)
			wantError(t, s.Do(t, "GET", "/api/v1/conversations/"+id+"?cursor=%21%21", a.access, nil), http.StatusBadRequest, steeple.EINVALID)
		})

		t.Run("reply validation", func(t *testing.T) {
			path := "/api/v1/conversations/" + id + "/messages"
			many := make([]string, 11)
			for i := range many {
				many[i] = fmt.Sprintf("https://media.example.net/%d.jpg", i)
			}
			for _, c := range []struct {
				body  any
				field string
			}{
				{map[string]any{}, "text"},
				{map[string]any{"text": "   "}, "text"},
				{map[string]any{"text": "", "media_urls": []string{}}, "text"},
				{map[string]any{"text": "pics", "media_urls": many}, "media_urls"},
				{map[string]any{"text": "pic", "media_urls": []string{"ftp://media.example.net/a.jpg"}}, "media_urls"},
				{map[string]any{"text": "pic", "media_urls": []string{"javascript:alert(1)"}}, "media_urls"},
				{map[string]any{"text": "pic", "media_urls": []string{"https://"}}, "media_urls"},
				{map[string]any{"text": strings.Repeat("x", 160*11)}, "text"},
			} {
				r := s.Do(t, "POST", path, a.access, c.body)
				wantError(t, r, http.StatusBadRequest, steeple.EINVALID)
				wantField(t, r, c.field)
			}
			wantStatus(t, s.Do(t, "POST", path, a.access, `{"text": "hi", "extra": true}`), http.StatusBadRequest)
			if th := getThread(t, s, a.access, id); len(th.Messages) != 1 {
				t.Fatalf("%d messages after refused replies", len(th.Messages))
			}
		})

		t.Run("reply, read, close, reopen", func(t *testing.T) {
			s.Clock.Add(time.Second)
			r := s.Do(t, "POST", "/api/v1/conversations/"+id+"/messages", a.access,
				map[string]any{"text": "  Yes, 7pm in the hall  ", "media_urls": []string{"https://media.example.net/map.png"}})
			wantStatus(t, r, http.StatusCreated)
			var reply store.ConversationMessage
			if r.Decode(t, &reply); reply.Status != steeple.RecipientQueued || reply.CreatedBy != a.adminID || reply.Body != "Yes, 7pm in the hall" ||
				reply.Direction != "outbound" || reply.Purpose != "reply" {
				t.Fatalf("reply %s", r.Raw)
			}
			th := getThread(t, s, a.access, id)
			if len(th.Messages) != 2 || th.Messages[0].ID != r.ID(t) || len(th.Messages[0].Media) != 1 ||
				th.LastMessage.Direction != "outbound" || th.Unread != 1 {
				t.Fatalf("thread after reply %+v", th)
			}
			// Thread pages, newest first.
			r = s.Do(t, "GET", "/api/v1/conversations/"+id+"?limit=1", a.access, nil)
			var p1 apiThread
			r.Decode(t, &p1)
			if len(p1.Messages) != 1 || p1.Messages[0].Direction != "outbound" || p1.NextCursor == "" {
				t.Fatalf("page 1 %s", r.Raw)
			}
			r = s.Do(t, "GET", "/api/v1/conversations/"+id+"?limit=1&cursor="+p1.NextCursor, a.access, nil)
			var p2 apiThread
			r.Decode(t, &p2)
			if len(p2.Messages) != 1 || p2.Messages[0].Direction != "inbound" || p2.NextCursor != "" {
				t.Fatalf("page 2 %s", r.Raw)
			}

			r = s.Do(t, "POST", "/api/v1/conversations/"+id+"/read", a.access, nil)
			wantStatus(t, r, http.StatusOK)
			var cv apiConversation
			r.Decode(t, &cv)
			if cv.Unread != 0 || cv.ID != id {
				t.Fatalf("read %s", r.Raw)
			}
			r = s.Do(t, "POST", "/api/v1/conversations/"+id+"/close", a.access, nil)
			wantStatus(t, r, http.StatusOK)
			if r.Decode(t, &cv); cv.Status != "closed" {
				t.Fatalf("close %s", r.Raw)
			}
			if cs, _ := listConversations(t, s, a.access, "?status=open"); len(cs) != 0 {
				t.Fatalf("open list has %d", len(cs))
			}
			if cs, _ := listConversations(t, s, a.access, "?status=closed"); len(cs) != 1 || cs[0].ID != id {
				t.Fatalf("closed list %+v", cs)
			}
			r = s.Do(t, "POST", "/api/v1/conversations/"+id+"/reopen", a.access, nil)
			wantStatus(t, r, http.StatusOK)
			if r.Decode(t, &cv); cv.Status != "open" {
				t.Fatalf("reopen %s", r.Raw)
			}
		})

		t.Run("list pages", func(t *testing.T) {
			id2 := textIn(t, s, a.tenantID, "in-2", "+13122000002", number, "second")
			id3 := textIn(t, s, a.tenantID, "in-3", "+13122000003", number, "third")
			var got []string
			cursor := ""
			for i := 0; ; i++ {
				q := "?limit=2"
				if cursor != "" {
					q += "&cursor=" + cursor
				}
				cs, next := listConversations(t, s, a.access, q)
				for _, c := range cs {
					got = append(got, c.ID)
				}
				if next == "" || i > 3 {
					break
				}
				cursor = next
			}
			if want := []string{id3, id2, id}; strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("pages %v; want %v", got, want)
			}
		})

		t.Run("member from conversation", func(t *testing.T) {
			path := "/api/v1/conversations/" + id + "/member"
			r := s.Do(t, "POST", path, a.access, map[string]any{"first_name": "Ann", "phone": "+13122009999"})
			wantError(t, r, http.StatusBadRequest, steeple.EINVALID)
			wantField(t, r, "phone")
			r = s.Do(t, "POST", path, a.access, map[string]any{"last_name": "Lee"})
			wantError(t, r, http.StatusBadRequest, steeple.EINVALID)
			wantField(t, r, "first_name")
			if ms, _ := listMembers(t, s, a.access, nil); len(ms) != 0 {
				t.Fatalf("members after refused requests: %s", memberNames(ms))
			}

			r = s.Do(t, "POST", path, a.access, map[string]any{"first_name": " Ann ", "last_name": "Lee",
				"consent": map[string]any{"opted_in": true, "wording": "Asked in person"}})
			wantStatus(t, r, http.StatusCreated)
			var m apiMember
			r.Decode(t, &m)
			if m.Phone != contact || m.FirstName != "Ann" || m.Consent.Status != "opted_in" {
				t.Fatalf("member %s", r.Raw)
			}
			th := getThread(t, s, a.access, id)
			if th.Member == nil || th.Member.ID != m.ID || th.Member.ConsentStatus != "opted_in" {
				t.Fatalf("conversation member %+v", th.Member)
			}
			wantError(t, s.Do(t, "POST", path, a.access, map[string]any{"first_name": "Ann"}), http.StatusConflict, steeple.ECONFLICT)
			if ms, _ := listMembers(t, s, a.access, nil); len(ms) != 1 {
				t.Fatalf("members: %s", memberNames(ms))
			}

			// A contact who texted STOP becomes a member who is opted out.
			stopID := textIn(t, s, a.tenantID, "in-stop", "+13122000004", number, "STOP")
			r = s.Do(t, "POST", "/api/v1/conversations/"+stopID+"/member", a.access, map[string]any{"first_name": "Bo",
				"consent": map[string]any{"opted_in": true, "wording": "Asked in person"}})
			wantStatus(t, r, http.StatusCreated)
			r.Decode(t, &m)
			if m.Consent.Status != "opted_out" || m.Consent.Source != "keyword" {
				t.Fatalf("member of an opted-out contact %s", r.Raw)
			}
		})
	})
}
