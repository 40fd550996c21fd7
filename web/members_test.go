package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/telnyx"
)

// addMember creates a member through the JSON API and returns its id.
func addMember(t *testing.T, s *testkit.Server, tok, first, last, phone string, optedIn bool) string {
	t.Helper()
	body := map[string]any{"first_name": first, "last_name": last, "phone": phone}
	if optedIn {
		body["consent"] = map[string]any{"opted_in": true, "wording": "Reply YES"}
	}
	r := s.Do(t, "POST", "/api/v1/members", tok, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("member: %d %s", r.Status, r.Raw)
	}
	id := r.ID(t)
	return id
}

// addGroup creates a group through the JSON API and returns its id.
func addGroup(t *testing.T, s *testkit.Server, tok, name string) string {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/groups", tok, map[string]any{"name": name})
	if r.Status != http.StatusCreated {
		t.Fatalf("group: %d %s", r.Status, r.Raw)
	}
	id := r.ID(t)
	return id
}

// churchWithMembers signs up a church in b and gives it two members.
func churchWithMembers(t *testing.T, s *testkit.Server, b *browser, church, email string) (tok, zoe, juan string) {
	t.Helper()
	b.signUp(church, email)
	tok = apiToken(t, s, email, b.tenantOf())
	zoe = addMember(t, s, tok, "Zoë", "Ávila", "+13125550601", true)
	juan = addMember(t, s, tok, "Juan", "Pérez", "+13125550602", false)
	return tok, zoe, juan
}

// Every key of one locale file exists in the other.
func TestLocalesHaveSameKeys(t *testing.T) {
	t.Parallel()
	keys := map[string]map[string]any{}
	for _, l := range []string{"en", "es"} {
		raw, err := os.ReadFile("locales/" + l + ".json")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]any{}
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		keys[l] = m
	}
	for a, b := range map[string]string{"en": "es", "es": "en"} {
		for k := range keys[a] {
			if _, ok := keys[b][k]; !ok {
				t.Errorf("%q is in %s.json but not in %s.json", k, a, b)
			}
		}
	}
}

// The members, groups and templates pages render in English and Spanish,
// with the nav links; the home checklist links to the import page.
func TestMembersPagesInBothLanguages(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		b := newBrowser(t, s, "en")
		tok, zoe, _ := churchWithMembers(t, s, b, "Grace Chapel", "ruth@grace.example.org")
		g := addGroup(t, s, tok, "Choir")
		tr := s.Do(t, "POST", "/api/v1/templates", tok, map[string]any{"name": "Welcome", "body": "Hi {first_name}!"})
		tid := tr.ID(t)
		for _, c := range []struct {
			lang                                                     string
			members, total, member, history, groups, templates, edit string
		}{
			{"en", "Members", "2 members", "Receives texts", "History (newest first)", "Your groups", "Texts you send often", "Insert a variable"},
			{"es", "Miembros", "2 miembros", "Recibe mensajes", "Historial (lo más reciente primero)", "Sus grupos", "Mensajes que envía a menudo", "Insertar una variable"},
		} {
			b.post("/language", url.Values{"lang": {c.lang}, "back": {"/"}})
			b.get("/").want(t, 200, `href="/members"`, `href="/groups"`, `href="/templates"`, `href="/members/import"`)
			b.get("/members").want(t, 200, c.members, c.total, "Zoë", `name="q"`)
			b.get("/members/new").want(t, 200, `name="first_name"`)
			b.get("/members/"+zoe).want(t, 200, c.member, c.history, "CST")
			b.get("/groups").want(t, 200, c.groups, "Choir", "/members?group="+g)
			b.get("/templates").want(t, 200, c.templates, "Welcome")
			b.get("/templates/"+tid).want(t, 200, c.edit, "Hi {first_name}!")
			b.get("/templates/new").want(t, 200, c.edit)
		}
	})
}

// Search ignores accents and reads phones in any format; the group and
// consent filters narrow the list; an htmx search gets only the results;
// bad filters are a field error, never a 500.
func TestMemberListSearchAndFilters(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		b := newBrowser(t, s, "en")
		tok, zoe, _ := churchWithMembers(t, s, b, "Grace Chapel", "ruth@grace.example.org")
		b.get("/members?q=zoe").want(t, 200, "1 member matches", "/members/"+zoe).lacks(t, "Juan")
		b.get("/members?q="+url.QueryEscape("(312) 555-0602")).want(t, 200, "Juan").lacks(t, "Zoë")
		b.get("/members?consent=opted_out").want(t, 200, "Juan").lacks(t, "Zoë")
		g := addGroup(t, s, tok, "Choir")
		b.get("/members?group="+g).want(t, 200, "0 members match", "No member matches")
		frag := b.do2("GET", "/members?q=juan", nil, map[string]string{"HX-Request": "true"})
		frag.want(t, 200, `id="results"`, "Juan").lacks(t, "<html", "Zoë")
		b.get("/members?q="+strings.Repeat("x", 300)).want(t, 400, "Please use at most 200 characters.")
		b.get("/members?consent=maybe").want(t, 400)
		b.get("/members?cursor=garbage").lacksStatus(t, 500)
		b.get("/members?group="+steeple.NewID()).want(t, 404)
	})
}

