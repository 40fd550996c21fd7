package inbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/inbox"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/members"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/tenancy"
)

// welChurch is a church under test, with its owner's token.
type welChurch struct {
	*testkit.Church
	h *tenancy.Handle
}

// welSetup starts a server (Steeple confirming STOP and START itself, so a
// confirmation it should not send would show) with the test clock at a
// given local time in Chicago, and signs up one church.
func welSetup(t *testing.T, b *testkit.Backend, y int, m time.Month, d, hh, mm int, more ...func(*testkit.ServerOptions)) (*testkit.Server, *welChurch) {
	t.Helper()
	opt := testkit.ServerOptions{Welcome: true, Inbox: func(c *inbox.Config) { c.ProviderConfirmsKeywords = false }}
	for _, f := range more {
		f(&opt)
	}
	s := testkit.NewServer(t, b, opt)
	loc, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	s.Clock.Add(time.Date(y, m, d, hh, mm, 0, 0, loc).Sub(s.Clock.Now()))
	c := &welChurch{Church: s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Email: "owner@grace.example.org", Number: churchNumber})}
	h, err := s.Tenancy.Manager.Acquire(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Release)
	c.h = h
	return s, c
}

// welMember enters a member through the API, with consent or without.
func welMember(t *testing.T, s *testkit.Server, c *welChurch, first, phone string, consent bool) string {
	t.Helper()
	body := map[string]any{"first_name": first, "last_name": "Member", "phone": phone}
	if consent {
		body["consent"] = map[string]any{"opted_in": true, "wording": "Sign-up card: yes, text me"}
	}
	r := s.Do(t, "POST", "/api/v1/members", c.Token, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create member: %d %s", r.Status, r.Raw)
	}
	return r.ID(t)
}

var inboundSeq atomic.Int64

// welText is an inbound text from phone, applied as the webhook worker does.
func welText(t *testing.T, s *testkit.Server, c *welChurch, from, text, autoresponse string) {
	t.Helper()
	s.Clock.Add(time.Second)
	if _, err := s.Inbox.ApplyInbound(context.Background(), c.h, payload(fmt.Sprintf("wel-in-%d", inboundSeq.Add(1)), from, text, autoresponse)); err != nil {
		t.Fatal(err)
	}
}

// welTexts returns what the simulator accepted for phone.
func welTexts(s *testkit.Server, phone string) []string {
	var out []string
	for _, m := range s.Sim.Messages() {
		if m.To == phone {
			out = append(out, m.Text)
		}
	}
	return out
}

// welWait waits until phone has n texts containing sub, settles the queue
// and checks there are exactly n.
func welWait(t *testing.T, s *testkit.Server, phone, sub string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for s.TextsContaining(phone, sub) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s got %d texts with %q in 30 s; want %d: %q", phone, s.TextsContaining(phone, sub), sub, n, welTexts(s, phone))
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.SettleQueue(t)
	if got := s.TextsContaining(phone, sub); got != n {
		t.Fatalf("%s got %d texts with %q; want exactly %d: %q", phone, got, sub, n, welTexts(s, phone))
	}
}

// wantWelcomeWording checks a welcome names the church and says HELP, STOP
// and that rates may apply.
func wantWelcomeWording(t *testing.T, text, church string) {
	t.Helper()
	for _, want := range []string{church, "HELP", "STOP", "rates may apply"} {
		if !strings.Contains(text, want) {
			t.Fatalf("welcome %q does not contain %q", text, want)
		}
	}
}

