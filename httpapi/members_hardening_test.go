package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
)

// A very long search is refused with a field error (it answered 500 with
// "LIKE or GLOB pattern too complex"), and % and _ are matched literally.
func TestMemberSearchBounded(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		a := signup(t, s, "Grace Chapel", "owner@grace.example.org", pw1)
		postMember(t, s, a.access, "Fifty", "50% Club", "+13125550601", true)
		postMember(t, s, a.access, "Fifty", "500 Club", "+13125550602", true)
		postMember(t, s, a.access, "Under", "a_b", "+13125550603", true)
		postMember(t, s, a.access, "Under", "axb", "+13125550604", true)

		r := s.Do(t, "GET", "/api/v1/members?"+url.Values{"q": {strings.Repeat("a%", 2_500)}}.Encode(), a.access, nil)
		wantError(t, r, http.StatusBadRequest, "invalid")
		wantField(t, r, "q")
		// ~50,000 characters (the reported 500) pass the server's header
		// limit no more: a clear 431 before any handler runs.
		wantStatus(t, s.Do(t, "GET", "/api/v1/members?"+url.Values{"q": {strings.Repeat("a%", 25_000)}}.Encode(), a.access, nil),
			http.StatusRequestHeaderFieldsTooLarge)
		wantStatus(t, s.Do(t, "GET", "/api/v1/members?q="+strings.Repeat("a", 200), a.access, nil), http.StatusOK)

		for q, want := range map[string]string{"50%": "Fifty 50% Club", "a_b": "Under a_b"} {
			if ms, _ := listMembers(t, s, a.access, url.Values{"q": {q}}); memberNames(ms) != want {
				t.Errorf("search %q found %q; want only %q", q, memberNames(ms), want)
			}
		}
	})
}

// Each import limit says what it is: a file over the size limit is not
// answered with the row limit's message, and the other way round.
func TestImportLimitMessages(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		a := signup(t, s, "Grace Chapel", "owner@grace.example.org", pw1)
		var big strings.Builder
		big.WriteString("First Name,Mobile Phone Number,Notes\n")
		notes := strings.Repeat("n", 3000)
		for i := 0; big.Len() <= 21<<20; i++ { // ~7,000 rows: fewer than the row limit
			fmt.Fprintf(&big, "P%d,+1312555%04d,%s\n", i, i%10000, notes)
		}
		r := importCSV(t, s, a.access, nil, "text/csv", strings.NewReader(big.String()))
		// Refused before the body is read in full (and before the church's
		// database is taken), naming the size limit.
		msg := wantError(t, r, http.StatusRequestEntityTooLarge, "too_large")
		if !strings.Contains(msg, "20 MiB") || strings.Contains(msg, "rows") {
			t.Fatalf("oversized file: %s; want the 20 MiB size limit named", r.Raw)
		}

		var many strings.Builder
		many.WriteString("First Name,Mobile Phone Number\n")
		for i := 0; i <= 10_000; i++ {
			fmt.Fprintf(&many, "P%d,+1312%07d\n", i, i)
		}
		r = importCSV(t, s, a.access, nil, "text/csv", strings.NewReader(many.String()))
		wantError(t, r, http.StatusBadRequest, "invalid")
		if f := r.Fields(t)["file"]; !strings.Contains(fmt.Sprint(f), "more than 10000 rows, the limit") {
			t.Fatalf("10,001 rows: %s; want the row limit named", r.Raw)
		}
	})
}

// An admin cannot undo a member's own STOP, and a refused update changes
// nothing (fields and consent are one transaction); the member's START can.
func TestMemberConsentAfterStop(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		a := signup(t, s, "Grace Chapel", "owner@grace.example.org", pw1)
		const church, phone = "+13125559001", "+13125550701"
		m := postMember(t, s, a.access, "Ann", "Arbor", phone, true)
		textIn(t, s, a.tenantID, "in-stop", phone, church, "STOP")

		r := s.Do(t, "PUT", "/api/v1/members/"+m.ID, a.access, map[string]any{"first_name": "Annie", "phone": phone,
			"consent": map[string]any{"opted_in": true, "wording": "she said yes at the door"}})
		wantError(t, r, http.StatusBadRequest, "invalid")
		wantField(t, r, "consent")
		var got apiMember
		s.Do(t, "GET", "/api/v1/members/"+m.ID, a.access, nil).Decode(t, &got)
		if got.FirstName != "Ann" || got.Consent.Status != "opted_out" || got.Consent.Source != "keyword" {
			t.Fatalf("after a refused opt-in: %+v; want Ann, opted_out by keyword, unchanged", got)
		}
		// Repeating the opt-out keeps it the member's own.
		r = s.Do(t, "PUT", "/api/v1/members/"+m.ID, a.access, map[string]any{"first_name": "Annie", "phone": phone,
			"consent": map[string]any{"opted_in": false}})
		wantStatus(t, r, http.StatusOK)
		r.Decode(t, &got)
		if got.FirstName != "Annie" || got.Consent.Source != "keyword" {
			t.Fatalf("after an admin opt-out over a STOP: %+v", got)
		}

		textIn(t, s, a.tenantID, "in-start", phone, church, "START")
		s.Do(t, "GET", "/api/v1/members/"+m.ID, a.access, nil).Decode(t, &got)
		if got.Consent.Status != "opted_in" {
			t.Fatalf("after START: %+v", got.Consent)
		}
		// An opt-out the admin entered, the admin may undo.
		for _, in := range []bool{false, true} {
			r = s.Do(t, "PUT", "/api/v1/members/"+m.ID, a.access, map[string]any{"first_name": "Annie", "phone": phone,
				"consent": map[string]any{"opted_in": in, "wording": "asked at the door"}})
			wantStatus(t, r, http.StatusOK)
		}
	})
}

