package store_test

// Conversation updates (read, close, reopen, member from a contact) and
// what a reply's send job reads.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
)

func TestConversationUpdates(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c := openChurch(t, s)
		ctx := context.Background()

		t.Run("read, close, reopen; unknown ids", func(t *testing.T) {
			res := c.text(t, "+13124000001", "one")
			c.text(t, "+13124000001", "two")
			if cv := c.conv(t, res.ConversationID); cv.Unread != 2 {
				t.Fatalf("unread %d", cv.Unread)
			}
			if err := c.st.MarkConversationRead(ctx, c.h, res.ConversationID); err != nil {
				t.Fatal(err)
			}
			if cv := c.conv(t, res.ConversationID); cv.Unread != 0 {
				t.Fatalf("unread %d after read", cv.Unread)
			}
			if err := c.st.SetConversationStatus(ctx, c.h, res.ConversationID, steeple.ConversationClosed); err != nil {
				t.Fatal(err)
			}
			if cv := c.conv(t, res.ConversationID); cv.Status != steeple.ConversationClosed {
				t.Fatalf("%+v", cv)
			}
			unknown := steeple.NewID()
			wantCode(t, c.st.MarkConversationRead(ctx, c.h, unknown), steeple.ENOTFOUND)
			wantCode(t, c.st.SetConversationStatus(ctx, c.h, unknown, steeple.ConversationClosed), steeple.ENOTFOUND)
			wantCode(t, c.st.SetConversationStatus(ctx, c.h, unknown, steeple.ConversationOpen), steeple.ENOTFOUND)
			_, err := c.st.Conversation(ctx, c.h, unknown)
			wantCode(t, err, steeple.ENOTFOUND)
			_, err = c.st.CreateReply(ctx, c.h, unknown, store.OutboundDraft{ID: steeple.NewID(), Body: "x", Purpose: store.PurposeReply})
			wantCode(t, err, steeple.ENOTFOUND)
			_, err = c.st.ReplyTarget(ctx, c.h, unknown)
			wantCode(t, err, steeple.ENOTFOUND)
			_, err = c.st.ConversationMessage(ctx, c.h, unknown)
			wantCode(t, err, steeple.ENOTFOUND)
			// ReplyTarget is for outbound messages only.
			_, err = c.st.ReplyTarget(ctx, c.h, res.MessageID)
			wantCode(t, err, steeple.ENOTFOUND)
		})

		t.Run("member from conversation", func(t *testing.T) {
			const phone = "+13124000002"
			res := c.text(t, phone, "I'm new here")
			before := c.count(t, `SELECT COUNT(*) FROM members`)
			m, err := c.st.MemberFromConversation(ctx, c.h, res.ConversationID, store.MemberInput{FirstName: "Eve", LastName: "Ng"},
				steeple.Consent{Status: steeple.ConsentOptedIn, Source: steeple.ConsentSourceAdmin, Wording: "said yes in person"})
			if err != nil {
				t.Fatal(err)
			}
			if m.Phone != phone || m.Consent.Status != steeple.ConsentOptedIn || m.FirstName != "Eve" {
				t.Fatalf("member %+v", m)
			}
			stored, err := c.st.MemberByPhone(ctx, c.h, phone)
			if err != nil || stored.ID != m.ID {
				t.Fatalf("MemberByPhone: %+v, %v", stored, err)
			}
			if cv := c.conv(t, res.ConversationID); cv.Member == nil || cv.Member.ID != m.ID {
				t.Fatalf("not linked: %+v", cv.Member)
			}
			wantEvents(t, c, m.ID, "opted_in/admin")

			_, err = c.st.MemberFromConversation(ctx, c.h, res.ConversationID, store.MemberInput{FirstName: "Eve"},
				steeple.Consent{Status: steeple.ConsentOptedIn, Source: steeple.ConsentSourceAdmin})
			wantCode(t, err, steeple.ECONFLICT)
			if n := c.count(t, `SELECT COUNT(*) FROM members`); n != before+1 {
				t.Fatalf("%d members; want %d", n, before+1)
			}
			_, err = c.st.MemberFromConversation(ctx, c.h, steeple.NewID(), store.MemberInput{FirstName: "Nobody"},
				steeple.Consent{Status: steeple.ConsentOptedIn, Source: steeple.ConsentSourceAdmin})
			wantCode(t, err, steeple.ENOTFOUND)
		})

		t.Run("member from an opted-out contact starts opted out", func(t *testing.T) {
			const phone = "+13124000003"
			res := c.text(t, phone, "STOP", keyword(store.KeywordStop))
			m, err := c.st.MemberFromConversation(ctx, c.h, res.ConversationID, store.MemberInput{FirstName: "Fay"},
				steeple.Consent{Status: steeple.ConsentOptedIn, Source: steeple.ConsentSourceAdmin, Wording: "said yes"})
			if err != nil {
				t.Fatal(err)
			}
			if m.Consent.Status != steeple.ConsentOptedOut {
				t.Fatalf("consent %+v; want opted out", m.Consent)
			}
			stored, _ := c.st.Member(ctx, c.h, m.ID)
			if stored.Consent.Status != steeple.ConsentOptedOut || stored.Consent.Source != steeple.ConsentSourceKeyword {
				t.Fatalf("stored consent %+v", stored.Consent)
			}
			wantEvents(t, c, m.ID, "opted_out/keyword")
		})

		t.Run("member from conversation whose phone a member has", func(t *testing.T) {
			const phone = "+13124000004"
			res := c.text(t, phone, "hello")
			existing := c.member(t, "Gus", phone, steeple.ConsentOptedIn) // added by hand after the text
			before := c.count(t, `SELECT COUNT(*) FROM members`)
			events := c.count(t, `SELECT COUNT(*) FROM consent_events`)
			_, err := c.st.MemberFromConversation(ctx, c.h, res.ConversationID, store.MemberInput{FirstName: "Gus", Email: "gus@example.org"},
				steeple.Consent{Status: steeple.ConsentOptedIn, Source: steeple.ConsentSourceAdmin})
			wantCode(t, err, steeple.ECONFLICT)
			if !strings.Contains(err.Error(), existing.ID) {
				t.Errorf("conflict %q does not name member %s", err, existing.ID)
			}
			if n := c.count(t, `SELECT COUNT(*) FROM members`); n != before {
				t.Fatalf("%d members; want %d", n, before)
			}
			if n := c.count(t, `SELECT COUNT(*) FROM consent_events`); n != events {
				t.Fatalf("%d consent events; want %d", n, events)
			}
			// A conversation shows whoever has its phone now: the member added by hand.
			if cv := c.conv(t, res.ConversationID); cv.Member == nil || cv.Member.ID != existing.ID {
				t.Fatalf("conversation shows %+v; want the existing member %s", cv.Member, existing.ID)
			}
		})
	})
}