// Paging: 50 a page with a link to the next one and back to the first.
func TestMemberListPages(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		b := newBrowser(t, s, "en")
		b.signUp("Grace Chapel", "ruth@grace.example.org")
		tok := apiToken(t, s, "ruth@grace.example.org", b.tenantOf())
		for i := 0; i < 52; i++ {
			addMember(t, s, tok, "Member", string(rune('A'+i%26))+string(rune('a'+i/26)), "+1312555"+pad4(700+i), false)
		}
		first := b.get("/members").want(t, 200, "52 members", "Next page")
		if n := strings.Count(first.Body, `name="id"`); n != 50 {
			t.Fatalf("first page has %d rows", n)
		}
		next := regexp.MustCompile(`href="(/members\?cursor=[^"]+)"`).FindStringSubmatch(first.Body)
		if next == nil {
			t.Fatal("no next link")
		}
		second := b.get(strings.ReplaceAll(next[1], "&amp;", "&")).want(t, 200, "Back to the first page")
		if n := strings.Count(second.Body, `name="id"`); n != 2 {
			t.Fatalf("second page has %d rows", n)
		}
	})
}

func pad4(n int) string { s := "000" + itoa(n); return s[len(s)-4:] }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	out := ""
	for ; n > 0; n /= 10 {
		out = string(rune('0'+n%10)) + out
	}
	return out
}

// Bulk actions by ticked ids and by filter; delete asks first with the
// count; no selection or no action is an error on the page.
func TestMemberBulk(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		b := newBrowser(t, s, "en")
		tok, zoe, juan := churchWithMembers(t, s, b, "Grace Chapel", "ruth@grace.example.org")
		g := addGroup(t, s, tok, "Choir")

		// By ids.
		p := b.post("/members/bulk", url.Values{"action": {"add_to_group"}, "group_id": {g}, "id": {zoe}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("bulk: %d %s", p.Status, p.Body)
		}
		b.follow(p).want(t, 200, "Added 1 member to the group.")
		b.get("/members?group="+g).want(t, 200, "Zoë").lacks(t, "Juan")

		// By filter: everyone matching "pérez" (accents or not).
		p = b.post("/members/bulk", url.Values{"action": {"add_to_group"}, "group_id": {g}, "all": {"yes"}, "q": {"perez"}})
		b.follow(p).want(t, 200, "Added 1 member to the group.")
		b.get("/members?group="+g).want(t, 200, "Zoë", "Juan", "2 members match")

		// Errors beside the form, the ticks kept.
		b.post("/members/bulk", url.Values{"action": {"add_to_group"}}).want(t, 400, "Tick at least one member")
		b.post("/members/bulk", url.Values{"id": {juan}}).want(t, 400, "Choose what to do.", `value="`+juan+`" id="sel-`+juan+`" checked`)
		b.post("/members/bulk", url.Values{"action": {"add_to_group"}, "id": {juan}}).want(t, 400, "This is required.")

		// Record consent in person for the filter; Juan opts in.
		p = b.post("/members/bulk", url.Values{"action": {"record_consent"}, "note": {"welcome card"}, "all": {"yes"}, "consent": {"opted_out"}})
		b.follow(p).want(t, 200, "Recorded consent for 1 member.")
		b.get("/members/"+juan).want(t, 200, "asked in person", "welcome card")

		// Delete by filter: a confirmation with the count, then done.
		b.post("/members/bulk", url.Values{"action": {"delete"}, "all": {"yes"}, "group": {g}}).
			want(t, 200, "Delete 2 members? This cannot be undone", `name="confirm" value="yes"`)
		p = b.post("/members/bulk", url.Values{"action": {"delete"}, "all": {"yes"}, "group": {g}, "confirm": {"yes"}})
		b.follow(p).want(t, 200, "Deleted 2 members.", "0 members")
	})
}

