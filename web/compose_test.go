package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// markFiring marks a schedule as being sent right now, or not.
func markFiring(t *testing.T, s *testkit.Server, tenantID, id string, on bool) {
	t.Helper()
	ctx := context.Background()
	h, err := s.Tenancy.Manager.Acquire(ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	sc, err := s.Store.Schedule(ctx, h, id)
	if err != nil {
		t.Fatal(err)
	}
	sc.Firing = ""
	if on {
		sc.Firing = sc.NextKey
	}
	if err := s.Store.SaveSchedule(ctx, h, sc); err != nil {
		t.Fatal(err)
	}
}

var htmx = map[string]string{"HX-Request": "true"}

// readyChurch signs up a church whose owner's email is verified, with a
// number, two members who may be texted (one in a group) and one who may not.
func readyChurch(t *testing.T, s *testkit.Server, b *browser, church, email, number string) (tok, group string) {
	t.Helper()
	b.signUp(church, email)
	token := s.Mail.WaitFor(t, email, "ev1.").Token()
	if v := s.Do(t, "POST", "/api/v1/auth/verify-email", "", map[string]string{"token": token}); v.Status != http.StatusOK {
		t.Fatalf("verify email: %d %s", v.Status, v.Raw)
	}
	if err := s.Tenancy.Registry.AssignNumber(context.Background(), b.tenantOf(), number); err != nil {
		t.Fatal(err)
	}
	tok = apiToken(t, s, email, b.tenantOf())
	zoe := addMember(t, s, tok, "Zoë", "Ávila", "+13125550601", true)
	addMember(t, s, tok, "Bartholomew", "Long", "+13125550603", true)
	addMember(t, s, tok, "Juan", "Pérez", "+13125550602", false)
	group = addGroup(t, s, tok, "Choir")
	if r := s.Do(t, "POST", "/api/v1/groups/"+group+"/members", tok, map[string]any{"member_ids": []string{zoe}}); r.Status >= 300 {
		t.Fatalf("group member: %d %s", r.Status, r.Raw)
	}
	return tok, group
}

// The compose page, its counter fragment and the schedules list render in
// English and Spanish, with the nav links.
func TestComposePagesInBothLanguages(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		b := newBrowser(t, s, "en")
		b.signUp("Grace Chapel", "ruth@grace.example.org")
		for _, c := range []struct{ lang, title, counter, schedules string }{
			{"en", "Send a text", "2 parts per person", "Scheduled texts"},
			{"es", "Enviar un mensaje", "2 partes por persona", "Mensajes programados"},
		} {
			b.post("/language", url.Values{"lang": {c.lang}, "back": {"/"}})
			b.get("/").want(t, 200, `href="/messages/new"`, `href="/schedules"`)
			b.get("/messages/new").want(t, 200, c.title, `name="body"`, `hx-post="/messages/count"`, "America/Chicago")
			b.do2("POST", "/messages/count", url.Values{"body": {strings.Repeat("á", 71)}}, htmx).
				want(t, 200, `id="counter"`, c.counter).lacks(t, "<html")
			b.get("/schedules").want(t, 200, c.schedules)
		}
	})
}

// The counter explains UCS-2 and offers the plain look-alikes; accepting
// them rewrites the text, keeping everything else typed.
func TestComposeCounterAndPlainCharacters(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		b := newBrowser(t, s, "en")
		b.signUp("Grace Chapel", "ruth@grace.example.org")
		text := "Reunión mañana – " + strings.Repeat("x", 60)
		frag := b.do2("POST", "/messages/count", url.Values{"body": {text}}, htmx)
		frag.want(t, 200, "special characters (70 per part)", "2 parts per person", "<mark>ó</mark>", "<mark>–</mark>",
			"Use plain characters", "1 part per person:").lacks(t, "<mark>ñ</mark>")
		p := b.post("/messages/new", url.Values{"op": {"plain"}, "body": {text}, "audience": {"all"}, "when": {"at"}, "time": {"10:30"}})
		p.want(t, 200, "Reunion mañana - ", "plain characters (160 per part)", "1 part per person", `value="10:30"`,
			`value="at" checked`).lacks(t, "Use plain characters")
		// Inserting a variable without script appends it.
		b.post("/messages/new", url.Values{"op": {"insert"}, "body": {"Hi "}, "variable": {"first_name"}}).want(t, 200, "Hi {first_name}")
		b.post("/messages/new", url.Values{"op": {"insert"}, "body": {"Hi "}, "variable": {"nope"}}).want(t, 400, "Choose a variable from the list.")
	})
}

