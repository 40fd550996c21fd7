package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// apiMember is a member as the API shows it.
type apiMember struct {
	ID        string `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Phone     string `json:"phone"`
	Email     string `json:"email"`
	Groups    []struct {
		ID, Name string
	} `json:"groups"`
	Consent struct {
		Status, Source, Wording string
	} `json:"consent"`
	PhoneInvalid bool `json:"phone_invalid"`
}

// postMember creates a member (opted in unless optedIn is false) and returns it.
func postMember(t *testing.T, s *testkit.Server, token, first, last, phone string, optedIn bool) apiMember {
	t.Helper()
	body := map[string]any{"first_name": first, "last_name": last, "phone": phone}
	if optedIn {
		body["consent"] = map[string]any{"opted_in": true, "wording": "Reply YES to get church texts"}
	}
	r := s.Do(t, "POST", "/api/v1/members", token, body)
	wantStatus(t, r, http.StatusCreated)
	var m apiMember
	r.Decode(t, &m)
	return m
}

// wantField checks that an error answer names a field.
func wantField(t *testing.T, r *testkit.Response, field string) {
	t.Helper()
	if v := r.Fields(t)[field]; v == "" {
		t.Fatalf("error does not name field %q: %s", field, r.Raw)
	}
}

// listMembers returns one page of members and the next cursor.
func listMembers(t *testing.T, s *testkit.Server, token string, q url.Values) ([]apiMember, string) {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/members?"+q.Encode(), token, nil)
	wantStatus(t, r, http.StatusOK)
	var page struct {
		Members    []apiMember `json:"members"`
		NextCursor string      `json:"next_cursor"`
	}
	r.Decode(t, &page)
	return page.Members, page.NextCursor
}

func memberNames(ms []apiMember) string {
	var names []string
	for _, m := range ms {
		names = append(names, m.FirstName+" "+m.LastName)
	}
	return strings.Join(names, ", ")
}

func TestMembersAPI(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		a := signup(t, s, "Grace Chapel", "owner@grace.example.org", pw1)
		other := signup(t, s, "Other Church", "owner@other.example.org", pw2)

		t.Run("create, read, update, delete", func(t *testing.T) {
			r := s.Do(t, "POST", "/api/v1/members", a.access, map[string]any{"first_name": " Ruth ", "last_name": "Boaz",
				"phone": "(312) 555-0101", "email": "Ruth@Example.ORG", "consent": map[string]any{"opted_in": true, "wording": "Text me"}})
			wantStatus(t, r, http.StatusCreated)
			var m apiMember
			r.Decode(t, &m)
			if m.FirstName != "Ruth" || m.Phone != "+13125550101" || m.Email != "ruth@example.org" || len(m.Groups) != 0 ||
				m.Consent.Status != "opted_in" || m.Consent.Source != "admin" || m.Consent.Wording != "Text me" {
				t.Fatalf("created member: %+v", m)
			}
			var got apiMember
			s.Do(t, "GET", "/api/v1/members/"+m.ID, a.access, nil).Decode(t, &got)
			if got.ID != m.ID || got.Phone != m.Phone || got.Email != m.Email || got.Consent != m.Consent {
				t.Fatalf("GET = %+v; want %+v", got, m)
			}
			r = s.Do(t, "PUT", "/api/v1/members/"+m.ID, a.access, map[string]any{"first_name": "Ruth", "last_name": "Moabite", "phone": "+1 312 555 0102"})
			wantStatus(t, r, http.StatusOK)
			got = apiMember{} // a cleared email is left out of the answer
			r.Decode(t, &got)
			if got.LastName != "Moabite" || got.Phone != "+13125550102" || got.Email != "" || got.Consent.Status != "opted_in" {
				t.Fatalf("after PUT without consent: %+v; want new name and phone, email cleared, consent kept", got)
			}
			r = s.Do(t, "PUT", "/api/v1/members/"+m.ID, a.access, map[string]any{"first_name": "Ruth", "last_name": "Moabite",
				"phone": "+13125550102", "consent": map[string]any{"opted_in": false}})
			wantStatus(t, r, http.StatusOK)
			r.Decode(t, &got)
			if got.Consent.Status != "opted_out" || got.Consent.Source != "admin" {
				t.Fatalf("after opting out: consent %+v", got.Consent)
			}
			if n := postMember(t, s, a.access, "Silent", "Consent", "+13125550103", false); n.Consent.Status != "opted_out" {
				t.Fatalf("member created without consent: %+v; want opted_out", n.Consent)
			}
			wantStatus(t, s.Do(t, "DELETE", "/api/v1/members/"+m.ID, a.access, nil), http.StatusNoContent)
			wantError(t, s.Do(t, "GET", "/api/v1/members/"+m.ID, a.access, nil), http.StatusNotFound, "not_found")
			wantError(t, s.Do(t, "DELETE", "/api/v1/members/"+m.ID, a.access, nil), http.StatusNotFound, "not_found")
			wantError(t, s.Do(t, "PUT", "/api/v1/members/"+m.ID, a.access, map[string]any{"first_name": "Ruth", "phone": "+13125550102"}),
				http.StatusNotFound, "not_found")
			wantError(t, s.Do(t, "GET", "/api/v1/members/not-an-id", a.access, nil), http.StatusNotFound, "not_found")
		})

		t.Run("validation", func(t *testing.T) {
			r := s.Do(t, "POST", "/api/v1/members", a.access, map[string]any{"first_name": "  ", "phone": "12345", "email": "nope"})
			wantError(t, r, http.StatusBadRequest, "invalid")
			for _, f := range []string{"first_name", "phone", "email"} {
				wantField(t, r, f)
			}
			r = s.Do(t, "POST", "/api/v1/members", a.access, map[string]any{"first_name": "Invalidphone", "phone": "+1312555"})
			wantError(t, r, http.StatusBadRequest, "invalid")
			wantField(t, r, "phone")
			r = s.Do(t, "POST", "/api/v1/members", a.access, map[string]any{"first_name": "Invalidfield", "phone": "+13125550109", "nickname": "x"})
			wantError(t, r, http.StatusBadRequest, "invalid")
			for _, q := range []string{"Invalid", "+13125550109"} {
				if ms, _ := listMembers(t, s, a.access, url.Values{"q": {q}}); len(ms) != 0 {
					t.Fatalf("rejected members were created: %s", memberNames(ms))
				}
			}
		})

		t.Run("shared phone", func(t *testing.T) {
			// A household shares one mobile: each of them is a member.
			naomi := postMember(t, s, a.access, "Naomi", "Elimelech", "+13125550111", true)
			orpah := postMember(t, s, a.access, "Orpah", "Moab", "(312) 555-0111", true)
			ruth := postMember(t, s, a.access, "Ruth", "Moab", "+13125550112", true)
			r := s.Do(t, "PUT", "/api/v1/members/"+ruth.ID, a.access, map[string]any{"first_name": "Ruth", "phone": "+13125550111"})
			wantStatus(t, r, http.StatusOK)
			ms, _ := listMembers(t, s, a.access, url.Values{"q": {"+13125550111"}})
			if len(ms) != 3 || naomi.ID == orpah.ID {
				t.Fatalf("members with the shared phone: %s; want Naomi, Orpah and Ruth", memberNames(ms))
			}
			postMember(t, s, other.access, "Naomi", "Elsewhere", "+13125550111", true)
		})

		t.Run("search and pages", func(t *testing.T) {
			for i, n := range []string{"Echo", "Alpha", "Delta", "Charlie", "Bravo"} {
				postMember(t, s, a.access, "Pager", n, "+1312555021"+string(rune('0'+i)), true)
			}
			if ms, _ := listMembers(t, s, a.access, url.Values{"q": {"PAGER"}}); memberNames(ms) != "Pager Alpha, Pager Bravo, Pager Charlie, Pager Delta, Pager Echo" {
				t.Fatalf("search by name: %s", memberNames(ms))
			}
			if ms, _ := listMembers(t, s, a.access, url.Values{"q": {"r ech"}}); memberNames(ms) != "Pager Echo" {
				t.Fatalf("search by name fragment: %s", memberNames(ms))
			}
			for _, q := range []string{"(312) 555-0213", "+13125550213", "312.555.0213"} {
				if ms, _ := listMembers(t, s, a.access, url.Values{"q": {q}}); memberNames(ms) != "Pager Charlie" {
					t.Fatalf("search by phone %q: %q; want Pager Charlie", q, memberNames(ms))
				}
			}
			if ms, _ := listMembers(t, s, a.access, url.Values{"q": {"+13125550299"}}); len(ms) != 0 {
				t.Fatalf("search by unknown phone: %s", memberNames(ms))
			}
			var walked []apiMember
			q := url.Values{"q": {"pager"}, "limit": {"2"}}
			for pages := 1; ; pages++ {
				ms, next := listMembers(t, s, a.access, q)
				walked = append(walked, ms...)
				if next == "" {
					if pages != 3 {
						t.Fatalf("5 members at 2 a page took %d pages", pages)
					}
					break
				}
				if len(ms) != 2 || pages > 3 {
					t.Fatalf("page %d has %d members (next %q)", pages, len(ms), next)
				}
				q.Set("cursor", next)
			}
			if memberNames(walked) != "Pager Alpha, Pager Bravo, Pager Charlie, Pager Delta, Pager Echo" {
				t.Fatalf("walking pages: %s", memberNames(walked))
			}
			all, _ := listMembers(t, s, a.access, url.Values{"limit": {"200"}})
			walked, q = nil, url.Values{"limit": {"2"}}
			for {
				ms, next := listMembers(t, s, a.access, q)
				walked = append(walked, ms...)
				if next == "" {
					break
				}
				q.Set("cursor", next)
			}
			if memberNames(walked) != memberNames(all) {
				t.Fatalf("walking all members 2 at a time: %s; want %s", memberNames(walked), memberNames(all))
			}
			for _, bad := range []url.Values{{"cursor": {"garbage"}}, {"limit": {"0"}}, {"limit": {"201"}}, {"limit": {"ten"}}} {
				r := s.Do(t, "GET", "/api/v1/members?"+bad.Encode(), a.access, nil)
				wantError(t, r, http.StatusBadRequest, "invalid")
				for k := range bad {
					wantField(t, r, k)
				}
			}
		})

		t.Run("another church's member", func(t *testing.T) {
			m := postMember(t, s, a.access, "Lydia", "Thyatira", "+13125550121", true)
			wantError(t, s.Do(t, "GET", "/api/v1/members/"+m.ID, other.access, nil), http.StatusNotFound, "not_found")
			wantError(t, s.Do(t, "PUT", "/api/v1/members/"+m.ID, other.access, map[string]any{"first_name": "Hacked", "phone": "+13125550122"}),
				http.StatusNotFound, "not_found")
			wantError(t, s.Do(t, "DELETE", "/api/v1/members/"+m.ID, other.access, nil), http.StatusNotFound, "not_found")
			if ms, _ := listMembers(t, s, other.access, url.Values{"q": {"+13125550121"}}); len(ms) != 0 {
				t.Fatalf("other church finds %s by phone", memberNames(ms))
			}
			var got apiMember
			s.Do(t, "GET", "/api/v1/members/"+m.ID, a.access, nil).Decode(t, &got)
			if got.FirstName != "Lydia" || got.Phone != "+13125550121" {
				t.Fatalf("member after the other church's attempts: %+v", got)
			}
		})

		t.Run("import", func(t *testing.T) { testImport(t, s, a) })
		t.Run("groups", func(t *testing.T) { testGroups(t, s, a, other) })
		t.Run("templates", func(t *testing.T) { testTemplates(t, s, a, other) })
	})
}
