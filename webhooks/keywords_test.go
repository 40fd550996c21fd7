package webhooks_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/inbox"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/webhooks"
)

// wantConsent checks a member's consent status and source, as stored.
func wantConsent(t *testing.T, s *testkit.Server, c *testkit.Church, memberID, status, source string) {
	t.Helper()
	m := s.Member(t, c.ID, memberID)
	if m.Consent.Status != status || m.Consent.Source != source {
		t.Fatalf("%s's consent: %+v; want %s by %s", m.FirstName, m.Consent, status, source)
	}
}

// textAndWait has the simulator deliver a text and waits until the thread
// holds it; it returns the thread and the stored inbound text.
func textAndWait(t *testing.T, s *testkit.Server, c *testkit.Church, from, text string) (*testkit.Thread, store.ConversationMessage) {
	t.Helper()
	before := 0
	for _, cv := range c.API(s).Conversations(t, "") {
		if cv.Phone == from {
			before = len(c.API(s).Thread(t, cv.ID).Only(store.DirectionInbound))
		}
	}
	inbound(t, s, from, c.Number, text)
	var th *testkit.Thread
	testkit.Eventually(t, 15*time.Second, func() string {
		th = waitConversationWith(t, s, c, from, 1)
		if n := len(th.Only(store.DirectionInbound)); n != before+1 {
			return fmt.Sprintf("%d inbound texts from %s; want %d", n, from, before+1)
		}
		return ""
	})
	th = c.API(s).Thread(t, th.ID) // see waitConversationWith
	for _, m := range th.Only(store.DirectionInbound) {
		if m.Body == text {
			return th, m
		}
	}
	t.Fatalf("%q not in the thread: %+v", text, th.Messages)
	return nil, store.ConversationMessage{}
}

// waitAnswers waits until a thread holds n automatic answers, all
// delivered, and returns them.
func waitAnswers(t *testing.T, s *testkit.Server, c *testkit.Church, convID string, n int) []store.ConversationMessage {
	t.Helper()
	var out []store.ConversationMessage
	testkit.Eventually(t, 15*time.Second, func() string {
		out = c.API(s).Thread(t, convID).Only(store.DirectionOutbound)
		if len(out) != n {
			return fmt.Sprintf("%d answers in the thread; want %d: %+v", len(out), n, out)
		}
		for _, m := range out {
			if m.Status != steeple.RecipientDelivered {
				return fmt.Sprintf("answer %q is %s", m.Body, m.Status)
			}
		}
		return ""
	})
	return out
}

// noQuietHours turns the church's quiet hours off: a welcome text waits
// for them otherwise, and whether it does would depend on the time of day
// the test runs.
func noQuietHours(t *testing.T, s *testkit.Server, c *testkit.Church) {
	t.Helper()
	body := map[string]any{"quiet_hours_start": "00:00", "quiet_hours_end": "00:00"}
	if r := s.Do(t, "PUT", "/api/v1/settings", c.Token, body); r.Status != http.StatusOK {
		t.Fatalf("settings: %d %s", r.Status, r.Raw)
	}
}

// wantAnswer checks that a conversation holds exactly one automatic
// answer with this purpose, delivered, naming the church and STOP, and that
// it reached phone from the church's number.
func wantAnswer(t *testing.T, s *testkit.Server, c *testkit.Church, convID, phone, purpose string) {
	t.Helper()
	var got []store.ConversationMessage
	testkit.Eventually(t, 15*time.Second, func() string {
		got = got[:0]
		for _, m := range c.API(s).Thread(t, convID).Only(store.DirectionOutbound) {
			if m.Purpose == purpose {
				got = append(got, m)
			}
		}
		if len(got) != 1 || got[0].Status != steeple.RecipientDelivered {
			return fmt.Sprintf("%q answers to %s: %+v; want one, delivered", purpose, phone, got)
		}
		return ""
	})
	a := got[0]
	if !strings.Contains(a.Body, c.Name) || !strings.Contains(a.Body, "STOP") {
		t.Fatalf("%q answer %q; want it to name %s and STOP", purpose, a.Body, c.Name)
	}
	for _, m := range s.SentTo(phone) {
		if m.Text == a.Body && m.From == c.Number {
			return
		}
	}
	t.Fatalf("the %q answer %q did not reach %s from %s: %+v", purpose, a.Body, phone, c.Number, s.SentTo(phone))
}

