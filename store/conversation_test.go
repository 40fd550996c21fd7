package store_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// church is one signed-up church with a handle on its database, held until
// the test ends.
type church struct {
	*testkit.Church
	s        *testkit.Server
	st       *store.Store
	h        *tenancy.Handle
	adminID  string
	number   string // the church's own number, texted by contacts
	inbounds int
}

var numberSeq atomic.Int64

// openChurch signs up a church on s (the kit's church) and acquires its handle.
func openChurch(t *testing.T, s *testkit.Server) *church {
	t.Helper()
	k := s.Church(t, testkit.ChurchOptions{})
	h, err := s.Tenancy.Manager.Acquire(context.Background(), k.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Release)
	return &church{Church: k, s: s, st: s.Store, h: h, adminID: k.API(s).Me(t).Admin.ID, number: fmt.Sprintf("+1312555%04d", 100+numberSeq.Add(1))}
}

// text stores an inbound text from phone, moving the clock on first so that
// every text has its own instant.
func (c *church) text(t *testing.T, from, body string, mod ...func(*store.InboundText)) *store.InboundResult {
	t.Helper()
	res, err := c.textErr(from, body, nil, mod...)
	if err != nil {
		t.Fatalf("ApplyInbound from %s %q: %v", from, body, err)
	}
	return res
}

func (c *church) textErr(from, body string, answer *store.OutboundDraft, mod ...func(*store.InboundText)) (*store.InboundResult, error) {
	c.s.Clock.Add(time.Second)
	c.inbounds++
	in := store.InboundText{ProviderID: fmt.Sprintf("in-%s-%d", c.ID, c.inbounds), From: from, ChurchNumber: c.number, Body: body}
	for _, m := range mod {
		m(&in)
	}
	return c.st.ApplyInbound(context.Background(), c.h, in, answer)
}

func (c *church) conv(t *testing.T, id string) *store.Conversation {
	t.Helper()
	cv, err := c.st.Conversation(context.Background(), c.h, id)
	if err != nil {
		t.Fatalf("Conversation %s: %v", id, err)
	}
	return cv
}

func (c *church) thread(t *testing.T, id string) []*store.ConversationMessage {
	t.Helper()
	ms, next, err := c.st.Thread(context.Background(), c.h, id, "", 100)
	if err != nil || next != "" {
		t.Fatalf("Thread %s: %v (next %q)", id, err, next)
	}
	return ms
}

