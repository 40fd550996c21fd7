package webhooks_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/inbox"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
)

// keywordAnswers waits until the phone's thread holds n answers with purpose.
func wantError(t *testing.T, r *testkit.Response, status int, code string) {
	t.Helper()
	var e testkit.ErrorAnswer
	if r.Status != status {
		t.Fatalf("status %d; want %d: %s", r.Status, status, r.Raw)
	}
	if r.Decode(t, &e); e.Error.Code != code {
		t.Fatalf("code %q; want %q: %s", e.Error.Code, code, r.Raw)
	}
}

func keywordAnswers(t *testing.T, s *testkit.Server, c *testkit.Church, phone, purpose string, n int) []store.ConversationMessage {
	t.Helper()
	var got []store.ConversationMessage
	testkit.Eventually(t, 15*time.Second, func() string {
		th := waitConversationWith(t, s, c, phone, 1)
		got = got[:0]
		for _, m := range c.API(s).Thread(t, th.ID).Only(store.DirectionOutbound) {
			if m.Purpose == purpose {
				got = append(got, m)
			}
		}
		if len(got) != n {
			return fmt.Sprintf("%d %q answers to %s; want %d", len(got), purpose, phone, n)
		}
		return ""
	})
	return got
}

// Text-to-join: a keyword joins the sender to its group with their own
// consent, a connect card asks a new sender's name, an opted-out phone is
// brought back only by a keyword that is a clear opt-in, and reserved or
// look-alike words are refused.
func TestTextToJoin(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100", QuietHoursOff: true})
		api := c.API(s)
		var youth steeple.Group
		api.Call(t, "POST", "/api/v1/groups", map[string]any{"name": "Youth"}, http.StatusCreated, &youth)
		var connect steeple.Keyword
		api.Call(t, "POST", "/api/v1/keywords", map[string]any{"word": "Connect", "group_id": youth.ID,
			"reply": "Welcome to youth group!", "connect_card": true}, http.StatusCreated, &connect)
		if connect.Word != "CONNECT" || connect.GroupName != "Youth" {
			t.Fatalf("keyword: %+v", connect)
		}

		for word, status := range map[string]int{"Stop": 400, " stop all ": 400, "Opt-Out": 400, "Ayuda": 400, "yes": 400,
			"": 400, "connect": 409, "Cónnect!": 409} {
			r := s.Do(t, "POST", "/api/v1/keywords", c.Token, map[string]any{"word": word})
			if r.Status != status {
				t.Fatalf("keyword %q: %d %s; want %d", word, r.Status, r.Raw, status)
			}
		}
		wantError(t, s.Do(t, "POST", "/api/v1/keywords", c.Token, map[string]any{"word": "CHOIR", "group_id": steeple.NewID()}),
			http.StatusNotFound, "not_found")

		// An unknown phone texts the keyword, with punctuation and an emoji.
		visitor := testkit.Phone(7)
		inbound(t, s, visitor, c.Number, " connect! 🙏")
		ans := keywordAnswers(t, s, c, visitor, store.KeywordJoin, 1)[0]
		want := inbox.JoinAnswer("Grace Chapel", &connect, true, false, true)
		if ans.Body != want || !strings.Contains(want, "Msg & data rates may apply") || !strings.Contains(want, "STOP") {
			t.Fatalf("answer %q; want %q", ans.Body, want)
		}
		th := waitConversationWith(t, s, c, visitor, 1)
		if th.Member == nil {
			t.Fatalf("the visitor's conversation names no member: %+v", th.Conversation)
		}
		visitorID := th.Member.ID
		m := api.GetMember(t, visitorID)
		if m.Consent.Status != steeple.ConsentOptedIn || m.Consent.Source != steeple.ConsentSourceKeyword ||
			m.Consent.Wording != "texted CONNECT to join" || len(m.Groups) != 1 || m.Groups[0].ID != youth.ID {
			t.Fatalf("the visitor as a member: %+v", m)
		}

		// The connect card: the next text is their name.
		inbound(t, s, visitor, c.Number, "Ana María López")
		keywordAnswers(t, s, c, visitor, store.KeywordName, 1)
		if m = api.GetMember(t, visitorID); m.FirstName != "Ana" || m.LastName != "María López" {
			t.Fatalf("name from the connect card: %q %q", m.FirstName, m.LastName)
		}
		// Only once: a later text is just a text.
		textAndWait(t, s, c, visitor, "See you Sunday")
		if m = api.GetMember(t, visitorID); m.FirstName != "Ana" {
			t.Fatalf("a later text renamed the member: %+v", m)
		}

		// A member already opted in joins without the opt-in notice.
		ben := s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Ben", Phone: testkit.Phone(2), OptedIn: true})
		inbound(t, s, testkit.Phone(2), c.Number, "CONNECT")
		if a := keywordAnswers(t, s, c, testkit.Phone(2), store.KeywordJoin, 1)[0]; a.Body != "Grace Chapel: Welcome to youth group!" {
			t.Fatalf("answer to a member: %q", a.Body)
		}
		if g := api.GetMember(t, ben).Groups; len(g) != 1 {
			t.Fatalf("Ben's groups: %+v", g)
		}

		// After STOP, CONNECT joins nothing to texting: no answer, still opted out.
		cy := s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Cy", Phone: testkit.Phone(3), OptedIn: true})
		textAndWait(t, s, c, testkit.Phone(3), "STOP")
		textAndWait(t, s, c, testkit.Phone(3), "connect")
		time.Sleep(500 * time.Millisecond) // an answer would be queued by now
		if n := len(keywordAnswers(t, s, c, testkit.Phone(3), store.KeywordJoin, 0)); n != 0 || s.Sim.CountTo(testkit.Phone(3)) != 0 {
			t.Fatalf("a phone that texted STOP got %d keyword answers, %d texts", n, s.Sim.CountTo(testkit.Phone(3)))
		}
		wantConsent(t, s, c, cy, steeple.ConsentOptedOut, steeple.ConsentSourceKeyword)
		// A keyword that is a clear opt-in cannot lift the provider's own
		// STOP block (Telnyx's): the phone stays opted out, unanswered.
		var join steeple.Keyword
		api.Call(t, "POST", "/api/v1/keywords", map[string]any{"word": "JOIN", "resubscribes": true}, http.StatusCreated, &join)
		textAndWait(t, s, c, testkit.Phone(3), "Join")
		time.Sleep(500 * time.Millisecond) // an answer would be queued by now
		if n := len(keywordAnswers(t, s, c, testkit.Phone(3), store.KeywordJoin, 0)); n != 0 {
			t.Fatalf("a phone the provider blocks got %d answers to JOIN", n)
		}
		wantConsent(t, s, c, cy, steeple.ConsentOptedOut, steeple.ConsentSourceKeyword)

		// The keyword's page: joins this week and the latest members.
		var rep inbox.KeywordReport
		api.Call(t, "GET", "/api/v1/keywords/"+connect.ID, nil, http.StatusOK, &rep)
		if rep.Joins != 3 || len(rep.Weeks) != inbox.KeywordWeeks || rep.Weeks[len(rep.Weeks)-1].Joins != 3 ||
			len(rep.Latest) != 3 || !slices.ContainsFunc(rep.Latest, func(j store.KeywordMember) bool { return j.LastName == "María López" }) {
			t.Fatalf("keyword report: %+v", rep)
		}

		// Another church sees none of it.
		other := s.Church(t, testkit.ChurchOptions{})
		for _, m := range []string{"GET", "PUT", "DELETE"} {
			wantError(t, s.Do(t, m, "/api/v1/keywords/"+connect.ID, other.Token, map[string]any{"word": "X"}), http.StatusNotFound, "not_found")
		}
		api.Call(t, "DELETE", "/api/v1/keywords/"+connect.ID, nil, http.StatusNoContent, nil)
		var list struct{ Keywords []steeple.Keyword }
		api.Call(t, "GET", "/api/v1/keywords", nil, http.StatusOK, &list)
		if len(list.Keywords) != 1 || list.Keywords[0].Word != "JOIN" {
			t.Fatalf("keywords after delete: %+v", list.Keywords)
		}
		if g := api.GetMember(t, ben).Groups; len(g) != 1 {
			t.Fatalf("deleting the keyword removed its members from the group: %+v", g)
		}
	})
}

