package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/store"
)

// sendingChurch signs a church up with a verified owner, a number and n
// members who agreed to texts; it returns the browser, an API token and
// the members' ids.
func sendingChurch(t *testing.T, s *testkit.Server, name, email string, n int) (*browser, string, []string) {
	t.Helper()
	b := newBrowser(t, s, "en")
	b.signUp(name, email)
	token := s.Mail.WaitFor(t, email, "ev1.").Token()
	if v := s.Do(t, "POST", "/api/v1/auth/verify-email", "", map[string]string{"token": token}); v.Status != http.StatusOK {
		t.Fatalf("verify email: %d %s", v.Status, v.Raw)
	}
	if err := s.Tenancy.Registry.AssignNumber(context.Background(), b.tenantOf(), fmt.Sprintf("+1312555%04d", len(name)*100+n)); err != nil {
		t.Fatal(err)
	}
	tok := apiToken(t, s, email, b.tenantOf())
	var ids []string
	for i := 0; i < n; i++ {
		r := s.Do(t, "POST", "/api/v1/members", tok, map[string]any{"first_name": fmt.Sprintf("Member%d", i), "last_name": "Test",
			"phone": fmt.Sprintf("+1312556%04d", i+len(name)*10), "consent": map[string]any{"opted_in": true, "wording": "Reply YES"}})
		if r.Status != http.StatusCreated {
			t.Fatalf("member: %d %s", r.Status, r.Raw)
		}
		ids = append(ids, r.ID(t))
	}
	return b, tok, ids
}

var dataN = regexp.MustCompile(`data-stage="(funnel\.[a-z]+)">.*?data-n="(\d+)"`)

