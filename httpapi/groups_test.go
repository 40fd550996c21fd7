package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
)

// apiGroup is a group as the API shows it.
type apiGroup struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Members int    `json:"members"`
}

func getGroup(t *testing.T, s *testkit.Server, token, id string) apiGroup {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/groups/"+id, token, nil)
	wantStatus(t, r, http.StatusOK)
	var g apiGroup
	r.Decode(t, &g)
	return g
}

func groupMemberNames(t *testing.T, s *testkit.Server, token, id string) string {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/groups/"+id+"/members", token, nil)
	wantStatus(t, r, http.StatusOK)
	var page struct{ Members []apiMember }
	r.Decode(t, &page)
	return memberNames(page.Members)
}

// testGroups checks group CRUD, membership changes (all or nothing) and
// that another church sees none of it.
func testGroups(t *testing.T, s *testkit.Server, a, other *account) {
	r := s.Do(t, "POST", "/api/v1/groups", a.access, map[string]any{"name": " Ushers "})
	wantStatus(t, r, http.StatusCreated)
	var g apiGroup
	r.Decode(t, &g)
	if g.Name != "Ushers" || g.Members != 0 {
		t.Fatalf("created group: %+v", g)
	}
	wantError(t, s.Do(t, "POST", "/api/v1/groups", a.access, map[string]any{"name": "USHERS"}), http.StatusConflict, "conflict")
	r = s.Do(t, "POST", "/api/v1/groups", a.access, map[string]any{"name": "  "})
	wantError(t, r, http.StatusBadRequest, "invalid")
	wantField(t, r, "name")
	deacons := s.Do(t, "POST", "/api/v1/groups", a.access, map[string]any{"name": "Deacons"})
	wantStatus(t, deacons, http.StatusCreated)

	r = s.Do(t, "PATCH", "/api/v1/groups/"+g.ID, a.access, map[string]any{"name": "Greeters"})
	wantStatus(t, r, http.StatusOK)
	if r.Decode(t, &g); g.Name != "Greeters" {
		t.Fatalf("renamed group: %+v", g)
	}
	wantError(t, s.Do(t, "PATCH", "/api/v1/groups/"+g.ID, a.access, map[string]any{"name": "deacons"}), http.StatusConflict, "conflict")

	anna := postMember(t, s, a.access, "Anna", "Phanuel", "+13125550401", true)
	simeon := postMember(t, s, a.access, "Simeon", "Temple", "+13125550402", true)
	zacc := postMember(t, s, a.access, "Zacchaeus", "Jericho", "+13125550403", true)
	olga := postMember(t, s, other.access, "Olga", "Other", "+13125550404", true)
	add := func(ids ...string) *testkit.Response {
		return s.Do(t, "POST", "/api/v1/groups/"+g.ID+"/members", a.access, map[string]any{"member_ids": ids})
	}
	wantStatus(t, add(anna.ID, simeon.ID), http.StatusNoContent)
	wantStatus(t, add(anna.ID), http.StatusNoContent) // already in: fine
	if got := groupMemberNames(t, s, a.access, g.ID); got != "Anna Phanuel, Simeon Temple" {
		t.Fatalf("group members: %s", got)
	}
	var m apiMember
	s.Do(t, "GET", "/api/v1/members/"+anna.ID, a.access, nil).Decode(t, &m)
	if len(m.Groups) != 1 || m.Groups[0].ID != g.ID || m.Groups[0].Name != "Greeters" {
		t.Fatalf("member's groups: %+v", m.Groups)
	}
	// All or nothing: an unknown id (or another church's member) adds no one.
	for _, bad := range []string{steeple.NewID(), olga.ID, "not-an-id"} {
		msg := wantError(t, add(zacc.ID, bad), http.StatusNotFound, "not_found")
		if !strings.Contains(msg, bad) {
			t.Errorf("adding unknown member %s: message %q does not name it", bad, msg)
		}
	}
	if n := getGroup(t, s, a.access, g.ID).Members; n != 2 {
		t.Fatalf("group has %d members after refused additions; want 2", n)
	}
	r = add()
	wantError(t, r, http.StatusBadRequest, "invalid")
	wantField(t, r, "member_ids")
	wantError(t, s.Do(t, "POST", "/api/v1/groups/"+steeple.NewID()+"/members", a.access, map[string]any{"member_ids": []string{anna.ID}}),
		http.StatusNotFound, "not_found")

	wantStatus(t, s.Do(t, "DELETE", "/api/v1/groups/"+g.ID+"/members/"+anna.ID, a.access, nil), http.StatusNoContent)
	if got := groupMemberNames(t, s, a.access, g.ID); got != "Simeon Temple" {
		t.Fatalf("after removing Anna: %s", got)
	}
	wantStatus(t, s.Do(t, "DELETE", "/api/v1/members/"+simeon.ID, a.access, nil), http.StatusNoContent)
	if n := getGroup(t, s, a.access, g.ID).Members; n != 0 {
		t.Fatalf("group counts %d members after its last member was deleted; want 0", n)
	}
	wantStatus(t, add(zacc.ID), http.StatusNoContent)

	var list struct{ Groups []apiGroup }
	s.Do(t, "GET", "/api/v1/groups", a.access, nil).Decode(t, &list)
	found := false
	for _, x := range list.Groups {
		found = found || (x.ID == g.ID && x.Name == "Greeters" && x.Members == 1)
	}
	if !found {
		t.Fatalf("group list %+v lacks Greeters with 1 member", list.Groups)
	}

	// Another church sees nothing of it.
	for _, req := range []struct{ method, path string }{
		{"GET", "/api/v1/groups/" + g.ID}, {"PATCH", "/api/v1/groups/" + g.ID}, {"DELETE", "/api/v1/groups/" + g.ID},
		{"GET", "/api/v1/groups/" + g.ID + "/members"}, {"POST", "/api/v1/groups/" + g.ID + "/members"},
		{"DELETE", "/api/v1/groups/" + g.ID + "/members/" + zacc.ID},
	} {
		var body any
		switch req.method {
		case "PATCH":
			body = map[string]any{"name": "Taken"}
		case "POST":
			body = map[string]any{"member_ids": []string{olga.ID}}
		}
		wantError(t, s.Do(t, req.method, req.path, other.access, body), http.StatusNotFound, "not_found")
	}
	s.Do(t, "GET", "/api/v1/groups", other.access, nil).Decode(t, &list)
	if len(list.Groups) != 0 {
		t.Fatalf("other church lists groups %+v", list.Groups)
	}

	wantStatus(t, s.Do(t, "DELETE", "/api/v1/groups/"+g.ID, a.access, nil), http.StatusNoContent)
	wantError(t, s.Do(t, "GET", "/api/v1/groups/"+g.ID, a.access, nil), http.StatusNotFound, "not_found")
	wantError(t, s.Do(t, "DELETE", "/api/v1/groups/"+g.ID, a.access, nil), http.StatusNotFound, "not_found")
	wantStatus(t, s.Do(t, "GET", "/api/v1/members/"+zacc.ID, a.access, nil), http.StatusOK) // members stay
}

