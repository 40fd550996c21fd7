package inbox_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/inbox"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/members"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
)

const churchNumber = "+13125550100"

// payload is an inbound text to the church's number.
func payload(id, from, text, autoresponse string) *telnyx.MessagePayload {
	return &telnyx.MessagePayload{ID: id, Direction: "inbound", From: telnyx.Endpoint{PhoneNumber: from},
		To: []telnyx.Recipient{{PhoneNumber: churchNumber}}, Text: text, AutoresponseType: autoresponse}
}

func TestServiceApplyInbound(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true}) // the provider confirms STOP and START
		ctx := context.Background()
		tenantID := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"}).ID
		h, err := s.Tenancy.Manager.Acquire(ctx, tenantID)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Release()
		own := s.Another(t, "", func(tu *app.Tuning) { tu.Inbox.ProviderConfirmsKeywords = false }).Inbox

		n := 0
		apply := func(t *testing.T, svc *inbox.Service, from, text, autoresponse string) *store.InboundResult {
			t.Helper()
			n++
			s.Clock.Add(time.Second)
			res, err := svc.ApplyInbound(ctx, h, payload(fmt.Sprintf("msg-%d", n), from, text, autoresponse))
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		// answers returns the automatic answers in a conversation, oldest first.
		answers := func(t *testing.T, convID string) []*store.ConversationMessage {
			t.Helper()
			ms, _, err := s.Store.Thread(ctx, h, convID, "", 100)
			if err != nil {
				t.Fatal(err)
			}
			var out []*store.ConversationMessage
			for i := len(ms) - 1; i >= 0; i-- {
				if ms[i].Direction == store.DirectionOutbound {
					if ms[i].CreatedBy != store.CreatedBySystem || ms[i].Status != steeple.RecipientQueued {
						t.Fatalf("answer %+v", ms[i])
					}
					out = append(out, ms[i])
				}
			}
			return out
		}
		consent := func(t *testing.T, id string) steeple.Consent {
			t.Helper()
			m, err := s.Store.Member(ctx, h, id)
			if err != nil {
				t.Fatal(err)
			}
			return m.Consent
		}
		noIntents := func(t *testing.T) {
			t.Helper()
			ins, err := s.Tenancy.Registry.StaleDispatchIntents(ctx, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range ins {
				if in.TenantID == tenantID {
					t.Fatalf("dispatch intent left behind: %+v", in)
				}
			}
		}

		t.Run("HELP answers with the church's contact", func(t *testing.T) {
			res := apply(t, s.Inbox, "+13122000001", "help", telnyx.AutoresponseHelp)
			as := answers(t, res.ConversationID)
			want := "Grace Chapel: Reply to this text to reach us. Msg & data rates may apply. Reply STOP to opt out."
			if len(as) != 1 || as[0].Body != want || as[0].Purpose != store.KeywordHelp {
				t.Fatalf("answers %+v; want one %q", as, want)
			}
			noIntents(t)

			if _, err := s.Members.UpdateSettings(ctx, h, members.SettingsUpdate{HelpContact: ptr("  Call the office:   312-555-0100. ")}); err != nil {
				t.Fatal(err)
			}
			apply(t, s.Inbox, "+13122000001", "INFO", "")
			as = answers(t, res.ConversationID)
			want = "Grace Chapel: Call the office: 312-555-0100. Msg & data rates may apply. Reply STOP to opt out."
			if len(as) != 2 || as[1].Body != want {
				t.Fatalf("second answer %q; want %q", as[len(as)-1].Body, want)
			}
		})

		t.Run("STOP the provider confirmed is not confirmed again", func(t *testing.T) {
			m, err := s.Store.CreateMember(ctx, h, store.MemberInput{FirstName: "Ann", Phone: "+13122000002"},
				steeple.Consent{Status: steeple.ConsentOptedIn, Source: steeple.ConsentSourceAdmin})
			if err != nil {
				t.Fatal(err)
			}
			res := apply(t, s.Inbox, "+13122000002", " Stop ", telnyx.AutoresponseStop)
			if res.MemberID != m.ID || !res.ConsentChanged {
				t.Fatalf("%+v", res)
			}
			if c := consent(t, m.ID); c.Status != steeple.ConsentOptedOut || c.Source != steeple.ConsentSourceKeyword || c.Wording != "Stop" {
				t.Fatalf("consent %+v", c)
			}
			if as := answers(t, res.ConversationID); len(as) != 0 {
				t.Fatalf("answered a STOP the provider confirmed: %+v", as[0])
			}
			// YES is no keyword to the provider: Steeple confirms it.
			res = apply(t, s.Inbox, "+13122000002", "yes", "")
			if c := consent(t, m.ID); c.Status != steeple.ConsentOptedIn || c.Source != steeple.ConsentSourceKeyword {
				t.Fatalf("consent after YES %+v", c)
			}
			as := answers(t, res.ConversationID)
			if len(as) != 1 || as[0].Purpose != store.KeywordStart || !strings.Contains(as[0].Body, "subscribed again") {
				t.Fatalf("answers %+v", as)
			}
			// A STOP the provider did not act on is confirmed by Steeple.
			apply(t, s.Inbox, "+13122000002", "END", "")
			as = answers(t, res.ConversationID)
			if len(as) != 2 || as[1].Purpose != store.KeywordStop || !strings.HasPrefix(as[1].Body, "Grace Chapel: you are unsubscribed") {
				t.Fatalf("answers %+v", as)
			}
			if c := consent(t, m.ID); c.Status != steeple.ConsentOptedOut {
				t.Fatalf("consent after END %+v", c)
			}
			noIntents(t)
		})

		t.Run("without provider confirmations every STOP and START is answered", func(t *testing.T) {
			res := apply(t, own, "+13122000003", "STOP", telnyx.AutoresponseStop)
			if cv, _ := s.Store.Conversation(ctx, h, res.ConversationID); cv == nil || !cv.OptedOut {
				t.Fatalf("%+v", cv)
			}
			apply(t, own, "+13122000003", "START", telnyx.AutoresponseStart)
			as := answers(t, res.ConversationID)
			if len(as) != 2 || as[0].Purpose != store.KeywordStop || as[1].Purpose != store.KeywordStart {
				t.Fatalf("answers %+v", as)
			}
			// The STOP answer goes to the contact who just opted out.
			it, err := s.Store.ReplyTarget(ctx, h, as[0].ID)
			if err != nil || it.Phone != "+13122000003" || it.ChurchNumber != churchNumber {
				t.Fatalf("%+v, %v", it, err)
			}
		})

		t.Run("a text asking to stop gets one clarification per flag", func(t *testing.T) {
			res := apply(t, own, "+13122000004", "Please stop texting me", "")
			cv, _ := s.Store.Conversation(ctx, h, res.ConversationID)
			if !cv.Flagged || cv.OptedOut {
				t.Fatalf("%+v", cv)
			}
			apply(t, own, "+13122000004", "See you Sunday", "")
			apply(t, own, "+13122000004", "I said stop texting me", "")
			as := answers(t, res.ConversationID)
			if len(as) != 1 || as[0].Purpose != store.PurposeClarify || as[0].Body != "Reply STOP to stop all texts from Grace Chapel." {
				t.Fatalf("answers %+v; want one clarification", as)
			}
			// Dismissed, the flag starts over: a new request gets one again.
			if err := s.Store.DismissFlag(ctx, h, res.ConversationID); err != nil {
				t.Fatal(err)
			}
			if cv, _ := s.Store.Conversation(ctx, h, res.ConversationID); cv.Flagged {
				t.Fatalf("flag not cleared: %+v", cv)
			}
			apply(t, own, "+13122000004", "no more texts please", "")
			if as := answers(t, res.ConversationID); len(as) != 2 {
				t.Fatalf("answers after a new flag: %d; want 2", len(as))
			}
			// Never to a phone that opted out.
			apply(t, own, "+13122000004", "STOP", "")
			before := len(answers(t, res.ConversationID))
			apply(t, own, "+13122000004", "please stop texting me", "")
			if as := answers(t, res.ConversationID); len(as) != before {
				t.Fatalf("a clarification went to an opted-out phone: %+v", as[len(as)-1])
			}
			// Ordinary texts get nothing.
			other := apply(t, own, "+13122000009", "See you Sunday", "")
			if as := answers(t, other.ConversationID); len(as) != 0 {
				t.Fatalf("answers %+v", as)
			}
		})

		t.Run("a redelivered text changes nothing", func(t *testing.T) {
			p := payload("redelivered", "+13122000005", "HELP", telnyx.AutoresponseHelp)
			first, err := s.Inbox.ApplyInbound(ctx, h, p)
			if err != nil || first.Duplicate {
				t.Fatalf("%+v, %v", first, err)
			}
			s.Clock.Add(time.Minute)
			again, err := s.Inbox.ApplyInbound(ctx, h, p)
			if err != nil || !again.Duplicate {
				t.Fatalf("%+v, %v", again, err)
			}
			ms, _, _ := s.Store.Thread(ctx, h, first.ConversationID, "", 10)
			if len(ms) != 2 {
				t.Fatalf("%d messages after a redelivery; want the text and one answer", len(ms))
			}
		})

		t.Run("MMS", func(t *testing.T) {
			p := payload("mms-1", "+13122000006", "", "")
			p.Type = telnyx.TypeMMS
			p.Media = []telnyx.Media{{URL: "https://media.example.net/1.jpg", ContentType: "image/jpeg", Size: 2048, HashSHA256: "ab"}}
			res, err := s.Inbox.ApplyInbound(ctx, h, p)
			if err != nil {
				t.Fatal(err)
			}
			m, err := s.Store.ConversationMessage(ctx, h, res.MessageID)
			if err != nil || len(m.Media) != 1 || m.Media[0] != (store.Media{URL: "https://media.example.net/1.jpg", ContentType: "image/jpeg", Size: 2048}) {
				t.Fatalf("%+v, %v", m, err)
			}
		})

		t.Run("payloads without id, sender or number are refused", func(t *testing.T) {
			for _, p := range []*telnyx.MessagePayload{
				payload("", "+13122000007", "hi", ""),
				payload("x1", "", "hi", ""),
				{ID: "x2", From: telnyx.Endpoint{PhoneNumber: "+13122000007"}, Text: "hi"},
			} {
				_, err := s.Inbox.ApplyInbound(ctx, h, p)
				if steeple.ErrorCode(err) != steeple.EINVALID {
					t.Errorf("%+v: %v; want EINVALID", p, err)
				}
			}
			var n int
			if err := h.QueryRowContext(ctx, `SELECT COUNT(*) FROM conversations WHERE last_inbound_us > 0 AND status = 'open'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			cs, _, err := s.Inbox.List(ctx, h, inbox.ListQuery{Limit: 100})
			if err != nil || len(cs) != n {
				t.Fatalf("List: %d, %v; want %d", len(cs), err, n)
			}
			_, _, err = s.Inbox.List(ctx, h, inbox.ListQuery{Filter: "archived", Limit: 10})
			if steeple.ErrorCode(err) != steeple.EINVALID {
				t.Fatalf("List(archived): %v", err)
			}
		})
	})
}

func ptr[T any](v T) *T { return &v }