// Audience counts with who is left out and why; the review states the
// cost; sending lands on the broadcast's page. Errors come back beside
// their fields with the typed text kept; another church's ids are 404.
func TestComposeReviewAndSend(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		b := newBrowser(t, s, "en")
		_, group := readyChurch(t, s, b, "Grace Chapel", "ruth@grace.example.org", "+13125550142")

		aud := b.do2("POST", "/messages/new", url.Values{"op": {"audience"}, "body": {"Hi {first_name}, choir at 7"}, "audience": {"all"}}, htmx)
		aud.want(t, 200, `id="audience-count"`, "2 people will get this text", "1 left out: asked not to receive texts",
			"will get it:", ", choir at 7").lacks(t, "<html")

		// Errors beside fields, typed input kept.
		bad := b.post("/messages/new", url.Values{"op": {"review"}, "body": {"  "}, "audience": {"groups"}, "when": {"at"}, "date": {"soon"}, "time": {"9"}})
		bad.want(t, 400, `id="c-text-error"`, "This is required.", `id="c-sendat-error"`, "Please give a date and a time.", `value="soon"`)
		bad = b.post("/messages/new", url.Values{"op": {"review"}, "body": {"Choir at 7"}, "audience": {"all"}, "when": {"recurring"},
			"frequency": {"weekly"}, "time": {"07:00"}})
		bad.want(t, 400, "Choir at 7", `name="weekday"`)

		form := url.Values{"body": {"Choir at 7 tonight"}, "audience": {"groups"}, "group_id": {group}, "when": {"now"}}
		form.Set("op", "review")
		rv := b.post("/messages/new", form).want(t, 200, "Check before sending", "Send 1 text (1 part) from (312) 555-0142",
			`id="rv-duration"`, `name="group_id" value="`+group+`"`)
		if !regexp.MustCompile(`id="rv-quota">0 used now → 1 after`).MatchString(rv.Body) {
			t.Fatalf("quota line missing:\n%s", rv.Body)
		}
		form.Set("op", "send")
		sent := b.post("/messages/new", form)
		if sent.Status != http.StatusSeeOther || !strings.HasPrefix(sent.Location, "/messages/") {
			t.Fatalf("send: %d %s\n%s", sent.Status, sent.Location, sent.Body)
		}
		b.follow(sent).want(t, 200, "Choir at 7 tonight")

		// Another church cannot use this church's group or see its image.
		other := newBrowser(t, s, "en")
		other.signUp("Other Church", "other@example.org")
		other.post("/messages/new", url.Values{"op": {"review"}, "body": {"x"}, "audience": {"groups"}, "group_id": {group}}).want(t, 404)
		other.post("/messages/new", url.Values{"op": {"audience"}, "body": {"x"}, "audience": {"groups"}, "group_id": {group}}).want(t, 404)
		other.get("/messages/new/media/"+group).want(t, 404)
	})
}