// A household shares a phone: each member is kept, a broadcast texts the
// phone once, a STOP from it opts them all out and START back in, and the
// conversation shows one of them.
func TestSharedPhone(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		a := signup(t, s, "Grace Chapel", "owner@grace.example.org", pw1)
		const church, shared = "+13125559001", "+13125550801"
		if err := s.Tenancy.Registry.AssignNumber(context.Background(), a.tenantID, church); err != nil {
			t.Fatal(err)
		}
		john := postMember(t, s, a.access, "John", "Smith", shared, true)
		jane := postMember(t, s, a.access, "Jane", "Smith", shared, true)
		postMember(t, s, a.access, "Kim", "Lee", "+13125550802", true)

		all := map[string]any{"all": true}
		r := s.Do(t, "POST", "/api/v1/messages/preview", a.access, map[string]any{"text": "Hi {first_name}", "audience": all})
		wantStatus(t, r, http.StatusOK)
		var pv messaging.Preview
		if r.Decode(t, &pv); pv.Recipients != 2 {
			t.Fatalf("preview: %s; want 2 recipients", r.Raw)
		}
		if pv.Excluded["duplicate phone"] != 1 {
			t.Fatalf("preview: %s; want 1 excluded for duplicate phone", r.Raw)
		}
		sendBroadcast(t, s, a.access, map[string]any{"text": "Service at 10", "audience": all})
		if texts := textsTo(s, church, shared); len(texts) != 1 {
			t.Fatalf("the shared phone got %d texts; want 1", len(texts))
		}

		consent := func(id string) string {
			var m apiMember
			s.Do(t, "GET", "/api/v1/members/"+id, a.access, nil).Decode(t, &m)
			return m.Consent.Status
		}
		conv := textIn(t, s, a.tenantID, "in-stop", shared, church, "STOP")
		if consent(john.ID) != "opted_out" || consent(jane.ID) != "opted_out" {
			t.Fatalf("after STOP from the shared phone: john %s, jane %s; want both opted_out", consent(john.ID), consent(jane.ID))
		}
		textIn(t, s, a.tenantID, "in-start", shared, church, "START")
		if consent(john.ID) != "opted_in" || consent(jane.ID) != "opted_in" {
			t.Fatalf("after START: john %s, jane %s; want both opted_in", consent(john.ID), consent(jane.ID))
		}
		textIn(t, s, a.tenantID, "in-hello", shared, church, "Hello from the Smiths")
		convs, _ := listConversations(t, s, a.access, "")
		if len(convs) != 1 || convs[0].ID != conv || convs[0].Member == nil || (convs[0].Member.ID != john.ID && convs[0].Member.ID != jane.ID) {
			t.Fatalf("conversations: %+v; want one, with John or Jane", convs)
		}
		if th := getThread(t, s, a.access, conv); len(th.Messages) < 3 {
			t.Fatalf("thread has %d messages; want the three texts at least", len(th.Messages))
		}
	})
}