func TestWelcomeOncePerOptIn(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s, c := welSetup(t, b, 2027, 1, 12, 12, 0) // noon, outside quiet hours
		ctx := context.Background()
		startAnswer, stopAnswer := inbox.StartAnswer(c.Name), inbox.StopAnswer(c.Name)
		const welcome = "Welcome to Grace Chapel"

		// Admin entry with consent: one welcome, the default text.
		const ann = "+13122002001"
		annID := welMember(t, s, c, "Ann", ann, true)
		welWait(t, s, ann, welcome, 1)
		got := welTexts(s, ann)
		if len(got) != 1 || got[0] != strings.ReplaceAll(members.DefaultWelcomeText, "{church_name}", c.Name) {
			t.Fatalf("Ann got %q; want just the default welcome", got)
		}
		wantWelcomeWording(t, got[0], c.Name)

		// Entered again, edited, the hook and Welcome repeated: still one.
		// (A second member with her phone is a household member: the phone
		// was welcomed already.)
		if r := s.Do(t, "POST", "/api/v1/members", c.Token, map[string]any{"first_name": "Ann", "phone": ann,
			"consent": map[string]any{"opted_in": true}}); r.Status != http.StatusCreated {
			t.Fatalf("entering Ann again: %d %s", r.Status, r.Raw)
		}
		if r := s.Do(t, "PUT", "/api/v1/members/"+annID, c.Token, map[string]any{"first_name": "Anne", "phone": ann}); r.Status != http.StatusOK {
			t.Fatalf("editing Ann: %d %s", r.Status, r.Raw)
		}
		s.Inbox.OptedIn(ctx, c.h, []string{annID, annID})
		s.Inbox.OptedIn(ctx, c.h, []string{annID})
		for range 3 {
			if err := s.Inbox.Welcome(ctx, c.h, annID); err != nil {
				t.Fatal(err)
			}
		}
		s.SettleQueue(t)
		if n := s.TextsContaining(ann, welcome); n != 1 {
			t.Fatalf("Ann got %d welcomes; want 1", n)
		}

		// Entered without consent: nothing, not even when the hook is called.
		const ben = "+13122002002"
		benID := welMember(t, s, c, "Ben", ben, false)
		s.Inbox.OptedIn(ctx, c.h, []string{benID})
		s.SettleQueue(t)
		if got := welTexts(s, ben); len(got) != 0 {
			t.Fatalf("Ben (no consent) got %q", got)
		}

		// START from an opted-out member: the welcome, instead of the START
		// confirmation.
		welText(t, s, c, ben, "START", "")
		welWait(t, s, ben, welcome, 1)
		if got := welTexts(s, ben); len(got) != 1 {
			t.Fatalf("Ben got %q after START; want only the welcome", got)
		}
		wantWelcomeWording(t, welTexts(s, ben)[0], c.Name)
		// STOP, then START again: a new opt-in, a second welcome.
		welText(t, s, c, ben, "STOP", "")
		welWait(t, s, ben, stopAnswer, 1)
		welText(t, s, c, ben, "unstop", "")
		welWait(t, s, ben, welcome, 2)
		if n := s.TextsContaining(ben, startAnswer); n != 0 {
			t.Fatalf("Ben got %d START confirmations besides the welcomes", n)
		}
		// A second START while opted in is only confirmed.
		welText(t, s, c, ben, "START", "")
		welWait(t, s, ben, startAnswer, 1)
		if n := s.TextsContaining(ben, welcome); n != 2 {
			t.Fatalf("Ben got %d welcomes after a START while opted in; want 2", n)
		}

		// START from someone who is not a member: the START confirmation only.
		const stranger = "+13122002003"
		welText(t, s, c, stranger, "START", "")
		welWait(t, s, stranger, startAnswer, 1)
		if n := s.TextsContaining(stranger, welcome); n != 0 {
			t.Fatalf("a non-member got %d welcomes", n)
		}

		// A member added from a conversation with consent is welcomed.
		var convID string
		convs := c.API(s).Conversations(t, "?status=open")
		for _, cv := range convs {
			if cv.Phone == stranger {
				convID = cv.ID
			}
		}
		if convID == "" {
			t.Fatalf("no conversation with %s: %+v", stranger, convs)
		}
		if r := s.Do(t, "POST", "/api/v1/conversations/"+convID+"/member", c.Token, map[string]any{"first_name": "Cy",
			"consent": map[string]any{"opted_in": true, "wording": "said yes on the phone"}}); r.Status != http.StatusCreated {
			t.Fatalf("member from conversation: %d %s", r.Status, r.Raw)
		}
		welWait(t, s, stranger, welcome, 1)

		// An import with consent: each new member welcomed once (in jobs of
		// 500), and not again when the hook is repeated.
		const n = 505
		var csv strings.Builder
		csv.WriteString("First Name,Last Name,Mobile Phone\n")
		for i := range n {
			fmt.Fprintf(&csv, "Imp%d,Member,+1312201%04d\n", i, i)
		}
		csv.WriteString("Ann,Again," + ann + "\n") // an existing member, updated: not welcomed again
		q := url.Values{"consent": {"opted_in"}, "wording": {"Paper sign-up sheet"}}
		req, _ := http.NewRequest("POST", s.URL+"/api/v1/members/import?"+q.Encode(), strings.NewReader(csv.String()))
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
		deadline := time.Now().Add(90 * time.Second)
		for {
			missing := 0
			for i := range n {
				if s.TextsContaining(fmt.Sprintf("+1312201%04d", i), welcome) == 0 {
					missing++
				}
			}
			if missing == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d imported members not welcomed after 90 s", missing, n)
			}
			time.Sleep(100 * time.Millisecond)
		}
		var ids []string
		rows, err := c.h.QueryContext(ctx, `SELECT id FROM members WHERE first_name LIKE 'Imp%'`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			_ = rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
		if len(ids) != n {
			t.Fatalf("%d imported members; want %d", len(ids), n)
		}
		s.Inbox.OptedIn(ctx, c.h, ids)
		s.SettleQueue(t)
		for i := range n {
			p := fmt.Sprintf("+1312201%04d", i)
			if got := welTexts(s, p); len(got) != 1 || !strings.Contains(got[0], welcome) {
				t.Fatalf("imported member %s got %q; want one welcome", p, got)
			}
		}
		if n := s.TextsContaining(ann, welcome); n != 1 {
			t.Fatalf("Ann got %d welcomes after being imported again", n)
		}
		var jobs int
		if err := s.Tenancy.Registry.DB().QueryRowContext(ctx, `SELECT count(*) FROM river_job WHERE kind = 'welcome'`).Scan(&jobs); err != nil {
			t.Fatal(err)
		}
		// Ann 1+2 (create, two hook calls), the second Ann on her phone 1
		// (it sends nothing: the phone was welcomed), Ben 1, Cy 1, the import
		// 2 (505 in jobs of 500), its repeat 2.
		if jobs != 10 {
			t.Fatalf("%d welcome jobs; want 10", jobs)
		}
	})
}

