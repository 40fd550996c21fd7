package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
)

// A member's texts can be applied out of order (one on arrival, an
// earlier one from the queue): a STOP or START older, by the provider's
// receive time, than one applied already is stored but changes no consent
// and is not confirmed.
func TestKeywordsApplyInTheOrderSent(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c := openChurch(t, s)
		// START at 10:00:00 waited in the queue while the STOP sent at
		// 10:00:05 was applied on arrival; then a START at 10:00:09.
		const phone = "+13122000099"
		m := c.member(t, "Flo", phone, steeple.ConsentOptedIn)
		at := func(sec int) func(*store.InboundText) {
			return func(in *store.InboundText) {
				in.ReceivedUS = time.Date(2026, 12, 6, 10, 0, sec, 0, time.UTC).UnixMicro()
			}
		}
		stop := c.text(t, phone, "STOP", keyword(store.KeywordStop), at(5))
		if !stop.ConsentChanged {
			t.Fatalf("STOP: %+v", stop)
		}
		late := c.text(t, phone, "START", keyword(store.KeywordStart), at(0))
		if late.ConsentChanged || late.Duplicate {
			t.Fatalf("the earlier START applied late: %+v; want stored, no consent change", late)
		}
		if got := c.memberConsent(t, m.ID); got != steeple.ConsentOptedOut {
			t.Fatalf("after a late START Flo is %s; want opted out", got)
		}
		if cv := c.conv(t, stop.ConversationID); !cv.OptedOut {
			t.Fatalf("conversation after a late START: %+v", cv)
		}
		if ms := c.thread(t, stop.ConversationID); len(ms) != 2 {
			t.Fatalf("thread: %d texts; want both stored", len(ms))
		}
		if again := c.text(t, phone, "START", keyword(store.KeywordStart), at(9)); !again.ConsentChanged {
			t.Fatalf("a START after the STOP: %+v", again)
		}
		if got := c.memberConsent(t, m.ID); got != steeple.ConsentOptedIn {
			t.Fatalf("after a later START Flo is %s; want opted in", got)
		}
		// A STOP of 10:00:07 applied now changes nothing, and is not
		// confirmed: "you are unsubscribed" would be false.
		answer := &store.OutboundDraft{ID: steeple.NewID(), Body: "You are unsubscribed.", Purpose: store.KeywordStop,
			CreatedBy: store.CreatedBySystem}
		lateStop, err := c.textErr(phone, "STOP", answer, keyword(store.KeywordStop), at(7))
		if err != nil {
			t.Fatal(err)
		}
		if lateStop.ConsentChanged || !lateStop.AnswerSkipped {
			t.Fatalf("a late STOP: %+v; want no consent change, its answer skipped", lateStop)
		}
		if got := c.memberConsent(t, m.ID); got != steeple.ConsentOptedIn {
			t.Fatalf("after a late STOP Flo is %s; want opted in", got)
		}
		for _, msg := range c.thread(t, stop.ConversationID) {
			if msg.Direction == store.DirectionOutbound {
				t.Fatalf("an answer was stored for a late keyword: %+v", msg)
			}
		}
	})
}

func (c *church) memberConsent(t *testing.T, id string) string {
	t.Helper()
	m, err := c.st.Member(context.Background(), c.h, id)
	if err != nil {
		t.Fatal(err)
	}
	return m.Consent.Status
}