// Rows whose phone another member has are created and reported as shared,
// not skipped as duplicates; the same file again updates them all.
func TestImportSharedPhone(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		a := signup(t, s, "Grace Chapel", "owner@grace.example.org", pw1)
		postMember(t, s, a.access, "Mary", "Smith", "+13125550901", true)
		csv := "First Name,Last Name,Mobile Phone Number\n" +
			"John,Smith,(312) 555-0901\n" + // 2 created, shares Mary's phone
			"Jane,Smith,312-555-0901\n" + // 3 created, shares it too
			"Jane,Smith,+13125550901\n" + // 4 duplicate of line 3
			"Kim,Lee,312-555-0902\n" // 5 created
		type answer struct {
			Created, Updated int
			Duplicates       int `json:"skipped_duplicate"`
			SharedPhone      int `json:"shared_phone"`
			Rows             []struct {
				Line        int
				Outcome     string
				SharedPhone bool `json:"shared_phone"`
			}
		}
		var ans answer
		r := importCSV(t, s, a.access, nil, "text/csv", strings.NewReader(csv))
		wantStatus(t, r, http.StatusOK)
		r.Decode(t, &ans)
		if ans.Created != 3 || ans.Duplicates != 1 || ans.SharedPhone != 2 || !ans.Rows[0].SharedPhone || !ans.Rows[1].SharedPhone || ans.Rows[3].SharedPhone {
			t.Fatalf("import: %s; want 3 created (2 sharing a phone), 1 duplicate", r.Raw)
		}
		ans = answer{}
		importCSV(t, s, a.access, nil, "text/csv", strings.NewReader(csv)).Decode(t, &ans)
		if ans.Created != 0 || ans.Updated != 3 || ans.SharedPhone != 2 {
			t.Fatalf("re-import: %+v; want 3 updated, 2 sharing a phone", ans)
		}
		if ms, _ := listMembers(t, s, a.access, url.Values{"q": {"+13125550901"}}); len(ms) != 3 {
			t.Fatalf("members with the shared phone: %s", memberNames(ms))
		}
	})
}

// A number of another country is kept, flagged not textable with the
// reason, and left out of broadcasts with that reason.
func TestMemberOutsideRegion(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		a := signup(t, s, "Grace Chapel", "owner@grace.example.org", pw1)
		uk := postMember(t, s, a.access, "Abroad", "Visitor", "+447911123456", true)
		us := postMember(t, s, a.access, "Home", "Member", "+13125551001", true)
		var m struct {
			Textable bool   `json:"textable"`
			Reason   string `json:"not_textable_reason"`
		}
		s.Do(t, "GET", "/api/v1/members/"+uk.ID, a.access, nil).Decode(t, &m)
		if m.Textable || !strings.Contains(m.Reason, "+44") || !strings.Contains(m.Reason, "region") {
			t.Fatalf("UK member: %+v; want not textable, the reason naming +44 and the region", m)
		}
		m.Textable, m.Reason = false, ""
		s.Do(t, "GET", "/api/v1/members/"+us.ID, a.access, nil).Decode(t, &m)
		if !m.Textable || m.Reason != "" {
			t.Fatalf("US member: %+v; want textable", m)
		}
		r := s.Do(t, "POST", "/api/v1/messages/preview", a.access, map[string]any{"text": "Hi", "audience": map[string]any{"all": true}})
		wantStatus(t, r, http.StatusOK)
		var pv messaging.Preview
		if r.Decode(t, &pv); pv.Recipients != 1 || !strings.Contains(r.Raw, "+44") {
			t.Fatalf("preview: %s; want 1 recipient and the UK member excluded with the reason", r.Raw)
		}
		r = s.Do(t, "POST", "/api/v1/messages/preview", a.access, map[string]any{"text": "Hi", "audience": map[string]any{"member_ids": []string{uk.ID}}})
		wantError(t, r, http.StatusBadRequest, "invalid")
		wantField(t, r, "audience")

		r = importCSV(t, s, a.access, nil, "text/csv", strings.NewReader("First Name,Mobile Phone Number\nAway,+44 7911 123457\nHere,312-555-1002\n"))
		wantStatus(t, r, http.StatusOK)
		var imp struct {
			Rows []struct {
				Reason string `json:"not_textable_reason"`
			}
		}
		r.Decode(t, &imp)
		if len(imp.Rows) != 2 || !strings.Contains(imp.Rows[0].Reason, "+44") || imp.Rows[1].Reason != "" {
			t.Fatalf("import: %s; want the UK row flagged not textable and the US row not", r.Raw)
		}
	})
}

// An import creating a group while an admin creates the same group gets
// the group, never a 500; the admin gets the group or a 409.
func TestImportRacesGroupCreation(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		a := signup(t, s, "Grace Chapel", "owner@grace.example.org", pw1)
		for i := range 15 {
			name := fmt.Sprintf("Race %d", i)
			csv := fmt.Sprintf("First Name,Mobile Phone Number,Groups\nP%d,+1312555%04d,%s\n", i, 1100+i, name)
			var wg sync.WaitGroup
			var imp, grp *testkit.Response
			wg.Add(2)
			go func() { defer wg.Done(); imp = importCSV(t, s, a.access, nil, "text/csv", strings.NewReader(csv)) }()
			go func() {
				defer wg.Done()
				grp = s.Do(t, "POST", "/api/v1/groups", a.access, map[string]any{"name": name})
			}()
			wg.Wait()
			if imp.Status != http.StatusOK {
				t.Fatalf("import racing a group creation: %d %s", imp.Status, imp.Raw)
			}
			if grp.Status != http.StatusCreated && grp.Status != http.StatusConflict {
				t.Fatalf("group creation racing an import: %d %s", grp.Status, grp.Raw)
			}
		}
	})
}