// funnelNumbers reads the funnel table's numbers from a page.
// storeBroadcast makes a broadcast in the store whose texts wait (no send
// jobs exist for it), to look at a broadcast part-way.
func storeBroadcast(t *testing.T, s *testkit.Server, tenantID string, ids []string, text string) *store.Broadcast {
	t.Helper()
	ctx := context.Background()
	h, err := s.Tenancy.Manager.Acquire(ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	admins, err := s.Store.Admins(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	bc := &store.Broadcast{ID: steeple.NewID(), Text: text, From: "+13125550100", Encoding: "GSM-7",
		SegmentsPerMessage: 1, Recipients: len(ids), Chunks: 1, CreatedBy: admins[0].ID, Audience: store.Audience{All: true}}
	var rs []store.OutgoingRecipient
	for i, id := range ids {
		rs = append(rs, store.OutgoingRecipient{Recipient: store.Recipient{MemberID: id, FirstName: "M", Phone: fmt.Sprintf("+1312557%04d", i)}, Body: text})
	}
	if err := s.Store.CreateBroadcast(ctx, h, bc, rs, len(ids), 0); err != nil {
		t.Fatal(err)
	}
	return bc
}

func funnelNumbers(body string) map[string]int {
	out := map[string]int{}
	for _, m := range dataN.FindAllStringSubmatch(body, -1) {
		n, _ := strconv.Atoi(m[2])
		out[m[1]] = n
	}
	return out
}

// A broadcast's page: the progress fragment polls while texts wait and
// stops once none do; the funnel's numbers are the API's counts; failures
// are explained by reason; another church's id is a 404 for the page, the
// fragment and the CSV.
func TestBroadcastPage(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be)
		ctx := context.Background()
		b, tok, ids := sendingChurch(t, s, "Grace Chapel", "ruth@grace.example.org", 4)

		bc := storeBroadcast(t, s, b.tenantOf(), ids, "Choir practice moved")
		frag := b.get("/messages/"+bc.ID+"/progress").want(t, 200, `hx-trigger="every 2s [document.visibilityState==`, "Sending now")
		frag.lacks(t, "<html")
		b.get("/messages/"+bc.ID).want(t, 200, "Choir practice moved", `hx-trigger="every 2s`, "Nothing has failed so far.")

		// Texts finish: delivered, a landline, an opt-out, one left waiting.
		h, err := s.Tenancy.Manager.Acquire(ctx, b.tenantOf())
		if err != nil {
			t.Fatal(err)
		}
		for i, u := range []store.RecipientUpdate{{Status: steeple.RecipientDelivered},
			{Status: steeple.RecipientFailed, ErrorCode: "40310", ErrorDetail: "invalid number: Invalid 'to' address"},
			{Status: steeple.RecipientSkipped, ErrorDetail: "member opted out or was removed"}} {
			if err := s.Store.UpdateRecipient(ctx, h, bc.ID, ids[i], u); err != nil {
				t.Fatal(err)
			}
		}
		h.Release()
		b.get("/messages/"+bc.ID+"/progress").want(t, 200, `hx-trigger="every 2s`, "3 of 4 texts handled")
		h, _ = s.Tenancy.Manager.Acquire(ctx, b.tenantOf())
		if err := s.Store.UpdateRecipient(ctx, h, bc.ID, ids[3], store.RecipientUpdate{Status: steeple.RecipientDelivered}); err != nil {
			t.Fatal(err)
		}
		h.Release()
		done := b.get("/messages/"+bc.ID+"/progress").want(t, 200, "Finished sending", "4 of 4 texts handled")
		done.lacks(t, "hx-trigger")

		// A member answers; a stranger's text is not a reply to it.
		textIn(t, s, b.tenantOf(), "+13125560120", "We will be there")
		textIn(t, s, b.tenantOf(), "+13125559999", "Who is this")
		page := b.get("/messages/"+bc.ID).want(t, 200, "1 reply since it went out", "We will be there", "Finished sending", "landline", "Ask the member for a mobile number",
			"opted out of texts", "Member0 Test", "(312) 557-0000", "Duplicate")
		page.lacks(t, "hx-trigger")

		// The funnel's numbers are the API's counts.
		msg := s.Client(tok).GetBroadcast(t, bc.ID).Message
		c := msg.Counts
		want := map[string]int{"funnel.queued": msg.Recipients, "funnel.sent": c["sent"] + c["delivered"],
			"funnel.delivered": c["delivered"], "funnel.failed": c["failed"], "funnel.skipped": c["skipped"],
			"funnel.waiting": c["queued"] + c["sending"]}
		if got := funnelNumbers(page.Body); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("funnel %v, API %v", got, want)
		}

		// Filter and CSV.
		page.lacks(t, "Stop sending", "Who is this")
		b.get("/messages/"+bc.ID+"?status=failed").want(t, 200, ">Member1 Test</a>").lacks(t, ">Member0 Test</a>")
		csv := b.get("/messages/"+bc.ID+"/recipients.csv?status=delivered").want(t, 200, "Member0", "+13125570000")
		if !strings.HasPrefix(csv.Header.Get("Content-Type"), "text/csv") || strings.Contains(csv.Body, "Member1") {
			t.Fatalf("csv: %s %q", csv.Header.Get("Content-Type"), csv.Body)
		}
		b.get("/messages/"+bc.ID+"/recipients.csv?status=bogus").want(t, 400)

		// Lists and Spanish.
		b.get("/messages").want(t, 200, "Choir practice moved", "/messages/"+bc.ID, "67%")
		b.get("/messages?tab=scheduled").want(t, 200, "No messages are scheduled.")
		b.get("/messages?tab=recurring").want(t, 200, "No recurring messages.")
		b.post("/language", url.Values{"lang": {"es"}, "back": {"/messages"}})
		b.get("/messages").want(t, 200, "Tasa de entrega", "Choir practice moved")
		b.get("/messages/"+bc.ID).want(t, 200, "Envío terminado", "teléfono fijo", "Adónde fue")
		b.get("/messages?tab=recurring").want(t, 200, "No hay mensajes periódicos.")

		// Duplicate opens the compose page with the text and audience.
		dup := b.get("/messages/"+bc.ID+"/duplicate").want(t, 303)
		if dup.Location != "/messages/new?audience=all&body=Choir+practice+moved" {
			t.Fatalf("duplicate goes to %q", dup.Location)
		}
		b.get(dup.Location).want(t, 200, "Choir practice moved</textarea>")

		// Stop sending asks first, then skips what waits.
		b.post("/language", url.Values{"lang": {"en"}, "back": {"/"}})
		st := storeBroadcast(t, s, b.tenantOf(), ids, "Picnic cancelled")
		b.get("/messages/"+st.ID).want(t, 200, "Stop sending", `hx-trigger="every 2s`)
		b.post("/messages/"+st.ID+"/stop", url.Values{}).want(t, 200, "Stop sending? The 4 texts not yet sent will not be sent.", `name="confirm" value="yes"`)
		if got := b.get("/messages/" + st.ID).Body; !strings.Contains(got, "Stop sending") {
			t.Fatal("asking stopped the broadcast")
		}
		b.post("/messages/"+st.ID+"/stop", url.Values{"confirm": {"yes"}}).want(t, 303)
		stopped := b.get("/messages/"+st.ID).want(t, 200, "Ruth Secretary stopped sending at", "Not sent because someone stopped this message", "Finished sending")
		stopped.lacks(t, "hx-trigger", ">Stop sending<")

		other, _, _ := sendingChurch(t, s, "Other Church", "other@example.org", 0)
		for _, p := range []string{"/messages/" + bc.ID, "/messages/" + bc.ID + "/progress", "/messages/" + bc.ID + "/recipients.csv",
			"/messages/" + bc.ID + "/duplicate"} {
			other.get(p).want(t, 404).lacks(t, "Choir", "Member0")
		}
		other.post("/messages/"+st.ID+"/stop", url.Values{"confirm": {"yes"}}).want(t, 404).lacks(t, "Picnic")
	})
}

