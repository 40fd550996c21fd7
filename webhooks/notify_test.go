package webhooks_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/inbox"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// simTextsTo counts the texts the simulator accepted to a phone whose text
// starts with prefix.
func simTextsTo(s *testkit.Server, to, prefix string) int {
	n := 0
	for _, m := range s.Sim.Messages() {
		if m.To == to && strings.HasPrefix(m.Text, prefix) {
			n++
		}
	}
	return n
}

func mailTo(m testkit.Mail, rcpt string) bool {
	for _, r := range m.To {
		if strings.EqualFold(r, rcpt) {
			return true
		}
	}
	return false
}

// Replies texted in through the provider's webhook reach staff: an email
// at once to an admin who chose that, an hourly digest to one who chose
// that, and a text to the church's staff mobile; keywords the system
// answered (HELP) set off nothing, and an admin who turns emails off gets
// none.
func TestReplyNotifications(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		// A digest period of a second stands for the hour.
		s := testkit.NewServer(t, b, testkit.ServerOptions{Inbox: func(c *inbox.Config) { c.DigestEvery = time.Second }})
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100", QuietHoursOff: true})
		api := c.API(s)
		const staff = "+13125550177"
		ann := testkit.Phone(1)
		s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Ann", LastName: "Lee", Phone: ann, OptedIn: true})

		var me struct {
			Admin steeple.Admin `json:"admin"`
		}
		api.Call(t, "PATCH", "/api/v1/me", map[string]any{"reply_notifications": "immediate"}, http.StatusOK, &me)
		if me.Admin.ReplyNotifications != steeple.ReplyNotifyImmediate || api.Me(t).Admin.ReplyNotifications != steeple.ReplyNotifyImmediate {
			t.Fatalf("reply_notifications %q", me.Admin.ReplyNotifications)
		}
		r := s.Do(t, "PATCH", "/api/v1/me", c.Token, map[string]any{"reply_notifications": "weekly", "phone": "+13125550123"})
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Raw), "reply_notifications") {
			t.Fatalf("weekly: %d %s", r.Status, r.Raw)
		}
		if me := s.Do(t, "GET", "/api/v1/me", c.Token, nil); strings.Contains(string(me.Raw), "+13125550123") {
			t.Fatalf("a refused change was half applied: %s", me.Raw)
		}
		const dana = "dana@grace.example.org"
		s.WithHandle(t, c.ID, func(h *tenancy.Handle) {
			a, err := s.Store.CreateAdmin(context.Background(), h, store.NewAdmin{Name: "Dana", Email: dana, PasswordHash: "x",
				Role: steeple.RoleAdmin})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Store.SetReplyNotifications(context.Background(), h, a.ID, steeple.ReplyNotifyHourly); err != nil {
				t.Fatal(err)
			}
		})
		s.Clock.Add(time.Second) // replies come after the digest was chosen
		if got := api.SetSettings(t, map[string]any{"reply_forward_phone": "(312) 555-0177"}).ReplyForwardPhone; got != staff {
			t.Fatalf("reply_forward_phone stored as %q", got)
		}

		textAndWait(t, s, c, ann, "Is choir on tonight?")
		mail := s.Mail.WaitFor(t, c.Email, "Is choir on tonight?", "Ann Lee")
		if !strings.Contains(mail.Header("Subject"), "New reply from Ann Lee") {
			t.Fatalf("subject %q", mail.Header("Subject"))
		}
		testkit.Eventually(t, 15*time.Second, func() string {
			if simTextsTo(s, staff, "Reply from Ann Lee: Is choir on tonight?") != 1 {
				return "the reply is not forwarded to the staff mobile"
			}
			return ""
		})
		for _, m := range s.Sim.Messages() {
			if m.To == staff && m.From != c.Number {
				t.Fatalf("forwarded from %s; want the church's number %s", m.From, c.Number)
			}
		}
		testkit.Eventually(t, 15*time.Second, func() string {
			for _, m := range s.Mail.Mails() {
				if mailTo(m, dana) && strings.Contains(m.Body(), "Is choir on tonight?") {
					return ""
				}
			}
			return "no digest to Dana"
		})

		// HELP is answered by the system: nobody is told of it. (The
		// church's clock moves on between texts, as it does for real.)
		s.Clock.Add(time.Second)
		textAndWait(t, s, c, ann, "HELP")
		s.Clock.Add(time.Second)
		textAndWait(t, s, c, ann, "Thanks!")
		s.Mail.WaitFor(t, c.Email, "Thanks!")
		testkit.Eventually(t, 15*time.Second, func() string {
			if simTextsTo(s, staff, "Reply from Ann Lee: Thanks!") != 1 {
				return "Thanks! is not forwarded"
			}
			return ""
		})
		if n, f := s.JobCount(t, inbox.ReplyMailArgs{}.Kind()), simTextsTo(s, staff, "Reply from"); n != 2 || f != 2 {
			t.Fatalf("%d reply mails queued and %d forwards; want 2 each (none for HELP)", n, f)
		}
		testkit.Eventually(t, 15*time.Second, func() string {
			for _, m := range s.Mail.Mails() {
				if mailTo(m, dana) && strings.Contains(m.Body(), "Thanks!") {
					return ""
				}
			}
			return "no digest to Dana with Thanks!"
		})
		for _, m := range s.Mail.Mails() {
			if strings.Contains(m.Body(), "HELP") {
				t.Fatalf("a mail tells of HELP: %s", m.Body())
			}
		}

		// Emails off: no mail is queued, the forward still goes; the staff
		// mobile texting the church is not forwarded to itself.
		api.Call(t, "PATCH", "/api/v1/me", map[string]any{"reply_notifications": "off"}, http.StatusOK, nil)
		s.Clock.Add(time.Second)
		textAndWait(t, s, c, ann, "See you Sunday")
		textAndWait(t, s, c, staff, "Running late")
		testkit.Eventually(t, 15*time.Second, func() string {
			if simTextsTo(s, staff, "Reply from Ann Lee: See you Sunday") != 1 {
				return "See you Sunday is not forwarded"
			}
			return ""
		})
		if n := s.JobCount(t, inbox.ReplyMailArgs{}.Kind()); n != 2 {
			t.Fatalf("%d reply mails queued after emails were turned off; want 2", n)
		}
		if n := s.JobCount(t, inbox.ReplyForwardArgs{}.Kind()); n != 4 {
			t.Fatalf("%d forwards queued; want 4", n)
		}
		testkit.Eventually(t, 15*time.Second, func() string {
			if n := s.JobCount(t, inbox.ReplyForwardArgs{}.Kind(), "completed"); n != 4 {
				return fmt.Sprintf("%d of 4 forwards done", n)
			}
			return ""
		})
		if n := simTextsTo(s, staff, "Reply from"); n != 3 {
			t.Fatalf("%d forwards reached the staff mobile; want 3 (not its own text)", n)
		}
	})
}