func (c *church) member(t *testing.T, first, phone, consent string) *steeple.Member {
	t.Helper()
	m, err := c.st.CreateMember(context.Background(), c.h, store.MemberInput{FirstName: first, Phone: phone},
		steeple.Consent{Status: consent, Source: steeple.ConsentSourceAdmin, Wording: "agreed at the door"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (c *church) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := c.h.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if steeple.ErrorCode(err) != code {
		t.Fatalf("err = %v (code %q); want %s", err, steeple.ErrorCode(err), code)
	}
}

func keyword(k string) func(*store.InboundText) {
	return func(in *store.InboundText) { in.Keyword, in.Wording = k, strings.ToUpper(k) }
}

func TestApplyInbound(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c := openChurch(t, s)
		ctx := context.Background()

		t.Run("unknown sender, then the same text again", func(t *testing.T) {
			const phone = "+13122000001"
			in := store.InboundText{ProviderID: "dup-1", From: phone, ChurchNumber: c.number, Body: "Hello, who is this?"}
			res, err := c.st.ApplyInbound(ctx, c.h, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Duplicate || res.MemberID != "" || res.ConversationID == "" || res.MessageID == "" {
				t.Fatalf("first delivery: %+v", res)
			}
			cv := c.conv(t, res.ConversationID)
			if cv.Member != nil || cv.Unread != 1 || cv.Status != steeple.ConversationOpen || cv.Phone != phone ||
				cv.ChurchNumber != c.number || cv.Flagged || cv.OptedOut {
				t.Fatalf("new conversation: %+v", cv)
			}
			if cv.LastMessage.Direction != store.DirectionInbound || cv.LastMessage.Preview != "Hello, who is this?" ||
				!cv.LastMessage.At.Equal(s.Clock.Now().Truncate(time.Microsecond)) {
				t.Fatalf("last message: %+v (now %v)", cv.LastMessage, s.Clock.Now())
			}

			s.Clock.Add(time.Minute)
			in.Body = "changed on the retry"
			again, err := c.st.ApplyInbound(ctx, c.h, in, &store.OutboundDraft{ID: steeple.NewID(), Body: "answer", Purpose: "help",
				CreatedBy: store.CreatedBySystem})
			if err != nil {
				t.Fatal(err)
			}
			if !again.Duplicate {
				t.Fatalf("second delivery: %+v; want Duplicate", again)
			}
			cv2 := c.conv(t, res.ConversationID)
			if cv2.Unread != 1 || !cv2.LastMessage.At.Equal(cv.LastMessage.At) || cv2.LastMessage.Preview != cv.LastMessage.Preview {
				t.Fatalf("a duplicate changed the conversation: %+v", cv2)
			}
			ms := c.thread(t, res.ConversationID)
			if len(ms) != 1 || ms[0].Body != "Hello, who is this?" || ms[0].Status != steeple.MessageReceived ||
				ms[0].Direction != store.DirectionInbound || ms[0].ID != res.MessageID {
				t.Fatalf("thread after a duplicate: %+v", ms)
			}
			if n := c.count(t, `SELECT COUNT(*) FROM conversations`); n != 1 {
				t.Fatalf("%d conversations; want 1", n)
			}
		})

		t.Run("phone is sealed", func(t *testing.T) {
			const phone = "+13122000002"
			res := c.text(t, phone, "hi")
			var sealed []byte
			var hash string
			if err := c.h.QueryRowContext(ctx, `SELECT phone_cipher, phone_hash FROM conversations WHERE id = $1`,
				res.ConversationID).Scan(&sealed, &hash); err != nil {
				t.Fatal(err)
			}
			for _, plain := range []string{phone, strings.TrimPrefix(phone, "+"), phone[2:]} {
				if bytes.Contains(sealed, []byte(plain)) || strings.Contains(hash, plain) {
					t.Fatalf("stored phone contains %q: cipher %q hash %q", plain, sealed, hash)
				}
			}
			if hash != c.st.PhoneIndex(phone) {
				t.Fatalf("phone_hash %q is not the member blind index", hash)
			}
		})

		t.Run("sender is a member", func(t *testing.T) {
			const phone = "+13122000003"
			m := c.member(t, "Ann", phone, steeple.ConsentOptedIn)
			res := c.text(t, phone, "Running late")
			if res.MemberID != m.ID {
				t.Fatalf("MemberID = %q; want %s", res.MemberID, m.ID)
			}
			cv := c.conv(t, res.ConversationID)
			if cv.Member == nil || cv.Member.ID != m.ID || cv.Member.FirstName != "Ann" || cv.Member.ConsentStatus != steeple.ConsentOptedIn {
				t.Fatalf("conversation member: %+v", cv.Member)
			}
		})

		t.Run("an unknown contact who becomes a member is linked on the next text", func(t *testing.T) {
			const phone = "+13122000004"
			first := c.text(t, phone, "hello")
			if first.MemberID != "" {
				t.Fatalf("%+v", first)
			}
			m := c.member(t, "Bea", phone, steeple.ConsentOptedIn)
			second := c.text(t, phone, "it's Bea")
			if second.ConversationID != first.ConversationID || second.MemberID != m.ID {
				t.Fatalf("second text: %+v; want conversation %s with member %s", second, first.ConversationID, m.ID)
			}
			if cv := c.conv(t, first.ConversationID); cv.Member == nil || cv.Member.ID != m.ID || cv.Unread != 2 {
				t.Fatalf("%+v", cv)
			}
		})

		t.Run("a new text reopens a closed conversation", func(t *testing.T) {
			const phone = "+13122000005"
			res := c.text(t, phone, "one")
			if err := c.st.MarkConversationRead(ctx, c.h, res.ConversationID); err != nil {
				t.Fatal(err)
			}
			if err := c.st.SetConversationStatus(ctx, c.h, res.ConversationID, steeple.ConversationClosed); err != nil {
				t.Fatal(err)
			}
			if cv := c.conv(t, res.ConversationID); cv.Status != steeple.ConversationClosed || cv.Unread != 0 {
				t.Fatalf("closed: %+v", cv)
			}
			again := c.text(t, phone, "two")
			if again.ConversationID != res.ConversationID {
				t.Fatalf("a new conversation %s; want %s reopened", again.ConversationID, res.ConversationID)
			}
			if cv := c.conv(t, res.ConversationID); cv.Status != steeple.ConversationOpen || cv.Unread != 1 || cv.LastMessage.Preview != "two" {
				t.Fatalf("reopened: %+v", cv)
			}
		})

		t.Run("member texts STOP then START", func(t *testing.T) {
			const phone = "+13122000006"
			m := c.member(t, "Cal", phone, steeple.ConsentOptedIn)
			res := c.text(t, phone, "STOP", keyword(store.KeywordStop))
			if !res.ConsentChanged {
				t.Errorf("STOP from an opted-in member: ConsentChanged false")
			}
			got, err := c.st.Member(ctx, c.h, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Consent.Status != steeple.ConsentOptedOut || got.Consent.Source != steeple.ConsentSourceKeyword || got.Consent.Wording != "STOP" {
				t.Fatalf("after STOP: %+v", got.Consent)
			}
			wantEvents(t, c, m.ID, "opted_in/admin", "opted_out/keyword")
			if ms := c.thread(t, res.ConversationID); len(ms) != 1 || ms[0].Keyword != store.KeywordStop {
				t.Fatalf("thread: %+v", ms)
			}

			again := c.text(t, phone, "STOP", keyword(store.KeywordStop))
			if again.ConsentChanged {
				t.Errorf("a second STOP: ConsentChanged true")
			}
			res = c.text(t, phone, "START", keyword(store.KeywordStart))
			if !res.ConsentChanged {
				t.Errorf("START from an opted-out member: ConsentChanged false")
			}
			if got, _ := c.st.Member(ctx, c.h, m.ID); got.Consent.Status != steeple.ConsentOptedIn || got.Consent.Source != steeple.ConsentSourceKeyword {
				t.Fatalf("after START: %+v", got.Consent)
			}
			if cv := c.conv(t, res.ConversationID); cv.OptedOut || cv.Member.ConsentStatus != steeple.ConsentOptedIn {
				t.Fatalf("conversation after START: %+v %+v", cv, cv.Member)
			}
			wantEvents(t, c, m.ID, "opted_in/admin", "opted_out/keyword", "opted_out/keyword", "opted_in/keyword")
		})

		t.Run("unknown contact texts STOP then START", func(t *testing.T) {
			const phone = "+13122000007"
			members := c.count(t, `SELECT COUNT(*) FROM members`)
			res := c.text(t, phone, "stop", keyword(store.KeywordStop))
			if cv := c.conv(t, res.ConversationID); !cv.OptedOut || cv.Member != nil {
				t.Fatalf("after STOP: %+v", cv)
			}
			if !res.ConsentChanged {
				t.Errorf("STOP from an unknown contact: ConsentChanged false")
			}
			if n := c.count(t, `SELECT COUNT(*) FROM members`); n != members {
				t.Fatalf("STOP from an unknown contact made a member")
			}
			c.text(t, phone, "start", keyword(store.KeywordStart))
			if cv := c.conv(t, res.ConversationID); cv.OptedOut {
				t.Fatalf("after START: %+v", cv)
			}
		})

		t.Run("a member who texted STOP and is then deleted stays opted out", func(t *testing.T) {
			const phone = "+13122000008"
			m := c.member(t, "Dee", phone, steeple.ConsentOptedIn)
			res := c.text(t, phone, "STOP", keyword(store.KeywordStop))
			if err := c.st.DeleteMember(ctx, c.h, m.ID); err != nil {
				t.Fatal(err)
			}
			cv := c.conv(t, res.ConversationID)
			if cv.Member != nil || !cv.OptedOut {
				t.Fatalf("conversation of a deleted member who texted STOP: member %+v, opted_out %v", cv.Member, cv.OptedOut)
			}
			draft := store.OutboundDraft{ID: steeple.NewID(), Body: "Are you still there?", Purpose: store.PurposeReply, CreatedBy: c.adminID}
			if _, err := c.st.CreateReply(ctx, c.h, res.ConversationID, draft); steeple.ErrorCode(err) != steeple.ECONFLICT {
				t.Fatalf("reply to a deleted member who texted STOP: %v; want ECONFLICT", err)
			}
			draft.Purpose, draft.CreatedBy = store.KeywordHelp, store.CreatedBySystem
			if _, err := c.st.CreateReply(ctx, c.h, res.ConversationID, draft); err != nil {
				t.Fatal(err)
			}
			if it, err := c.st.ReplyTarget(ctx, c.h, draft.ID); err != nil || it.MayText {
				t.Fatalf("ReplyTarget: %+v, %v; want MayText false", it, err)
			}
			// The contact can be made a member again, and starts opted out.
			again, err := c.st.MemberFromConversation(ctx, c.h, res.ConversationID, store.MemberInput{FirstName: "Dee"},
				steeple.Consent{Status: steeple.ConsentOptedIn, Source: steeple.ConsentSourceAdmin})
			if err != nil || again.Consent.Status != steeple.ConsentOptedOut {
				t.Fatalf("member again: %+v, %v", again, err)
			}
		})

		t.Run("look-alike is flagged", func(t *testing.T) {
			const phone = "+13122000009"
			res := c.text(t, phone, "please stop texting me", func(in *store.InboundText) { in.Flag = store.FlagPossibleOptOut })
			cv := c.conv(t, res.ConversationID)
			if !cv.Flagged || cv.OptedOut {
				t.Fatalf("%+v", cv)
			}
			if ms := c.thread(t, res.ConversationID); ms[0].Flag != store.FlagPossibleOptOut || ms[0].Keyword != "" {
				t.Fatalf("%+v", ms[0])
			}
			// A later ordinary text keeps the flag for an admin to see.
			c.text(t, phone, "thanks")
			if cv := c.conv(t, res.ConversationID); !cv.Flagged {
				t.Fatalf("flag cleared by an ordinary text: %+v", cv)
			}
		})

		t.Run("automatic answer is queued after the text", func(t *testing.T) {
			const phone = "+13122000010"
			draft := &store.OutboundDraft{ID: steeple.NewID(), Body: "Chapel: call 555-0100", Purpose: store.KeywordHelp,
				CreatedBy: store.CreatedBySystem}
			res, err := c.textErr(phone, "HELP", draft, keyword(store.KeywordHelp))
			if err != nil {
				t.Fatal(err)
			}
			ms := c.thread(t, res.ConversationID)
			if len(ms) != 2 {
				t.Fatalf("thread: %d messages; want 2", len(ms))
			}
			out, in := ms[0], ms[1] // newest first
			if in.ID != res.MessageID || in.Direction != store.DirectionInbound || in.Keyword != store.KeywordHelp {
				t.Fatalf("inbound: %+v", in)
			}
			if out.ID != draft.ID || out.Direction != store.DirectionOutbound || out.Status != steeple.RecipientQueued ||
				out.Purpose != store.KeywordHelp || out.CreatedBy != store.CreatedBySystem || out.Body != draft.Body {
				t.Fatalf("answer: %+v", out)
			}
			if !out.CreatedAt.After(in.CreatedAt) {
				t.Fatalf("answer at %v, not after the text at %v", out.CreatedAt, in.CreatedAt)
			}
			cv := c.conv(t, res.ConversationID)
			if cv.Unread != 1 || cv.LastMessage.Direction != store.DirectionOutbound {
				t.Fatalf("%+v", cv)
			}
			it, err := c.st.ReplyTarget(ctx, c.h, draft.ID)
			if err != nil || it.Phone != phone || it.ChurchNumber != c.number || it.Purpose != store.KeywordHelp || !it.MayText {
				t.Fatalf("ReplyTarget: %+v, %v", it, err)
			}
		})

		t.Run("concurrent first texts from one phone share a conversation", func(t *testing.T) {
			const phone = "+13122000012"
			s.Clock.Add(time.Second)
			ids := []string{"conc-a", "conc-b", "conc-c", "conc-a"} // the last is a redelivery
			type result struct {
				res *store.InboundResult
				err error
			}
			out := make(chan result, len(ids))
			start := make(chan struct{})
			for _, pid := range ids {
				go func() {
					h, err := s.Tenancy.Manager.Acquire(ctx, c.ID)
					if err != nil {
						out <- result{nil, err}
						return
					}
					defer h.Release()
					<-start
					res, err := c.st.ApplyInbound(ctx, h, store.InboundText{ProviderID: pid, From: phone, ChurchNumber: c.number, Body: pid}, nil)
					out <- result{res, err}
				}()
			}
			close(start)
			convs, dups := map[string]bool{}, 0
			for range ids {
				r := <-out
				if r.err != nil {
					t.Fatal(r.err)
				}
				if r.res.Duplicate {
					dups++
				} else {
					convs[r.res.ConversationID] = true
				}
			}
			if len(convs) != 1 || dups != 1 {
				t.Fatalf("%d conversations, %d duplicates; want 1 and 1", len(convs), dups)
			}
			for id := range convs {
				if cv := c.conv(t, id); cv.Unread != 3 {
					t.Fatalf("unread %d; want 3", cv.Unread)
				}
				if ms := c.thread(t, id); len(ms) != 3 {
					t.Fatalf("%d messages; want 3", len(ms))
				}
			}
		})

		t.Run("MMS media round-trips", func(t *testing.T) {
			const phone = "+13122000011"
			media := []store.Media{
				{URL: "https://media.example.net/a.jpg", ContentType: "image/jpeg", Size: 123456},
				{URL: "https://media.example.net/b.png", ContentType: "image/png", Size: 42},
			}
			res := c.text(t, phone, "", func(in *store.InboundText) { in.Media = media })
			ms := c.thread(t, res.ConversationID)
			if len(ms) != 1 || len(ms[0].Media) != 2 || ms[0].Media[0] != media[0] || ms[0].Media[1] != media[1] {
				t.Fatalf("media: %+v", ms[0].Media)
			}
			if cv := c.conv(t, res.ConversationID); cv.LastMessage.Preview != "[photo]" {
				t.Fatalf("preview %q", cv.LastMessage.Preview)
			}
			plain := c.text(t, phone, "no picture")
			if m, _ := c.st.ConversationMessage(ctx, c.h, plain.MessageID); m == nil || m.Media == nil || len(m.Media) != 0 {
				t.Fatalf("a text without media: %+v", m)
			}
		})
	})
}

// wantEvents checks a member's consent history, as status/source, oldest first.
func wantEvents(t *testing.T, c *church, memberID string, want ...string) {
	t.Helper()
	rows, err := c.h.QueryContext(context.Background(), `SELECT status, source FROM consent_events WHERE member_id = $1 ORDER BY seq`, memberID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var st, src string
		if err := rows.Scan(&st, &src); err != nil {
			t.Fatal(err)
		}
		got = append(got, st+"/"+src)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("consent events %v; want %v", got, want)
	}
}

func TestConversationListAndThread(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c := openChurch(t, s)
		ctx := context.Background()

		// Five conversations; activity order (newest first) ends up
		// p3, p1, p5, p4, p2 because p1 and p3 text again later.
		phones := []string{"+13123000001", "+13123000002", "+13123000003", "+13123000004", "+13123000005"}
		ids := map[string]string{}
		for _, p := range phones {
			ids[p] = c.text(t, p, "hello from "+p).ConversationID
		}
		c.text(t, phones[0], "again")
		c.text(t, phones[2], "again")
		want := []string{ids[phones[2]], ids[phones[0]], ids[phones[4]], ids[phones[3]], ids[phones[1]]}

		var got []string
		cursor, pages := "", 0
		for {
			page, next, err := c.st.Conversations(ctx, c.h, store.ConversationQuery{Cursor: cursor, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(page) > 2 || (next != "" && len(page) != 2) {
				t.Fatalf("page %d: %d conversations, next %q", pages, len(page), next)
			}
			for _, cv := range page {
				got = append(got, cv.ID)
			}
			if next == "" {
				break
			}
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			cursor = next
		}
		if pages != 3 || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("%d pages %v; want 3 pages %v", pages, got, want)
		}
		// An exact multiple of the page size ends without an empty page.
		if all, next, err := c.st.Conversations(ctx, c.h, store.ConversationQuery{Limit: 5}); err != nil || len(all) != 5 || next != "" {
			t.Fatalf("limit 5: %d, next %q, %v", len(all), next, err)
		}

		// Status filter.
		if err := c.st.SetConversationStatus(ctx, c.h, ids[phones[0]], steeple.ConversationClosed); err != nil {
			t.Fatal(err)
		}
		if err := c.st.SetConversationStatus(ctx, c.h, ids[phones[3]], steeple.ConversationClosed); err != nil {
			t.Fatal(err)
		}
		closed, _, err := c.st.Conversations(ctx, c.h, store.ConversationQuery{Filter: store.FilterClosed, Limit: 10})
		if err != nil || len(closed) != 2 || closed[0].ID != ids[phones[0]] || closed[1].ID != ids[phones[3]] {
			t.Fatalf("closed: %v, %v", convIDs(closed), err)
		}
		open, _, err := c.st.Conversations(ctx, c.h, store.ConversationQuery{Filter: store.FilterOpen, Limit: 10})
		if err != nil || strings.Join(convIDs(open), ",") != strings.Join([]string{want[0], want[2], want[4]}, ",") {
			t.Fatalf("open: %v, %v", convIDs(open), err)
		}
		// Closing does not change the order of activity.
		if err := c.st.SetConversationStatus(ctx, c.h, ids[phones[0]], steeple.ConversationOpen); err != nil {
			t.Fatal(err)
		}
		if cv := c.conv(t, ids[phones[0]]); cv.Status != steeple.ConversationOpen {
			t.Fatalf("reopen: %+v", cv)
		}

		for _, bad := range []string{"not a cursor!", "bm9waXBl", "eA"} {
			_, _, err := c.st.Conversations(ctx, c.h, store.ConversationQuery{Cursor: bad, Limit: 2})
			wantCode(t, err, steeple.EINVALID)
			_, _, err = c.st.Thread(ctx, c.h, ids[phones[0]], bad, 2)
			wantCode(t, err, steeple.EINVALID)
		}

		// A thread of five, newest first, in pages of two.
		conv := ids[phones[1]]
		c.text(t, phones[1], "m2")
		s.Clock.Add(time.Second)
		r1, err := c.st.CreateReply(ctx, c.h, conv, store.OutboundDraft{ID: steeple.NewID(), Body: "m3", Purpose: store.PurposeReply,
			CreatedBy: c.adminID})
		if err != nil {
			t.Fatal(err)
		}
		if r1.Status != steeple.RecipientQueued || r1.CreatedBy != c.adminID || r1.Purpose != store.PurposeReply {
			t.Fatalf("reply: %+v", r1)
		}
		s.Clock.Add(time.Second)
		c.text(t, phones[1], "m4")
		wantBodies := []string{"m4", "m3", "m2", "hello from " + phones[1]}
		var bodies []string
		cursor, pages = "", 0
		for {
			ms, next, err := c.st.Thread(ctx, c.h, conv, cursor, 2)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, m := range ms {
				bodies = append(bodies, m.Body)
			}
			if next == "" || pages > 4 {
				break
			}
			cursor = next
		}
		if pages != 2 || strings.Join(bodies, "|") != strings.Join(wantBodies, "|") {
			t.Fatalf("thread in %d pages: %q; want 2 pages %q", pages, bodies, wantBodies)
		}
		if cv := c.conv(t, conv); cv.LastMessage.Preview != "m4" || cv.Unread != 3 {
			t.Fatalf("%+v", cv)
		}
		// Another conversation's messages never show.
		if ms, _, _ := c.st.Thread(ctx, c.h, steeple.NewID(), "", 10); len(ms) != 0 {
			t.Fatalf("thread of an unknown conversation: %d messages", len(ms))
		}
	})
}

func convIDs(cs []*store.Conversation) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}
