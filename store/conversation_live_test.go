package store_test

import (
	"context"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
)

// The inbox's and a thread's version tokens change with every change a
// page shows, even when the clock stands still, and not otherwise.
func TestConversationVersions(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c := openChurch(t, s)
		ctx := context.Background()
		inboxV := func() string {
			v, err := c.st.InboxVersion(ctx, c.h)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		empty := inboxV()
		res := c.text(t, "+13124100001", "hello")
		id := res.ConversationID
		threadV := func() string {
			v, err := c.st.ThreadVersion(ctx, c.h, id)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		i1, t1 := inboxV(), threadV()
		if i1 == empty {
			t.Fatal("a new conversation left the inbox's version as it was")
		}
		if i, th := inboxV(), threadV(); i != i1 || th != t1 {
			t.Fatalf("versions moved with nothing changed: %q %q", i, th)
		}
		c.s.Clock.Set(c.s.Clock.Now()) // from here the clock stands still
		steps := []struct {
			name string
			do   func() error
		}{
			{"read", func() error { return c.st.MarkConversationRead(ctx, c.h, id) }},
			{"closed", func() error { return c.st.SetConversationStatus(ctx, c.h, id, steeple.ConversationClosed) }},
			{"reopened", func() error { return c.st.SetConversationStatus(ctx, c.h, id, steeple.ConversationOpen) }},
			{"assigned", func() error { return c.st.AssignConversation(ctx, c.h, id, c.adminID) }},
			{"reply", func() error {
				_, err := c.st.CreateReply(ctx, c.h, id, store.OutboundDraft{ID: steeple.NewID(), Body: "hi", Purpose: store.PurposeReply, CreatedBy: c.adminID})
				return err
			}},
		}
		prevI, prevT := inboxV(), threadV()
		var replyID string
		for _, st := range steps {
			if err := st.do(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			i, th := inboxV(), threadV()
			if th == prevT {
				t.Fatalf("%s left the thread's version as it was", st.name)
			}
			if st.name != "reply" && i == prevI {
				t.Fatalf("%s left the inbox's version as it was", st.name)
			}
			prevI, prevT = i, th
		}
		ms := c.thread(t, id)
		for _, m := range ms {
			if m.Direction == store.DirectionOutbound {
				replyID = m.ID
			}
		}
		// A delivery update, at the same instant, moves the thread's version.
		if err := c.st.UpdateConversationMessage(ctx, c.h, replyID, store.RecipientUpdate{Status: steeple.RecipientSent, ProviderID: "p-1"}); err != nil {
			t.Fatal(err)
		}
		if threadV() == prevT {
			t.Fatal("a delivery update left the thread's version as it was")
		}
		// Another church's id is not found.
		other := openChurch(t, s)
		if _, err := other.st.ThreadVersion(ctx, other.h, id); steeple.ErrorCode(err) != steeple.ENOTFOUND {
			t.Fatalf("another church's thread: %v", err)
		}
	})
}