func TestReplyTarget(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c := openChurch(t, s)
		ctx := context.Background()
		// reply adds an automatic answer: an admin's reply to someone who
		// may not be texted is refused before it is stored (see
		// TestReplyRefusedWhenOptedOut), answers are decided at send time.
		reply := func(t *testing.T, convID string, media ...string) string {
			t.Helper()
			d := store.OutboundDraft{ID: steeple.NewID(), Body: "reply", Purpose: store.KeywordHelp, CreatedBy: store.CreatedBySystem, MediaURLs: media}
			if _, err := c.st.CreateReply(ctx, c.h, convID, d); err != nil {
				t.Fatal(err)
			}
			return d.ID
		}
		target := func(t *testing.T, id string) *store.ReplyItem {
			t.Helper()
			it, err := c.st.ReplyTarget(ctx, c.h, id)
			if err != nil {
				t.Fatal(err)
			}
			return it
		}

		okMember := c.member(t, "Hal", "+13125000001", steeple.ConsentOptedIn)
		conv := c.text(t, "+13125000001", "hi").ConversationID
		id := reply(t, conv, "https://media.example.net/x.jpg")
		if it := target(t, id); !it.MayText || it.MemberID != okMember.ID || it.Phone != "+13125000001" ||
			len(it.MediaURLs) != 1 || it.MediaURLs[0] != "https://media.example.net/x.jpg" || it.Status != steeple.RecipientQueued {
			t.Fatalf("opted-in member: %+v", it)
		}

		out := c.member(t, "Ida", "+13125000002", steeple.ConsentOptedOut)
		id = reply(t, c.text(t, "+13125000002", "hi").ConversationID)
		if it := target(t, id); it.MayText || it.MemberID != out.ID {
			t.Fatalf("opted-out member: %+v", it)
		}

		bad := c.member(t, "Jo", "+13125000003", steeple.ConsentOptedIn)
		if err := c.st.MarkPhoneInvalid(ctx, c.h, bad.ID); err != nil {
			t.Fatal(err)
		}
		id = reply(t, c.text(t, "+13125000003", "hi").ConversationID)
		if it := target(t, id); it.MayText {
			t.Fatalf("member with an invalid phone: %+v", it)
		}

		id = reply(t, c.text(t, "+13125000004", "hi").ConversationID)
		if it := target(t, id); !it.MayText || it.MemberID != "" {
			t.Fatalf("unknown contact: %+v", it)
		}
		stopConv := c.text(t, "+13125000004", "STOP", keyword(store.KeywordStop)).ConversationID
		if it := target(t, id); it.MayText {
			t.Fatalf("opted-out contact: %+v", it)
		}

		t.Run("the member who has the phone now decides", func(t *testing.T) {
			// Kim texts from her old number, then moves to a new one; the old
			// number goes to Lou, who never agreed to texts.
			kim := c.member(t, "Kim", "+13125000010", steeple.ConsentOptedIn)
			conv := c.text(t, "+13125000010", "hi").ConversationID
			if _, err := c.st.UpdateMember(ctx, c.h, kim.ID, store.MemberInput{FirstName: "Kim", Phone: "+13125000011"}); err != nil {
				t.Fatal(err)
			}
			id := reply(t, conv)
			if it := target(t, id); it.Phone != "+13125000010" || it.MemberID == kim.ID {
				t.Fatalf("reply to Kim's old number: %+v; Kim (%s) no longer has it", it, kim.ID)
			}
			lou := c.member(t, "Lou", "+13125000010", steeple.ConsentOptedOut)
			if it := target(t, id); it.MayText || it.MemberID != lou.ID {
				t.Fatalf("reply to a number an opted-out member now has: %+v", it)
			}
		})

		t.Run("status moves forward only", func(t *testing.T) {
			id := reply(t, stopConv)
			if err := c.st.UpdateConversationMessage(ctx, c.h, id, store.RecipientUpdate{Status: steeple.RecipientSending}); err != nil {
				t.Fatal(err)
			}
			s.Clock.Add(time.Second)
			sentAt := s.Clock.Now()
			if err := c.st.UpdateConversationMessage(ctx, c.h, id, store.RecipientUpdate{Status: steeple.RecipientSent, ProviderID: "prov-fwd"}); err != nil {
				t.Fatal(err)
			}
			s.Clock.Add(time.Second)
			for _, st := range []steeple.RecipientStatus{steeple.RecipientQueued, steeple.RecipientSending, steeple.RecipientFailed, steeple.RecipientSent} {
				if err := c.st.UpdateConversationMessage(ctx, c.h, id, store.RecipientUpdate{Status: st, ProviderID: "prov-other",
					ErrorCode: "x"}); err != nil {
					t.Fatal(err)
				}
			}
			m, err := c.st.ConversationMessage(ctx, c.h, id)
			if err != nil {
				t.Fatal(err)
			}
			if m.Status != steeple.RecipientSent || m.ErrorCode != "" || m.SentAt == nil || m.SentAt.Sub(sentAt).Abs() >= time.Microsecond || m.FinishedAt != nil {
				t.Fatalf("after going back: %+v", m)
			}
			var prov string
			if err := c.h.QueryRowContext(ctx, `SELECT provider_id FROM conversation_messages WHERE id = $1`, id).Scan(&prov); err != nil || prov != "prov-fwd" {
				t.Fatalf("provider id %q, %v", prov, err)
			}
			// Inbound messages are never touched.
			in := c.text(t, "+13125000005", "hi")
			if err := c.st.UpdateConversationMessage(ctx, c.h, in.MessageID, store.RecipientUpdate{Status: steeple.RecipientSent}); err != nil {
				t.Fatal(err)
			}
			if m, _ := c.st.ConversationMessage(ctx, c.h, in.MessageID); m.Status != steeple.MessageReceived {
				t.Fatalf("inbound status %q", m.Status)
			}
			// A skipped message is finished.
			id2 := reply(t, stopConv)
			if err := c.st.UpdateConversationMessage(ctx, c.h, id2, store.RecipientUpdate{Status: steeple.RecipientSkipped, ErrorDetail: "opted out"}); err != nil {
				t.Fatal(err)
			}
			if err := c.st.UpdateConversationMessage(ctx, c.h, id2, store.RecipientUpdate{Status: steeple.RecipientSending}); err != nil {
				t.Fatal(err)
			}
			if m, _ := c.st.ConversationMessage(ctx, c.h, id2); m.Status != steeple.RecipientSkipped || m.FinishedAt == nil || m.ErrorDetail != "opted out" {
				t.Fatalf("skipped: %+v", m)
			}
		})
	})
}