// STOP, START, YES, HELP and look-alikes, with the provider confirming STOP
// and START itself (Telnyx's default, and the simulator's).
func TestKeywords(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100"})
		const contact = "Call Pastor Jo at 312-555-0142 or write to office@grace.example.org"
		if r := s.Do(t, "PUT", "/api/v1/settings", c.Token, map[string]any{"help_contact": contact}); r.Status != http.StatusOK {
			t.Fatalf("settings: %d %s", r.Status, r.Raw)
		}
		ann := s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Ann", Phone: testkit.Phone(1), OptedIn: true})
		ben := s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Ben", Phone: testkit.Phone(2), OptedIn: true})
		cy := s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Cy", Phone: testkit.Phone(3), OptedIn: false}) // never agreed: opted out

		// STOP: opted out by keyword; the provider confirmed it, Steeple does not.
		th, in := textAndWait(t, s, c, testkit.Phone(1), "STOP")
		if in.Keyword != store.KeywordStop || len(th.Only(store.DirectionOutbound)) != 0 {
			t.Fatalf("after STOP: text %+v, thread %+v; want keyword stop and no answer from Steeple", in, th.Messages)
		}
		wantConsent(t, s, c, ann, steeple.ConsentOptedOut, steeple.ConsentSourceKeyword)

		// A broadcast to everyone skips Ann.
		first := c.API(s).BroadcastAll(t, "Choir practice moved to Thursday")
		v := waitRecipient(t, s, c, first, ben, steeple.RecipientDelivered)
		if r := v.Recipient(ann); r != nil && r.Status != steeple.RecipientSkipped {
			t.Fatalf("Ann after STOP is a recipient: %+v", r)
		}
		if v.Recipient(cy) != nil || v.Message.Counts["delivered"] != 1 {
			t.Fatalf("first broadcast: %+v %+v; want only Ben", v.Message.Counts, v.Recipients)
		}
		if n := s.Sim.CountTo(testkit.Phone(1)); n != 0 {
			t.Fatalf("Ann got %d texts after STOP; want 0", n)
		}

		// START (any case, any spaces) opts her back in, again without an
		// answer from Steeple (the provider confirmed it); YES does the same
		// for Cy, whose opt-in the provider knows nothing of, so Steeple
		// confirms it. (Welcome texts are off here: with them on, the welcome
		// text is the one answer, see TestKeywordConfirmationsBySteeple.)
		th, in = textAndWait(t, s, c, testkit.Phone(1), "  sTaRt \n")
		if in.Keyword != store.KeywordStart || len(th.Only(store.DirectionOutbound)) != 0 {
			t.Fatalf("after START: text %+v, thread %+v; want keyword start and no answer from Steeple", in, th.Messages)
		}
		wantConsent(t, s, c, ann, steeple.ConsentOptedIn, steeple.ConsentSourceKeyword)
		th, in = textAndWait(t, s, c, testkit.Phone(3), "Yes")
		if in.Keyword != store.KeywordStart {
			t.Fatalf("YES stored as %+v; want keyword start", in)
		}
		wantConsent(t, s, c, cy, steeple.ConsentOptedIn, steeple.ConsentSourceKeyword)
		wantAnswer(t, s, c, th.ID, testkit.Phone(3), store.KeywordStart)
		if n := s.Sim.CountTo(testkit.Phone(3)); n != 1 {
			t.Fatalf("Cy got %d texts; want only the answer to YES", n)
		}

		// The next broadcast includes both.
		second := c.API(s).BroadcastAll(t, "Potluck on Sunday")
		waitRecipient(t, s, c, second, ann, steeple.RecipientDelivered)
		v = waitRecipient(t, s, c, second, cy, steeple.RecipientDelivered)
		if v.Message.Recipients != 3 {
			t.Fatalf("second broadcast has %d recipients; want Ann, Ben and Cy", v.Message.Recipients)
		}
		if n := s.Sim.CountTo(testkit.Phone(1)); n != 1 {
			t.Fatalf("Ann got %d texts; want the second broadcast only", n)
		}

		// HELP and INFO: the church's name and its help contact.
		th, in = textAndWait(t, s, c, testkit.Phone(2), "help")
		answers := waitAnswers(t, s, c, th.ID, 1)
		if in.Keyword != store.KeywordHelp || answers[0].Purpose != store.KeywordHelp ||
			!strings.Contains(answers[0].Body, "Grace Chapel") || !strings.Contains(answers[0].Body, contact) {
			t.Fatalf("answer to HELP: %+v; want the church name and %q", answers[0], contact)
		}
		helpText := answers[0].Body
		testkit.Eventually(t, 5*time.Second, func() string {
			for _, m := range s.SentTo(testkit.Phone(2)) {
				if m.Text == helpText && m.From == c.Number {
					return ""
				}
			}
			return "the HELP answer has not reached Ben"
		})
		th, _ = textAndWait(t, s, c, testkit.Phone(3), "INFO")
		answers = waitAnswers(t, s, c, th.ID, 2) // the answer to YES, then this one
		infoAnswered := false
		for _, a := range answers {
			infoAnswered = infoAnswered || (a.Purpose == store.KeywordHelp && a.Body == helpText)
		}
		if !infoAnswered {
			t.Fatalf("answers to Cy: %+v; want the HELP answer for INFO", answers)
		}

		// Looks like an opt-out, is not one: flagged for an admin, consent kept.
		th, in = textAndWait(t, s, c, testkit.Phone(2), "please stop texting me")
		if in.Keyword != "" || in.Flag != store.FlagPossibleOptOut || !th.Flagged {
			t.Fatalf("look-alike: text %+v, conversation flagged %v; want flag %s on both", in, th.Flagged, store.FlagPossibleOptOut)
		}
		wantConsent(t, s, c, ben, steeple.ConsentOptedIn, steeple.ConsentSourceAdmin)
		// Ben gets one clarification (how to stop for sure), besides the
		// HELP answer; it waits for the end of quiet hours if the test runs
		// in them, so it is not waited for here.
		answers = c.API(s).Thread(t, th.ID).Only(store.DirectionOutbound)
		if len(answers) != 2 || answers[0].Purpose != store.PurposeClarify || answers[0].Body != inbox.ClarifyText("Grace Chapel") {
			t.Fatalf("Ben's answers %+v; want the clarification, then the HELP one", answers)
		}

		// An unknown contact texting STOP: the conversation is opted out, and
		// turning the contact into a member keeps the member opted out.
		th, in = textAndWait(t, s, c, testkit.Phone(9), "Stop")
		if th.Member != nil || !th.OptedOut || in.Keyword != store.KeywordStop {
			t.Fatalf("unknown contact after STOP: %+v; want no member, opted out", th.Conversation)
		}
		r := s.Do(t, "POST", "/api/v1/conversations/"+th.ID+"/member", c.Token, map[string]any{"first_name": "Dana",
			"consent": map[string]any{"opted_in": true, "wording": "Yes, text me"}})
		if r.Status != http.StatusCreated {
			t.Fatalf("member from conversation: %d %s", r.Status, r.Raw)
		}
		var dana steeple.Member
		testkit.DecodeJSON(t, r.Raw, &dana)
		if dana.Phone != testkit.Phone(9) || dana.Consent.Status != steeple.ConsentOptedOut {
			t.Fatalf("member from a contact who texted STOP: %+v; want %s, opted out", dana, testkit.Phone(9))
		}
		wantConsent(t, s, c, dana.ID, steeple.ConsentOptedOut, steeple.ConsentSourceKeyword)
		if th = c.API(s).Thread(t, th.ID); th.Member == nil || th.Member.ID != dana.ID || th.Member.ConsentStatus != steeple.ConsentOptedOut {
			t.Fatalf("conversation after adding the member: %+v", th.Conversation)
		}
		third := c.API(s).BroadcastAll(t, "Last call for the potluck")
		v = waitRecipient(t, s, c, third, ben, steeple.RecipientDelivered)
		if r := v.Recipient(dana.ID); r != nil || s.Sim.CountTo(testkit.Phone(9)) != 0 {
			t.Fatalf("Dana (opted out) in a broadcast: %+v, texts %d", r, s.Sim.CountTo(testkit.Phone(9)))
		}
		if got := metric(t, s, telnyx.EventMessageReceived, webhooks.OutcomeApplied); got != 7 {
			t.Fatalf("%v texts applied; want 7", got)
		}
	})
}