func TestWelcomeText(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s, c := welSetup(t, b, 2027, 1, 12, 12, 0)
		if got := c.API(s).Settings(t).WelcomeText; got != members.DefaultWelcomeText {
			t.Fatalf("default welcome text: %q", got)
		}
		good := "Hi {first_name}! {church_name} sends news weekly. Msg & data rates may apply. Reply HELP for help, STOP to end."
		for _, bad := range []string{
			"",
			"Hi! Grace Chapel sends news weekly. Msg & data rates may apply. Reply HELP for help, STOP to end.",  // no {church_name}
			"Hi {first_name}! {church_name} sends news weekly. Msg & data rates may apply. Reply STOP to end.",   // no HELP
			"Hi {first_name}! {church_name} sends news weekly. Msg & data rates may apply. Reply HELP for help.", // no STOP
			"Hi {first_name}! {church_name} sends news weekly. Reply HELP for help, STOP to end.",                // no rates
			"Hi {first_name}! {church_name} sends news weekly. Msg & data rates may apply. Reply help for help, stop to end.",
			"Hi {nickname}! {church_name} sends news weekly. Msg & data rates may apply. Reply HELP for help, STOP to end.",
			good + strings.Repeat(" Amen.", 50),
		} {
			r := s.Do(t, "PUT", "/api/v1/settings", c.Token, map[string]any{"welcome_text": bad})
			if r.Status != http.StatusBadRequest {
				t.Fatalf("welcome text %q: %d %s; want 400", bad, r.Status, r.Raw)
			}
			var e testkit.ErrorAnswer
			r.Decode(t, &e)
			if e.Error.Fields["welcome_text"] == "" {
				t.Fatalf("welcome text %q: error does not name welcome_text: %s", bad, r.Raw)
			}
		}
		if got := c.API(s).Settings(t).WelcomeText; got != members.DefaultWelcomeText {
			t.Fatalf("a rejected text was saved: %q", got)
		}
		if got := c.API(s).SetSettings(t, map[string]any{"welcome_text": "  " + good + "  "}).WelcomeText; got != good {
			t.Fatalf("set welcome text: %q", got)
		}
		const dee = "+13122002101"
		welMember(t, s, c, "Dee", dee, true)
		welWait(t, s, dee, "sends news weekly", 1)
		if got := welTexts(s, dee); len(got) != 1 || got[0] != "Hi Dee! Grace Chapel sends news weekly. Msg & data rates may apply. Reply HELP for help, STOP to end." {
			t.Fatalf("custom welcome: %q", got)
		}
	})
}

