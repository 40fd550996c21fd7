package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// convPhones lists the phones of conversations, in order.
func convPhones(cs []store.Conversation) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Phone)
	}
	return strings.Join(out, ",")
}

// th lists a thread's purposes, newest first.
func purposes(ms []store.ConversationMessage) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Purpose)
	}
	return strings.Join(out, ",")
}

// The inbox as the API serves it: only conversations contacts opened,
// those needing attention first; every filter honoured and unknown ones
// refused; search; unread, assign, confirm an opt-out, dismiss a flag;
// replies to someone opted out refused; a thread with its broadcasts in
// the church's time.
func TestInboxAPI(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		ctx := context.Background()
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100"})
		other := s.Church(t, testkit.ChurchOptions{Name: "Hope Church", Number: "+13125550199"})
		api := c.API(s)
		const ann, ben, dee, eve, unknown = "+13122000001", "+13122000002", "+13122000004", "+13122000005", "+13122000009"
		s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Ann", LastName: "Lee", Phone: ann, OptedIn: true})
		s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Ben", LastName: "Ortiz", Phone: ben, OptedIn: true})
		s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Dee", Phone: dee, OptedIn: true})
		eveID := s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Eve", Phone: eve, OptedIn: true})

		// Eve is welcomed: the church texting her opens no conversation.
		s.WithHandle(t, c.ID, func(h *tenancy.Handle) {
			if err := s.Inbox.Welcome(ctx, h, eveID); err != nil {
				t.Fatal(err)
			}
		})
		// A broadcast to everyone is in each thread, marked as such.
		s.Clock.Add(time.Second)
		bid := api.BroadcastAll(t, "Choir practice moves to 7pm")
		if cs := api.Conversations(t, ""); len(cs) != 0 {
			t.Fatalf("conversations before anyone texted: %s", convPhones(cs))
		}

		benConv := textIn(t, s, c.ID, "in-1", ben, c.Number, "Thanks!")
		unknownConv := textIn(t, s, c.ID, "in-2", unknown, c.Number, "please stop texting me")
		deeConv := textIn(t, s, c.ID, "in-3", dee, c.Number, "Stop.")
		annConv := textIn(t, s, c.ID, "in-4", ann, c.Number, "Is choir on tonight?")
		// Ben was read and answered: he needs nothing.
		api.Call(t, "POST", "/api/v1/conversations/"+benConv+"/read", nil, http.StatusOK, nil)
		api.Call(t, "POST", "/api/v1/conversations/"+benConv+"/messages", map[string]any{"text": "You're welcome"}, http.StatusCreated, nil)

		t.Run("attention first, then newest", func(t *testing.T) {
			// Dee's STOP needs no reply; her unread text still counts.
			want := strings.Join([]string{ann, dee, unknown, ben}, ",")
			if got := convPhones(api.Conversations(t, "")); got != want {
				t.Fatalf("inbox order %s; want %s", got, want)
			}
			var page struct {
				Conversations []store.Conversation `json:"conversations"`
				NextCursor    string               `json:"next_cursor"`
			}
			var got []string
			cursor := ""
			for range 5 {
				api.Call(t, "GET", "/api/v1/conversations?limit=3&cursor="+cursor, nil, http.StatusOK, &page)
				got = append(got, convPhones(page.Conversations))
				if cursor = page.NextCursor; cursor == "" {
					break
				}
			}
			if strings.Join(got, ",") != want {
				t.Fatalf("pages %v; want %s", got, want)
			}
		})

		t.Run("filters", func(t *testing.T) {
			for q, want := range map[string]string{
				"?filter=unread":      ann + "," + dee + "," + unknown,
				"?filter=needs_reply": ann + "," + unknown,
				"?filter=flagged":     unknown,
				"?filter=opted_out":   dee,
				"?filter=open":        ann + "," + dee + "," + unknown + "," + ben,
				"?filter=closed":      "",
				"?q=ann":              ann,
				"?q=ORTIZ":            ben,
				"?q=(312)%20200-0004": dee,
				"?q=%2B13122000009":   unknown,
			} {
				if got := convPhones(api.Conversations(t, q)); got != want {
					t.Errorf("%s: %s; want %s", q, got, want)
				}
			}
			api.Call(t, "POST", "/api/v1/conversations/"+benConv+"/close", nil, http.StatusOK, nil)
			if got := convPhones(api.Conversations(t, "?filter=closed")); got != ben {
				t.Fatalf("closed: %s", got)
			}
			if got := convPhones(api.Conversations(t, "?status=closed")); got != ben {
				t.Fatalf("status=closed: %s", got)
			}
			for q, field := range map[string]string{"?unread=true": "unread", "?flagged=true": "flagged", "?filter=archived": "filter",
				"?filter=unread&status=open": "status", "?q=555-12": "q"} {
				r := s.Do(t, "GET", "/api/v1/conversations"+q, c.Token, nil)
				msg := wantError(t, r, http.StatusBadRequest, steeple.EINVALID)
				wantField(t, r, field)
				if field == "unread" && !strings.Contains(msg, "unread") {
					t.Fatalf("message does not name the parameter: %s", msg)
				}
			}
			wantError(t, s.Do(t, "GET", "/api/v1/conversations/"+annConv+"?filter=unread", c.Token, nil), http.StatusBadRequest, steeple.EINVALID)
		})

		t.Run("thread with broadcasts in the church's time", func(t *testing.T) {
			th := api.Thread(t, annConv)
			if len(th.Messages) != 2 || th.Messages[0].Direction != "inbound" || th.Messages[1].Purpose != store.PurposeBroadcast ||
				th.Messages[1].BroadcastID != bid || th.Messages[1].Body != "Choir practice moves to 7pm" {
				t.Fatalf("Ann's thread %+v", th.Messages)
			}
			loc, err := time.LoadLocation(th.Timezone)
			if err != nil || th.Timezone != "America/Chicago" {
				t.Fatalf("timezone %q: %v", th.Timezone, err)
			}
			for _, m := range th.Messages {
				local, err := time.Parse(time.RFC3339, m.CreatedAtLocal)
				if err != nil || !local.Equal(m.CreatedAt.Truncate(time.Second)) || local.Format("-07:00") != m.CreatedAt.In(loc).Format("-07:00") {
					t.Fatalf("local time %q for %s", m.CreatedAtLocal, m.CreatedAt)
				}
			}
			// Eve's welcome shows once she texts.
			eveConv := textIn(t, s, c.ID, "in-5", eve, c.Number, "Thanks for the welcome")
			th = api.Thread(t, eveConv)
			if len(th.Messages) != 3 || th.Messages[1].Purpose != store.PurposeBroadcast || th.Messages[2].Purpose != store.PurposeWelcome {
				t.Fatalf("Eve's thread %+v", th.Messages)
			}
			// Paging crosses both kinds, newest first.
			var p struct {
				Messages   []store.ConversationMessage `json:"messages"`
				NextCursor string                      `json:"next_cursor"`
			}
			var ids []string
			cursor := ""
			for range 4 {
				api.Call(t, "GET", "/api/v1/conversations/"+eveConv+"?limit=1&cursor="+cursor, nil, http.StatusOK, &p)
				for _, m := range p.Messages {
					ids = append(ids, m.ID)
				}
				if cursor = p.NextCursor; cursor == "" {
					break
				}
			}
			if len(ids) != 3 || ids[0] != th.Messages[0].ID || ids[1] != bid || ids[2] != th.Messages[2].ID {
				t.Fatalf("paged thread %v", ids)
			}
		})

		t.Run("unread and assign", func(t *testing.T) {
			api.Call(t, "POST", "/api/v1/conversations/"+benConv+"/unread", nil, http.StatusOK, nil)
			if th := api.Thread(t, benConv); th.Unread != 1 {
				t.Fatalf("unread %d after mark unread", th.Unread)
			}
			me := api.Me(t)
			var cv store.Conversation
			api.Call(t, "POST", "/api/v1/conversations/"+annConv+"/assign", map[string]any{"admin_id": me.Admin.ID}, http.StatusOK, &cv)
			if cv.AssigneeID != me.Admin.ID {
				t.Fatalf("assignee %q", cv.AssigneeID)
			}
			if got := convPhones(api.Conversations(t, "?assignee=me")); got != ann {
				t.Fatalf("assignee=me: %s", got)
			}
			otherAdmin := other.API(s).Me(t).Admin.ID
			for _, bad := range []string{otherAdmin, steeple.NewID()} {
				r := s.Do(t, "POST", "/api/v1/conversations/"+annConv+"/assign", c.Token, map[string]any{"admin_id": bad})
				wantError(t, r, http.StatusNotFound, steeple.ENOTFOUND)
			}
			api.Call(t, "POST", "/api/v1/conversations/"+annConv+"/assign", map[string]any{"admin_id": nil}, http.StatusOK, &cv)
			if cv.AssigneeID != "" {
				t.Fatalf("still assigned to %q", cv.AssigneeID)
			}
		})

		t.Run("replies to someone opted out are refused up front", func(t *testing.T) {
			r := s.Do(t, "POST", "/api/v1/conversations/"+deeConv+"/messages", c.Token, map[string]any{"text": "Sorry to see you go"})
			if msg := wantError(t, r, http.StatusConflict, steeple.ECONFLICT); !strings.Contains(msg, "START") {
				t.Fatalf("message %q does not say how they come back", msg)
			}
			// Her texts from the church: the STOP confirmation, and the broadcast before it.
			th := api.Thread(t, deeConv)
			if out, b := purposes(th.Only(store.DirectionOutbound)), th.Broadcasts(); out != "stop" || len(b) != 1 || b[0].BroadcastID != bid {
				t.Fatalf("Dee's outbound texts: %s and broadcasts %+v", out, b)
			}
		})

		t.Run("confirm an opt-out, dismiss a flag", func(t *testing.T) {
			var cv store.Conversation
			api.Call(t, "POST", "/api/v1/conversations/"+unknownConv+"/opt-out", nil, http.StatusOK, &cv)
			if !cv.OptedOut || cv.Flagged || cv.NeedsReply {
				t.Fatalf("after confirming: %+v", cv)
			}
			wantError(t, s.Do(t, "POST", "/api/v1/conversations/"+unknownConv+"/messages", c.Token, map[string]any{"text": "ok"}),
				http.StatusConflict, steeple.ECONFLICT)
			// Made a member now, they start opted out.
			r := s.Do(t, "POST", "/api/v1/conversations/"+unknownConv+"/member", c.Token,
				map[string]any{"first_name": "Uma", "consent": map[string]any{"opted_in": true, "wording": "x"}})
			wantStatus(t, r, http.StatusCreated)
			var made steeple.Member
			if r.Decode(t, &made); made.Consent.Status != steeple.ConsentOptedOut {
				t.Fatalf("member from a confirmed opt-out: %s", r.Raw)
			}

			annFlag := textIn(t, s, c.ID, "in-6", ann, c.Number, "Can you take me off the nursery rota?")
			if th := api.Thread(t, annFlag); !th.Flagged {
				t.Fatalf("not flagged: %+v", th.Conversation)
			}
			api.Call(t, "POST", "/api/v1/conversations/"+annFlag+"/dismiss-flag", nil, http.StatusOK, &cv)
			if cv.Flagged || cv.OptedOut {
				t.Fatalf("after dismissing: %+v", cv)
			}
			var audit struct {
				Entries []store.AuditEntry `json:"entries"`
			}
			api.Call(t, "GET", "/api/v1/audit", nil, http.StatusOK, &audit)
			seen := map[string]string{}
			for _, e := range audit.Entries {
				seen[e.Action] = e.Target
			}
			if seen["conversation.opt_out_confirmed"] != unknownConv || seen["conversation.flag_dismissed"] != annFlag ||
				seen["conversation.assigned"] != annConv {
				t.Fatalf("audit %+v", audit.Entries)
			}
		})

		t.Run("another church's conversation is not found", func(t *testing.T) {
			for _, p := range []string{"/unread", "/opt-out", "/dismiss-flag", "/assign"} {
				var body any
				if p == "/assign" {
					body = map[string]any{"admin_id": nil}
				}
				wantError(t, s.Do(t, "POST", "/api/v1/conversations/"+annConv+p, other.Token, body), http.StatusNotFound, steeple.ENOTFOUND)
			}
			if th := api.Thread(t, annConv); th.Unread == 0 || th.OptedOut {
				t.Fatalf("changed by another church: %+v", th.Conversation)
			}
		})
	})
}