// With ProviderConfirmsKeywords off (a provider that neither blocks nor
// answers keywords), Steeple sends exactly one confirmation for STOP and
// one for START, and nothing else to the member in between. Welcome texts
// are on, as in production: the answer to START is the welcome text,
// instead of a START confirmation, not as well as one.
func TestKeywordConfirmationsBySteeple(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Welcome: true,
			Inbox: func(c *inbox.Config) { c.ProviderConfirmsKeywords = false }})
		s.Sim.SetKeywordHandling(false)
		c := s.Church(t, testkit.ChurchOptions{Name: "Hope Fellowship", Number: "+13125550200"})
		noQuietHours(t, s, c)
		dee := s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Dee", Phone: testkit.Phone(4), OptedIn: true})
		eve := s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Eve", Phone: testkit.Phone(5), OptedIn: true})

		th, _ := textAndWait(t, s, c, testkit.Phone(4), "stop")
		answers := waitAnswers(t, s, c, th.ID, 1)
		if answers[0].Purpose != store.KeywordStop || !strings.Contains(answers[0].Body, "Hope Fellowship") ||
			!strings.Contains(answers[0].Body, "unsubscribed") {
			t.Fatalf("STOP confirmation: %+v", answers[0])
		}
		if got := s.SentTo(testkit.Phone(4)); len(got) != 1 || got[0].Text != answers[0].Body {
			t.Fatalf("texts to Dee after STOP: %+v; want exactly the confirmation", got)
		}
		wantConsent(t, s, c, dee, steeple.ConsentOptedOut, steeple.ConsentSourceKeyword)
		// HELP is answered although Dee opted out.
		textAndWait(t, s, c, testkit.Phone(4), "help")
		answers = waitAnswers(t, s, c, th.ID, 2)
		if answers[0].Purpose != store.KeywordHelp && answers[1].Purpose != store.KeywordHelp {
			t.Fatalf("answers after HELP from an opted-out member: %+v; want a HELP answer", answers)
		}
		if n := s.Sim.CountTo(testkit.Phone(4)); n != 2 {
			t.Fatalf("Dee got %d texts; want the STOP confirmation and the HELP answer", n)
		}
		wantConsent(t, s, c, dee, steeple.ConsentOptedOut, steeple.ConsentSourceKeyword)

		id := c.API(s).BroadcastAll(t, "Youth group tonight")
		v := waitRecipient(t, s, c, id, eve, steeple.RecipientDelivered)
		if r := v.Recipient(dee); r != nil && r.Status != steeple.RecipientSkipped {
			t.Fatalf("Dee after STOP in a broadcast: %+v", r)
		}
		if n := s.Sim.CountTo(testkit.Phone(4)); n != 2 {
			t.Fatalf("Dee got %d texts; want only the STOP confirmation and the HELP answer", n)
		}

		th, _ = textAndWait(t, s, c, testkit.Phone(4), "UNSTOP")
		// The welcome text answers START (purpose start: never held by the daily cap).
		wantAnswer(t, s, c, th.ID, testkit.Phone(4), store.KeywordStart)
		welcomed := 0
		for _, m := range c.API(s).Thread(t, th.ID).Only(store.DirectionOutbound) {
			if m.Purpose == store.KeywordStart && strings.Contains(m.Body, "Welcome to Hope Fellowship") {
				welcomed++
			}
		}
		if welcomed != 1 {
			t.Fatalf("%d welcome texts answer UNSTOP; want 1", welcomed)
		}
		if n := len(c.API(s).Thread(t, th.ID).Only(store.DirectionOutbound)); n != 3 {
			t.Fatalf("Dee's thread has %d answers; want the STOP confirmation, the HELP answer and the welcome text", n)
		}
		if n := s.Sim.CountTo(testkit.Phone(4)); n != 3 {
			t.Fatalf("after UNSTOP Dee got %d texts in all; want the two confirmations and the HELP answer", n)
		}
		wantConsent(t, s, c, dee, steeple.ConsentOptedIn, steeple.ConsentSourceKeyword)
		if got := s.Sim.CountTo(testkit.Phone(5)); got != 1 {
			t.Fatalf("Eve got %d texts; want the broadcast only", got)
		}
	})
}