// A welcome that falls in quiet hours waits for them to end: its send job
// is scheduled (on River's real clock) for as long as the quiet hours
// have left on the test clock.
func TestWelcomeHeldInQuietHours(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s, c := welSetup(t, b, 2027, 1, 12, 23, 0) // 23:00: quiet until 08:00, nine hours
		const eve, fay = "+13122002201", "+13122002202"
		welMember(t, s, c, "Eve", eve, true)
		welMember(t, s, c, "Fay", fay, false)
		s.SettleQueue(t)              // Eve's welcome job has run (at 23:00)
		s.Clock.Add(30 * time.Minute) // 23:30
		welText(t, s, c, fay, "START", "")
		s.SettleQueue(t)
		if got := append(welTexts(s, eve), welTexts(s, fay)...); len(got) != 0 {
			t.Fatalf("sent during quiet hours: %q", got)
		}
		var got []time.Duration
		for _, j := range welSendJobs(t, s, b) {
			if j.state != "scheduled" {
				t.Fatalf("a welcome's send job is %s; want scheduled", j.state)
			}
			got = append(got, j.in)
		}
		// Eve's welcome was made at 23:00 (nine hours to wait), Fay's at
		// 23:30 plus a second (eight and a half); the test has run for a
		// few seconds of real time since.
		want := []time.Duration{9 * time.Hour, 8*time.Hour + 30*time.Minute - time.Second}
		if len(got) != 2 {
			t.Fatalf("%d send jobs; want 2 (one welcome each, no START confirmation)", len(got))
		}
		for i := range want {
			if d := want[i] - got[i]; d < -5*time.Second || d > time.Minute {
				t.Fatalf("welcome %d is scheduled %v from now; want about %v", i, got[i].Round(time.Second), want[i])
			}
		}
	})
}

// A welcome queued by the recovery sweep (its process died between storing
// it and queueing it) still waits for the end of quiet hours: the send job
// itself looks at them. So does the welcome answering START.
func TestWelcomeSweptInQuietHours(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s, c := welSetup(t, b, 2027, 1, 12, 23, 0, func(o *testkit.ServerOptions) {
			o.Messaging = func(c *messaging.Config) { c.SweepAge = 0 }
		})
		const gil, hal = "+13122002301", "+13122002302"
		welMember(t, s, c, "Gil", gil, true)
		s.SettleQueue(t)
		welSweptAgain(t, s, b, c, 9*time.Hour)
		welMember(t, s, c, "Hal", hal, false)
		welText(t, s, c, hal, "START", "")
		s.SettleQueue(t)
		welSweptAgain(t, s, b, c, 9*time.Hour-time.Second)
		if got := append(welTexts(s, gil), welTexts(s, hal)...); len(got) != 0 {
			t.Fatalf("swept welcomes were sent during quiet hours: %q", got)
		}
		// Past the quiet hours the same jobs send them.
		s.Clock.Add(9 * time.Hour)
		if _, err := s.Tenancy.Registry.DB().ExecContext(context.Background(), `UPDATE river_job SET scheduled_at = $1 WHERE kind = 'send_reply'`,
			time.Now().Add(-time.Second).UTC()); err != nil {
			t.Fatal(err)
		}
		welWait(t, s, gil, "Reply HELP", 1)
		welWait(t, s, hal, "Reply HELP", 1)
	})
}

// welSweptAgain takes the church's newest welcome out of the queue, as if
// its process had died before handing it over, has the recovery sweep
// queue it again, and checks its send job then waits (about wait) rather
// than sending.
func welSweptAgain(t *testing.T, s *testkit.Server, b *testkit.Backend, c *welChurch, wait time.Duration) {
	t.Helper()
	ctx := context.Background()
	jobs := welSendJobs(t, s, b)
	if len(jobs) == 0 {
		t.Fatal("no welcome send job")
	}
	last := jobs[len(jobs)-1]
	if _, err := s.Tenancy.Registry.DB().ExecContext(ctx, `DELETE FROM river_job WHERE id = (SELECT max(id) FROM river_job WHERE kind = 'send_reply')`); err != nil {
		t.Fatal(err)
	}
	if err := s.Tenancy.Registry.AddDispatchIntent(ctx, tenancy.IntentReply, c.ID, last.messageID); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Messaging.Sweep(ctx); n != 1 || err != nil {
		t.Fatalf("sweep: %d, %v; want 1 recovered", n, err)
	}
	s.SettleQueue(t) // the send job has run once, and snoozed
	jobs = welSendJobs(t, s, b)
	got := jobs[len(jobs)-1]
	if got.messageID != last.messageID || got.state != "scheduled" {
		t.Fatalf("the swept welcome's job: %+v; want it scheduled", got)
	}
	if d := wait - got.in; d < -5*time.Second || d > time.Minute {
		t.Fatalf("the swept welcome waits %v; want about %v", got.in.Round(time.Second), wait)
	}
}

