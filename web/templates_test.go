package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
)

// Groups: create, rename, delete (after a confirmation), errors beside the
// field with the typed name kept.
func TestGroupsPage(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		b := newBrowser(t, s, "en")
		b.signUp("Grace Chapel", "ruth@grace.example.org")
		b.get("/groups").want(t, 200, "No groups yet")
		b.post("/groups", url.Values{"name": {"  "}}).want(t, 400, "This is required.")
		b.follow(b.post("/groups", url.Values{"name": {"Choir"}})).want(t, 200, "Group created.", "Choir")
		b.post("/groups", url.Values{"name": {"choir"}}).want(t, 400, "A group with this name already exists.", `value="choir"`)
		tok := apiToken(t, s, "ruth@grace.example.org", b.tenantOf())
		youth := addGroup(t, s, tok, "Youth")
		b.post("/groups/"+youth, url.Values{"name": {strings.Repeat("y", 101)}}).want(t, 400, "Please use at most 100 characters.")
		b.follow(b.post("/groups/"+youth, url.Values{"name": {"Youth group"}})).want(t, 200, "Group renamed.", "Youth group")
		b.post("/groups/"+youth+"/delete", nil).want(t, 200, "Delete the group &#34;Youth group&#34;?", `name="confirm"`)
		b.follow(b.post("/groups/"+youth+"/delete", url.Values{"confirm": {"yes"}})).want(t, 200, "Group deleted").lacks(t, "Youth group")
	})
}

// Templates: unknown and malformed variables are a field error with the
// position and the known variables (in Spanish too); insert appends
// without script; preview fills in a real member; save and delete.
func TestTemplatesPage(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		b := newBrowser(t, s, "en")
		_, zoe, _ := churchWithMembers(t, s, b, "Grace Chapel", "ruth@grace.example.org")
		b.post("/templates/new", url.Values{"name": {"Hi"}, "body": {"Hello {frist_name}!"}}).
			want(t, 400, "We cannot fill in {frist_name}: check its spelling. You can use {first_name}, {church_name}.", "Hello {frist_name}!")
		b.post("/templates/new", url.Values{"name": {"Hi"}, "body": {"Hello {{first_name}}"}}).want(t, 400, "Malformed variable at character 7")
		p := b.post("/templates/new", url.Values{"name": {"Hi"}, "body": {"Hello "}, "variable": {"first_name"}, "op": {"insert"}})
		p.want(t, 200, ">Hello {first_name}</textarea>")
		b.post("/templates/new", url.Values{"body": {"x"}, "variable": {"pastor"}, "op": {"insert"}}).want(t, 400, "Choose a variable from the list.")
		b.post("/templates/new", url.Values{"name": {"Hi"}, "body": {"Hello {first_name}, from {church_name}"}, "member_id": {zoe}, "op": {"preview"}}).
			want(t, 200, "As Zoë Ávila would receive it:", "Hello Zoë, from Grace Chapel")
		frag := b.do2("POST", "/templates/new", url.Values{"body": {"Hi {first_name}"}, "member_id": {zoe}, "op": {"preview"}}, map[string]string{"HX-Request": "true"})
		frag.want(t, 200, `id="preview"`, "Hi Zoë").lacks(t, "<html")
		b.follow(b.post("/templates/new", url.Values{"name": {"Welcome"}, "body": {"Hi {first_name}"}})).want(t, 200, "Template saved.", "Welcome")
		b.post("/language", url.Values{"lang": {"es"}, "back": {"/"}})
		b.post("/templates/new", url.Values{"name": {"Hola"}, "body": {"Hola {nombre"}}).
			want(t, 400, "le falta la } de cierre. Variables conocidas: {first_name}, {church_name}.")
	})
}

// Another church's member, group and template: a 404 page for every GET,
// POST and fragment, and nothing changes.
func TestOtherChurchIDsAreNotFound(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		a := newBrowser(t, s, "en")
		tok, zoe, _ := churchWithMembers(t, s, a, "Grace Chapel", "ruth@grace.example.org")
		g := addGroup(t, s, tok, "Choir")
		tr := s.Do(t, "POST", "/api/v1/templates", tok, map[string]any{"name": "Welcome", "body": "Hi {first_name}!"})
		tid := tr.ID(t)

		o := newBrowser(t, s, "en")
		o.signUp("Other Church", "other@example.org")
		hx := map[string]string{"HX-Request": "true"}
		for _, p := range []*page{
			o.get("/members/" + zoe),
			o.post("/members/"+zoe, url.Values{"first_name": {"Hacked"}}),
			o.post("/members/"+zoe+"/consent", url.Values{"status": {"opted_out"}}),
			o.post("/members/"+zoe+"/delete", url.Values{"confirm": {"yes"}}),
			o.post("/members/bulk", url.Values{"action": {"delete"}, "id": {zoe}, "confirm": {"yes"}}),
			o.post("/members/bulk", url.Values{"action": {"add_to_group"}, "group_id": {g}, "all": {"yes"}}),
			o.get("/members?group=" + g),
			o.do2("GET", "/members?group="+g, nil, hx),
			o.post("/groups/"+g, url.Values{"name": {"Hacked"}}),
			o.post("/groups/"+g+"/delete", url.Values{"confirm": {"yes"}}),
			o.get("/templates/" + tid),
			o.post("/templates/"+tid, url.Values{"name": {"Hacked"}, "body": {"x"}}),
			o.post("/templates/"+tid+"/delete", url.Values{"confirm": {"yes"}}),
			o.do2("POST", "/templates/new", url.Values{"body": {"Hi {first_name}"}, "member_id": {zoe}, "op": {"preview"}}, hx),
			o.get("/members/not-an-id"),
			o.post("/members/"+zoe+"/nothing", nil),
			o.get("/templates/" + steeple.NewID()),
		} {
			if p.Status != http.StatusNotFound {
				t.Fatalf("status %d, want 404:\n%s", p.Status, p.Body)
			}
			p.lacks(t, "Zoë", "Choir", "Welcome")
		}
		a.get("/members/"+zoe).want(t, 200, "Zoë", "Receives texts")
		a.get("/groups").want(t, 200, "Choir")
		a.get("/templates").want(t, 200, "Welcome")
	})
}