// A phone that texted STOP stays out of every later send whichever way it
// becomes a member's phone: created by an admin or from the conversation
// (TestKeywords), imported from a spreadsheet, or given to an existing
// member. The provider's own block is off, so Steeple alone must hold it.
func TestTextedStopHoldsForImportAndPhoneChange(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		s.Sim.SetKeywordHandling(false)
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100"})
		eve := s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Eve", Phone: testkit.Phone(5), OptedIn: true})
		for _, p := range []string{testkit.Phone(8), testkit.Phone(9)} {
			if th, _ := textAndWait(t, s, c, p, "STOP"); !th.OptedOut {
				t.Fatalf("%s texted STOP: %+v", p, th.Conversation)
			}
		}
		// Phone(8) arrives in a spreadsheet of people who agreed to texts.
		q := url.Values{"consent": {"opted_in"}, "wording": {"Text JOIN to receive church news"}}
		req, err := http.NewRequest("POST", s.URL+"/api/v1/members/import?"+q.Encode(),
			strings.NewReader("First Name,Last Name,Mobile Phone Number\nDana,Doe,"+testkit.Phone(8)+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/csv")
		req.Header.Set("Authorization", "Bearer "+c.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("import: %d", resp.StatusCode)
		}
		// Eve's phone is changed to Phone(9).
		if r := s.Do(t, "PUT", "/api/v1/members/"+eve, c.Token, map[string]any{"first_name": "Eve", "last_name": "Tester",
			"phone": testkit.Phone(9)}); r.Status != http.StatusOK {
			t.Fatalf("update Eve: %d %s", r.Status, r.Raw)
		}
		ben := s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Ben", Phone: testkit.Phone(2), OptedIn: true})
		id := c.API(s).BroadcastAll(t, "Potluck on Sunday")
		v := waitRecipient(t, s, c, id, ben, steeple.RecipientDelivered)
		for _, p := range []string{testkit.Phone(8), testkit.Phone(9)} {
			for _, m := range s.SentTo(p) {
				if m.Text == "Potluck on Sunday" {
					t.Errorf("%s texted STOP and still got the broadcast (recipients %+v)", p, v.Recipients)
				}
			}
		}
	})
}