// welJob is a send_reply job: its state, how far from now it is scheduled,
// and the message it sends.
type welJob struct {
	state, messageID string
	in               time.Duration
}

func welSendJobs(t *testing.T, s *testkit.Server, b *testkit.Backend) []welJob {
	t.Helper()
	secs, args := `CAST(unixepoch(scheduled_at) AS INTEGER)`, `json(args)` // River's SQLite driver stores JSONB
	if b.Postgres() {
		secs, args = `EXTRACT(EPOCH FROM scheduled_at)::BIGINT`, `args::text`
	}
	rows, err := s.Tenancy.Registry.DB().QueryContext(context.Background(),
		`SELECT state, `+secs+`, `+args+` FROM river_job WHERE kind = 'send_reply' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []welJob
	now := time.Now()
	for rows.Next() {
		var j welJob
		var at int64
		var args []byte
		if err := rows.Scan(&j.state, &at, &args); err != nil {
			t.Fatal(err)
		}
		var a messaging.SendReplyArgs
		if err := json.Unmarshal(args, &a); err != nil {
			t.Fatal(err)
		}
		j.in, j.messageID = time.Unix(at, 0).Sub(now), a.MessageID
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// An admin's edits: consent recorded later for a member entered without it
// is an opt-in (welcomed once); consent recorded again for a member already
// opted in, by an admin or by START, is not a new one (a welcome job
// replayed afterwards sends nothing).
func TestWelcomeAdminEdits(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s, c := welSetup(t, b, 2027, 1, 12, 12, 0)
		ctx := context.Background()
		const welcome = "Welcome to Grace Chapel"
		const gus, hal = "+13122002301", "+13122002302"
		gusID := welMember(t, s, c, "Gus", gus, true)
		welWait(t, s, gus, welcome, 1)
		if r := s.Do(t, "PUT", "/api/v1/members/"+gusID, c.Token, map[string]any{"first_name": "Gus", "phone": gus,
			"consent": map[string]any{"opted_in": true, "wording": "confirmed again at the door"}}); r.Status != http.StatusOK {
			t.Fatalf("editing Gus: %d %s", r.Status, r.Raw)
		}
		s.Inbox.OptedIn(ctx, c.h, []string{gusID}) // e.g. a welcome job retried
		s.SettleQueue(t)
		if n := s.TextsContaining(gus, welcome); n != 1 {
			t.Errorf("Gus got %d welcomes after his consent was recorded again (no new opt-in); want 1", n)
		}

		// START while opted in, then the welcome job replayed.
		const ivy = "+13122002303"
		ivyID := welMember(t, s, c, "Ivy", ivy, true)
		welWait(t, s, ivy, welcome, 1)
		welText(t, s, c, ivy, "START", "")
		welWait(t, s, ivy, inbox.StartAnswer(c.Name), 1)
		s.Inbox.OptedIn(ctx, c.h, []string{ivyID})
		s.SettleQueue(t)
		if n := s.TextsContaining(ivy, welcome); n != 1 {
			t.Errorf("Ivy got %d welcomes after START while opted in and a replayed welcome job; want 1", n)
		}

		halID := welMember(t, s, c, "Hal", hal, false)
		if r := s.Do(t, "PUT", "/api/v1/members/"+halID, c.Token, map[string]any{"first_name": "Hal", "phone": hal,
			"consent": map[string]any{"opted_in": true, "wording": "signed the card on Sunday"}}); r.Status != http.StatusOK {
			t.Fatalf("editing Hal: %d %s", r.Status, r.Raw)
		}
		s.SettleQueue(t)
		if n := s.TextsContaining(hal, welcome); n != 1 {
			t.Errorf("Hal got %d welcomes after an admin recorded his consent; want 1", n)
		}
	})
}