// Where the provider keeps no STOP block of its own, a keyword that is a
// clear opt-in brings back a phone that texted STOP, and the answer says so.
func TestTextToJoinResubscribes(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Inbox: func(c *inbox.Config) { c.ProviderConfirmsKeywords = false }})
		s.Sim.SetKeywordHandling(false)
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100", QuietHoursOff: true})
		api := c.API(s)
		cy := s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Cy", Phone: testkit.Phone(3), OptedIn: true})
		textAndWait(t, s, c, testkit.Phone(3), "STOP")
		wantConsent(t, s, c, cy, steeple.ConsentOptedOut, steeple.ConsentSourceKeyword)
		api.Call(t, "POST", "/api/v1/keywords", map[string]any{"word": "JOIN", "resubscribes": true}, http.StatusCreated, nil)
		api.Call(t, "POST", "/api/v1/keywords", map[string]any{"word": "CHOIR"}, http.StatusCreated, nil)
		// A keyword that is not a clear opt-in leaves the phone out, unanswered.
		textAndWait(t, s, c, testkit.Phone(3), "choir")
		wantConsent(t, s, c, cy, steeple.ConsentOptedOut, steeple.ConsentSourceKeyword)
		inbound(t, s, testkit.Phone(3), c.Number, "Join")
		a := keywordAnswers(t, s, c, testkit.Phone(3), store.KeywordJoin, 1)[0]
		if !strings.Contains(a.Body, "subscribed again") || !strings.Contains(a.Body, "Msg & data rates may apply") {
			t.Fatalf("answer to a return: %q", a.Body)
		}
		wantConsent(t, s, c, cy, steeple.ConsentOptedIn, steeple.ConsentSourceKeyword)
		testkit.WaitUntil(t, 15*time.Second, func() bool { return s.Sim.CountTo(testkit.Phone(3)) == 2 }, "the STOP confirmation and the answer at the phone")
	})
}