// Adding and editing a member: errors beside fields with the typed input
// kept; an edit changes only the fields the form sent; consent given in
// person is recorded with its note; a member's own STOP is explained and
// cannot be undone; delete asks first.
func TestMemberForms(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		b := newBrowser(t, s, "en")
		_, zoe, _ := churchWithMembers(t, s, b, "Grace Chapel", "ruth@grace.example.org")

		b.post("/members/new", url.Values{"first_name": {" "}, "phone": {"12"}, "email": {"x@"}, "last_name": {"O'Neil <b>"}}).
			want(t, 400, "This is required.", "This is not a valid phone number.", "This is not a valid email address.", `value="O&#39;Neil &lt;b&gt;"`)
		p := b.post("/members/new", url.Values{"first_name": {"Ana"}, "last_name": {"Lima"}, "phone": {"312.555.0603"}, "email": {"ana@example.org"}, "consent": {"yes"}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("create: %d %s", p.Status, p.Body)
		}
		// The number is shown as a US church writes it, not as stored.
		b.follow(p).want(t, 200, "Saved.", `value="(312) 555-0603"`, "ana@example.org", "Receives texts").lacks(t, "&#43;13125550603")
		id := strings.TrimSuffix(strings.TrimPrefix(p.Location, "/members/"), "?saved=1")
		b.get("/members").want(t, 200, "(312) 555-0603").lacks(t, "&#43;13125550603")
		// Saving the page as shown keeps the same number and her consent.
		p = b.post("/members/"+id, url.Values{"first_name": {"Ana"}, "last_name": {"Lima"}, "phone": {"(312) 555-0603"}, "email": {"ana@example.org"}})
		b.follow(p).want(t, 200, "Saved.", `value="(312) 555-0603"`, "Receives texts")

		// Only first_name sent: the email and phone stay.
		p = b.post("/members/"+id, url.Values{"first_name": {"Ana María"}})
		b.follow(p).want(t, 200, "Ana María", "ana@example.org", "(312) 555-0603")
		b.post("/members/"+id, url.Values{"first_name": {"Ana"}, "phone": {"nope"}}).want(t, 400, "This is not a valid phone number.", `value="nope"`)

		// Consent in person, with a note, shown in the history.
		p = b.post("/members/"+id+"/consent", url.Values{"status": {"opted_out"}, "note": {"asked at the desk"}})
		b.follow(p).want(t, 200, "asked in person", "asked at the desk", "Does not receive texts")
		b.post("/members/"+id+"/consent", url.Values{"status": {"maybe"}}).want(t, 400, "Please choose one of the two.")
		b.post("/members/"+id+"/consent", url.Values{"status": {"opted_in"}, "note": {strings.Repeat("n", 600)}}).want(t, 400, "Please use at most 500 characters.")

		// Zoë texts STOP: the page explains, and an admin cannot undo it.
		textIn(t, s, b.tenantOf(), "+13125550601", "STOP")
		b.get("/members/"+zoe).want(t, 200, "Only they can start again", "they texted STOP or START", `value="opted_in" disabled`)
		b.post("/members/"+zoe+"/consent", url.Values{"status": {"opted_in"}, "note": {"changed her mind"}}).
			want(t, 400, "only they can start again, by texting START")
		b.get("/members/"+zoe).lacks(t, "changed her mind")

		// Delete asks first, then the member is gone.
		b.post("/members/"+id+"/delete", nil).want(t, 200, "Delete Ana María Lima?", `name="confirm"`)
		b.get("/members/"+id).want(t, 200)
		p = b.post("/members/"+id+"/delete", url.Values{"confirm": {"yes"}})
		b.follow(p).want(t, 200, "Deleted 1 member.")
		b.get("/members/"+id).want(t, 404)
	})
}

// textIn delivers an inbound text to the church, as its number's webhook would.
func textIn(t *testing.T, s *testkit.Server, tenantID, from, text string) {
	t.Helper()
	ctx := context.Background()
	church := "+13125559101"
	_ = s.Tenancy.Registry.AssignNumber(ctx, tenantID, church)
	h, err := s.Tenancy.Manager.Acquire(ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	s.Clock.Add(time.Second)
	if _, err := s.Inbox.ApplyInbound(ctx, h, &telnyx.MessagePayload{ID: steeple.NewID(), From: telnyx.Endpoint{PhoneNumber: from},
		To: []telnyx.Recipient{{PhoneNumber: church}}, Text: text}); err != nil {
		t.Fatal(err)
	}
}

// do2 is do with extra request headers (an htmx request).
func (b *browser) do2(method, path string, form url.Values, headers map[string]string) *page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(context.Background(), method, b.s.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if method != http.MethodGet {
		req.Header.Set("Origin", b.origin)
	}
	req.Header.Set("Accept-Language", b.lang)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	for _, c := range b.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return &page{Status: resp.StatusCode, Header: resp.Header, Body: string(raw), Location: resp.Header.Get("Location")}
}

// lacksStatus checks the answer is not the given status.
func (p *page) lacksStatus(t *testing.T, status int) *page {
	t.Helper()
	if p.Status == status {
		t.Fatalf("status %d:\n%s", p.Status, p.Body)
	}
	return p
}
