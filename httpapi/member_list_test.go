package httpapi_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// memberPage is GET /api/v1/members as the API answers it.
type memberPage struct {
	Members    []apiMember `json:"members"`
	Total      int         `json:"total"`
	NextCursor string      `json:"next_cursor"`
}

func pageMembers(t *testing.T, s *testkit.Server, token string, q url.Values) memberPage {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/members?"+q.Encode(), token, nil)
	wantStatus(t, r, http.StatusOK)
	var p memberPage
	r.Decode(t, &p)
	return p
}

func newGroup(t *testing.T, s *testkit.Server, token, name string) apiGroup {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/groups", token, map[string]any{"name": name})
	wantStatus(t, r, http.StatusCreated)
	var g apiGroup
	r.Decode(t, &g)
	return g
}

// The member list finds names whatever their accents and case, phones in
// any common format, filters by group and consent with the filter's total,
// and pages without repeating or skipping anyone while members are added.
func TestMemberListSearchFiltersPaging(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		a := signup(t, s, "Grace Chapel", "owner@grace.example.org", pw1)
		other := signup(t, s, "Hope Church", "owner@hope.example.org", pw2)
		zoe := postMember(t, s, a.access, "Zoë", "Brontë", "+13125550142", true)
		jose := postMember(t, s, a.access, "JOSÉ", "Núñez", "+13125550143", false)
		postMember(t, s, a.access, "Zoe", "Plain", "+13125550144", true)
		postMember(t, s, a.access, "Zoltan", "Kodaly", "+13125550145", true)
		postMember(t, s, other.access, "Zoë", "Elsewhere", "+13125550146", true)

		for q, want := range map[string]string{
			"zoe":             "Zoë Brontë, Zoe Plain",
			"ZOË":             "Zoë Brontë, Zoe Plain",
			"jose":            "JOSÉ Núñez",
			"nunez":           "JOSÉ Núñez",
			"Núñez":           "JOSÉ Núñez",
			"bronte":          "Zoë Brontë",
			"(312) 555-0142":  "Zoë Brontë",
			"312-555-0142":    "Zoë Brontë",
			"+1 312 555 0142": "Zoë Brontë",
			"312.555.0142":    "Zoë Brontë",
			"3125550142":      "Zoë Brontë",
			"555-0142":        "",
		} {
			p := pageMembers(t, s, a.access, url.Values{"q": {q}})
			if got := memberNames(p.Members); got != want || p.Total != len(p.Members) {
				t.Errorf("q=%q: %q (total %d); want %q", q, got, p.Total, want)
			}
		}

		choir := newGroup(t, s, a.access, "Choir")
		wantStatus(t, s.Do(t, "POST", "/api/v1/groups/"+choir.ID+"/members", a.access, map[string]any{"member_ids": []string{zoe.ID, jose.ID}}), http.StatusNoContent)
		for _, c := range []struct {
			q    url.Values
			want string
		}{
			{url.Values{"group_id": {choir.ID}}, "JOSÉ Núñez, Zoë Brontë"},
			{url.Values{"consent": {"opted_out"}}, "JOSÉ Núñez"},
			{url.Values{"consent": {"opted_in"}, "group_id": {choir.ID}}, "Zoë Brontë"},
			{url.Values{"consent": {"opted_in"}, "q": {"zo"}}, "Zoë Brontë, Zoe Plain, Zoltan Kodaly"},
		} {
			p := pageMembers(t, s, a.access, c.q)
			if got := memberNames(p.Members); got != c.want || p.Total != len(p.Members) {
				t.Errorf("%v: %q (total %d); want %q", c.q, got, p.Total, c.want)
			}
		}
		r := s.Do(t, "GET", "/api/v1/members?consent=maybe", a.access, nil)
		wantError(t, r, http.StatusBadRequest, "invalid")
		wantField(t, r, "consent")
		otherGroup := newGroup(t, s, other.access, "Their choir")
		wantError(t, s.Do(t, "GET", "/api/v1/members?group_id="+otherGroup.ID, a.access, nil), http.StatusNotFound, "not_found")

		// Paging: 2 at a time, with members added between pages, before and
		// after the cursor: nobody seen twice, nobody present all along missed.
		seen := map[string]int{}
		q := url.Values{"limit": {"2"}}
		first := pageMembers(t, s, a.access, q)
		if first.Total != 4 || len(first.Members) != 2 || first.NextCursor == "" {
			t.Fatalf("first page: %+v", first)
		}
		page, added := first, 0
		for {
			for _, m := range page.Members {
				seen[m.ID]++
			}
			if page.NextCursor == "" {
				break
			}
			if added == 0 {
				postMember(t, s, a.access, "Aaron", "New", "+13125550160", true)
				postMember(t, s, a.access, "Zuriel", "New", "+13125550161", true)
				added = 2
			}
			q.Set("cursor", page.NextCursor)
			page = pageMembers(t, s, a.access, q)
		}
		for _, id := range []string{zoe.ID, jose.ID} {
			if seen[id] != 1 {
				t.Fatalf("member %s seen %d times while paging", id, seen[id])
			}
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("member %s seen %d times while paging", id, n)
			}
		}
		// Aaron sorts before the cursor (not on a later page); Zuriel after it.
		if len(seen) != 5 {
			t.Fatalf("paging saw %d members; want the 4 present all along and Zuriel", len(seen))
		}
	})
}