// A text sent through the real pipeline: the fragment is polled (as htmx
// would) until it stops asking to be polled, with a deadline.
func TestBroadcastProgressReachesDone(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be)
		b, tok, _ := sendingChurch(t, s, "Hope Church", "hope@example.org", 3)
		r := s.Do(t, "POST", "/api/v1/messages", tok, map[string]any{"text": "Potluck Sunday", "audience": map[string]any{"all": true}})
		if r.Status != http.StatusCreated && r.Status != http.StatusAccepted {
			t.Fatalf("message: %d %s", r.Status, r.Raw)
		}
		id := r.ID(t)
		deadline := time.Now().Add(30 * time.Second)
		for {
			p := b.get("/messages/"+id+"/progress").want(t, 200)
			if !strings.Contains(p.Body, "hx-trigger") {
				p.want(t, 200, "Finished sending", "3 of 3 texts handled")
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("still sending after 30 s:\n%s", p.Body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// The reports page's table holds the API's weekly report, in both
// languages, with a CSV of the same weeks.
func TestReportsPage(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be)
		b, tok, _ := sendingChurch(t, s, "Faith Church", "faith@example.org", 2)
		r := s.Do(t, "POST", "/api/v1/messages", tok, map[string]any{"text": "Hello", "audience": map[string]any{"all": true}})
		if r.Status != http.StatusCreated && r.Status != http.StatusAccepted {
			t.Fatalf("message: %d %s", r.Status, r.Raw)
		}
		id := r.ID(t)
		deadline := time.Now().Add(30 * time.Second)
		// Wait until both texts' delivery reports are in, so the page and
		// the API read the same finished week.
		for {
			m := s.Client(tok).GetBroadcast(t, id).Message
			if m.Counts["delivered"] == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("not delivered after 30 s: %v", m.Counts)
			}
			time.Sleep(50 * time.Millisecond)
		}
		page := b.get("/reports").want(t, 200, "Texts sent each week", `<svg class="chart"`, "Download as CSV")
		var report messaging.WeeklyReport
		s.Client(tok).Call(t, "GET", "/api/v1/reports/weekly", nil, 200, &report)
		weeks := report.Weeks
		rows := regexp.MustCompile(`data-texts="(\d+)" data-parts="(\d+)" data-rate="([0-9.]+)" data-optouts="(\d+)" data-replies="(\d+)"`).FindAllStringSubmatch(page.Body, -1)
		if len(rows) != len(weeks) || len(rows) != 12 {
			t.Fatalf("%d rows, API %d weeks", len(rows), len(weeks))
		}
		texts := 0
		for i, wk := range weeks {
			got := strings.Join(rows[i][1:], ",")
			want := fmt.Sprintf("%v,%v,%v,%v,%v", wk.Texts, wk.Parts, wk.DeliveryRate, wk.OptOuts, wk.Replies)
			if got != want {
				t.Fatalf("week %d: page %s, API %s", i, got, want)
			}
			texts += wk.Texts
		}
		if texts != 2 {
			t.Fatalf("texts in the report: %d, want 2", texts)
		}
		csv := b.get("/reports/weekly.csv").want(t, 200, "Week starting", "Delivery rate")
		if n := strings.Count(strings.TrimSpace(csv.Body), "\n"); n != 12 {
			t.Fatalf("csv has %d weeks:\n%s", n, csv.Body)
		}
		b.post("/language", url.Values{"lang": {"es"}, "back": {"/reports"}})
		b.get("/reports").want(t, 200, "Mensajes enviados cada semana", "Descargar en CSV")
	})
}

// The scheduled and recurring tabs list what waits, at the church's own
// time, labelled; each links to its schedule.
func TestMessagesLaterTabs(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be)
		b, tok, _ := sendingChurch(t, s, "Grace Chapel", "ruth@grace.example.org", 2)
		loc, _ := time.LoadLocation("America/Chicago")
		day := s.Clock.Now().In(loc).AddDate(0, 0, 2)
		at := time.Date(day.Year(), day.Month(), day.Day(), 9, 0, 0, 0, loc)
		r := s.Do(t, "POST", "/api/v1/messages", tok, map[string]any{"text": "Bake sale Saturday", "audience": map[string]any{"all": true},
			"send_at": at.Format(time.RFC3339)})
		if r.Status != http.StatusCreated && r.Status != http.StatusAccepted {
			t.Fatalf("scheduled message: %d %s", r.Status, r.Raw)
		}
		p := b.get("/messages?tab=scheduled").want(t, 200, "Bake sale Saturday", "9:00 AM CST", "Will be sent", `href="/schedules/`)
		p.lacks(t, "No messages are scheduled.")
		b.get("/messages").want(t, 200, "No messages sent yet.").lacks(t, "Bake sale")
	})
}