// "Stop." through the provider's webhook opts the member out at once: the
// consent changes, Steeple confirms (the provider did not recognise it),
// and a broadcast after it skips her.
func TestPunctuatedStopOptsOut(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100", QuietHoursOff: true})
		dee := s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Dee", Phone: testkit.Phone(1), OptedIn: true})
		eli := s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: "Eli", Phone: testkit.Phone(2), OptedIn: true})
		th, in := textAndWait(t, s, c, testkit.Phone(1), " Stop. 🙏")
		if in.Keyword != store.KeywordStop {
			t.Fatalf("stored as %+v", in)
		}
		wantConsent(t, s, c, dee, steeple.ConsentOptedOut, steeple.ConsentSourceKeyword)
		answers := waitAnswers(t, s, c, th.ID, 1)
		if answers[0].Purpose != store.KeywordStop || !strings.Contains(answers[0].Body, "unsubscribed") {
			t.Fatalf("answer %+v", answers[0])
		}
		bid := c.API(s).BroadcastAll(t, "Picnic on Saturday")
		v := waitRecipient(t, s, c, bid, eli, steeple.RecipientDelivered)
		if r := v.Recipient(dee); r != nil && r.Status != steeple.RecipientSkipped {
			t.Fatalf("Dee in a broadcast after Stop.: %+v", r)
		}
		if n := simTextsTo(s, testkit.Phone(1), "Picnic"); n != 0 {
			t.Fatalf("Dee got the broadcast %d times", n)
		}
	})
}