// Scheduled for tomorrow 09:00 local: the schedules list shows 09:00 in the
// church's zone. A weekly message shows its next five times before it
// starts, then pauses, resumes and is deleted; another church's schedule
// ids are 404.
func TestComposeScheduleAndList(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		b := newBrowser(t, s, "en")
		_, group := readyChurch(t, s, b, "Grace Chapel", "ruth@grace.example.org", "+13125550142")
		loc, _ := time.LoadLocation("America/Chicago")
		tomorrow := time.Now().In(loc).AddDate(0, 0, 1)
		form := url.Values{"op": {"send"}, "body": {"Potluck tomorrow"}, "audience": {"groups"}, "group_id": {group},
			"when": {"at"}, "date": {tomorrow.Format(time.DateOnly)}, "time": {"09:00"}}
		p := b.post("/messages/new", form)
		if p.Status != http.StatusSeeOther || p.Location != "/schedules?done=scheduled" {
			t.Fatalf("schedule: %d %s\n%s", p.Status, p.Location, p.Body)
		}
		list := b.follow(p).want(t, 200, "The text is scheduled.", tomorrow.Format("Jan 2, 2006")+", 9:00 AM C", "Potluck tomorrow", "1 group")
		id := regexp.MustCompile(`href="/schedules/([^"]+)"`).FindStringSubmatch(list.Body)[1]
		b.get("/schedules/"+id).want(t, 200, `value="09:00"`, `value="`+tomorrow.Format(time.DateOnly)+`"`)
		b.post("/schedules/"+id, url.Values{"date": {tomorrow.Format(time.DateOnly)}, "time": {"25:00"}}).want(t, 400, `value="25:00"`, "e-sendat-error")
		b.follow(b.post("/schedules/"+id, url.Values{"date": {tomorrow.Format(time.DateOnly)}, "time": {"10:15"}})).
			want(t, 200, "Saved.", ", 10:15 AM C")

		rec := url.Values{"op": {"review"}, "body": {"Sunday service at 10"}, "audience": {"all"}, "when": {"recurring"},
			"frequency": {"weekly"}, "weekday": {"sunday"}, "time": {"08:00"}, "name": {"Sunday reminder"}}
		rv := b.post("/messages/new", rec).want(t, 200, "Start the repeating text", `id="upcoming"`)
		if n := strings.Count(rv.Body[strings.Index(rv.Body, `id="upcoming"`):], "8:00 AM C"); n != 5 {
			t.Fatalf("%d upcoming times:\n%s", n, rv.Body)
		}
		rec.Set("op", "send")
		b.follow(b.post("/messages/new", rec)).want(t, 200, "The repeating text is started.", "Sunday reminder", "repeating")
		all := b.get("/schedules").Body
		rid := ""
		for _, m := range regexp.MustCompile(`action="/schedules/([^"/]+)/pause"`).FindAllStringSubmatch(all, -1) {
			rid = m[1]
		}
		if rid == "" {
			t.Fatalf("no pause button:\n%s", all)
		}
		other := newBrowser(t, s, "en")
		other.signUp("Other Church", "other@example.org")
		other.get("/schedules/"+rid).want(t, 404)
		other.post("/schedules/"+rid+"/delete", url.Values{}).want(t, 404)
		other.get("/schedules").lacks(t, "Sunday reminder")

		// Being sent right now: a friendly 409 with a button to try again.
		markFiring(t, s, b.tenantOf(), rid, true)
		b.post("/schedules/"+rid+"/pause", url.Values{}).want(t, http.StatusConflict, "being sent right now", "Try again",
			`<form method="post" action="/schedules/`+rid+`/pause">`)
		markFiring(t, s, b.tenantOf(), rid, false)
		b.follow(b.post("/schedules/"+rid+"/pause", url.Values{})).want(t, 200, "Paused: it will not be sent", `action="/schedules/`+rid+`/resume"`)
		b.follow(b.post("/schedules/"+rid+"/resume", url.Values{})).want(t, 200, "Resumed.", `action="/schedules/`+rid+`/pause"`)
		b.follow(b.post("/schedules/"+rid+"/delete", url.Values{})).want(t, 200, "Deleted").lacks(t, "Sunday reminder")
		b.follow(b.post("/schedules/"+id+"/delete", url.Values{})).want(t, 200, "Deleted", "Nothing is scheduled")
	})
}