// apiTemplate is a template as the API shows it.
type apiTemplate struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Body string `json:"body"`
}

// testTemplates checks template CRUD and validation; rendering is checked
// where texts are sent (TestMessagesAPI).
func testTemplates(t *testing.T, s *testkit.Server, a, other *account) {
	r := s.Do(t, "POST", "/api/v1/templates", a.access, map[string]any{"name": "Welcome", "body": "Hi {first_name}, welcome to {church_name}!"})
	wantStatus(t, r, http.StatusCreated)
	var tp apiTemplate
	r.Decode(t, &tp)
	wantError(t, s.Do(t, "POST", "/api/v1/templates", a.access, map[string]any{"name": "welcome", "body": "x"}), http.StatusConflict, "conflict")
	r = s.Do(t, "POST", "/api/v1/templates", a.access, map[string]any{"name": "Bad", "body": "Dear {last_name}"})
	wantError(t, r, http.StatusBadRequest, "invalid")
	if f := r.Fields(t)["body"]; !strings.Contains(f, "{last_name}") {
		t.Fatalf("unknown placeholder: fields.body = %v; want it named", f)
	}
	r = s.Do(t, "POST", "/api/v1/templates", a.access, map[string]any{"name": "", "body": " "})
	wantError(t, r, http.StatusBadRequest, "invalid")
	wantField(t, r, "name")
	wantField(t, r, "body")

	r = s.Do(t, "PUT", "/api/v1/templates/"+tp.ID, a.access, map[string]any{"name": "Welcome back", "body": "Good to see you, {first_name}."})
	wantStatus(t, r, http.StatusOK)
	var got apiTemplate
	s.Do(t, "GET", "/api/v1/templates/"+tp.ID, a.access, nil).Decode(t, &got)
	if got.Name != "Welcome back" || got.Body != "Good to see you, {first_name}." {
		t.Fatalf("template after PUT: %+v", got)
	}
	var list struct{ Templates []apiTemplate }
	s.Do(t, "GET", "/api/v1/templates", a.access, nil).Decode(t, &list)
	if len(list.Templates) != 1 || list.Templates[0].ID != tp.ID {
		t.Fatalf("template list: %+v", list.Templates)
	}
	for _, method := range []string{"GET", "PUT", "DELETE"} {
		var body any
		if method == "PUT" {
			body = map[string]any{"name": "Mine now", "body": "x"}
		}
		wantError(t, s.Do(t, method, "/api/v1/templates/"+tp.ID, other.access, body), http.StatusNotFound, "not_found")
	}
	wantStatus(t, s.Do(t, "DELETE", "/api/v1/templates/"+tp.ID, a.access, nil), http.StatusNoContent)
	wantError(t, s.Do(t, "GET", "/api/v1/templates/"+tp.ID, a.access, nil), http.StatusNotFound, "not_found")
}
