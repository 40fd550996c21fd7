package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
)

// PATCH changes only the fields sent: absent ones are never wiped; a bad
// field changes nothing; another church's member is 404.
func TestMemberPatchKeepsAbsentFields(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		a := signup(t, s, "Grace Chapel", "owner@grace.example.org", pw1)
		other := signup(t, s, "Hope Church", "owner@hope.example.org", pw2)
		r := s.Do(t, "POST", "/api/v1/members", a.access, map[string]any{"first_name": "Priscilla", "last_name": "Tentmaker",
			"phone": "+13125550501", "email": "pris@example.org", "consent": map[string]any{"opted_in": true, "wording": "yes"}})
		wantStatus(t, r, http.StatusCreated)
		var m apiMember
		r.Decode(t, &m)

		r = s.Do(t, "PATCH", "/api/v1/members/"+m.ID, a.access, map[string]any{"last_name": "of Corinth"})
		wantStatus(t, r, http.StatusOK)
		var got apiMember
		r.Decode(t, &got)
		if got.FirstName != "Priscilla" || got.LastName != "of Corinth" || got.Phone != "+13125550501" || got.Email != "pris@example.org" ||
			got.Consent.Status != "opted_in" || got.Consent.Wording != "yes" {
			t.Fatalf("after patching last_name: %+v", got)
		}
		r = s.Do(t, "PATCH", "/api/v1/members/"+m.ID, a.access, map[string]any{"phone": "(312) 555-0502"})
		wantStatus(t, r, http.StatusOK)
		if r.Decode(t, &got); got.Phone != "+13125550502" || got.Email != "pris@example.org" || got.LastName != "of Corinth" {
			t.Fatalf("after patching phone: %+v", got)
		}
		// One bad field: nothing written, each bad field named.
		r = s.Do(t, "PATCH", "/api/v1/members/"+m.ID, a.access, map[string]any{"first_name": " ", "email": "nope", "last_name": "Changed"})
		wantError(t, r, http.StatusBadRequest, "invalid")
		wantField(t, r, "first_name")
		wantField(t, r, "email")
		s.Do(t, "GET", "/api/v1/members/"+m.ID, a.access, nil).Decode(t, &got)
		if got.LastName != "of Corinth" || got.FirstName != "Priscilla" {
			t.Fatalf("a refused patch wrote: %+v", got)
		}
		// An empty email removes it; an unknown field is refused.
		r = s.Do(t, "PATCH", "/api/v1/members/"+m.ID, a.access, map[string]any{"email": ""})
		wantStatus(t, r, http.StatusOK)
		got = apiMember{}
		if r.Decode(t, &got); got.Email != "" || got.Phone != "+13125550502" {
			t.Fatalf("after clearing email: %+v", got)
		}
		wantError(t, s.Do(t, "PATCH", "/api/v1/members/"+m.ID, a.access, map[string]any{"nickname": "P"}), http.StatusBadRequest, "invalid")
		wantError(t, s.Do(t, "PATCH", "/api/v1/members/"+m.ID, other.access, map[string]any{"last_name": "Hacked"}), http.StatusNotFound, "not_found")
		wantError(t, s.Do(t, "PATCH", "/api/v1/members/"+steeple.NewID(), a.access, map[string]any{"last_name": "X"}), http.StatusNotFound, "not_found")
	})
}

// apiConsent is a consent record as the API shows it.
type apiConsent struct {
	Status, Source, Wording, Note string
	RecordedBy                    string `json:"recorded_by"`
}

// An admin records consent given in person, with their note; the history
// keeps every change; an admin cannot undo the member's own STOP; each
// change is audited without personal data.
func TestInPersonConsent(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		a := signup(t, s, "Grace Chapel", "owner@grace.example.org", pw1)
		other := signup(t, s, "Hope Church", "owner@hope.example.org", pw2)
		const church, phone = "+13125559001", "+13125550601"
		m := postMember(t, s, a.access, "Lydia", "Purple", phone, false)
		const note = "Lydia said yes at the welcome desk"
		r := s.Do(t, "POST", "/api/v1/members/"+m.ID+"/consent", a.access, map[string]any{"status": "opted_in", "source": "in_person",
			"note": note, "wording": "Get church texts? Reply STOP to opt out."})
		wantStatus(t, r, http.StatusOK)
		var got apiMember
		r.Decode(t, &got)
		if got.Consent.Status != "opted_in" || got.Consent.Source != "in_person" {
			t.Fatalf("after in-person consent: %+v", got.Consent)
		}
		r = s.Do(t, "GET", "/api/v1/members/"+m.ID+"/consent", a.access, nil)
		wantStatus(t, r, http.StatusOK)
		var hist struct {
			Consent apiConsent
			History []apiConsent
		}
		r.Decode(t, &hist)
		if len(hist.History) != 2 || hist.History[0].Status != "opted_out" || hist.History[1].Source != "in_person" ||
			hist.History[1].Note != note || hist.History[1].RecordedBy != a.adminID || hist.Consent.RecordedBy != a.adminID {
			t.Fatalf("consent history: %s", r.Raw)
		}
		for _, bad := range []map[string]any{{"status": "maybe"}, {"status": "opted_in", "source": "carrier pigeon"},
			{"status": "opted_in", "note": strings.Repeat("x", 501)}} {
			r = s.Do(t, "POST", "/api/v1/members/"+m.ID+"/consent", a.access, bad)
			wantError(t, r, http.StatusBadRequest, "invalid")
		}
		wantError(t, s.Do(t, "POST", "/api/v1/members/"+m.ID+"/consent", other.access, map[string]any{"status": "opted_out"}), http.StatusNotFound, "not_found")
		wantError(t, s.Do(t, "GET", "/api/v1/members/"+m.ID+"/consent", other.access, nil), http.StatusNotFound, "not_found")

		// The member's own STOP: an admin's in-person opt-in is refused.
		textIn(t, s, a.tenantID, "in-stop", phone, church, "STOP")
		r = s.Do(t, "POST", "/api/v1/members/"+m.ID+"/consent", a.access, map[string]any{"status": "opted_in", "source": "in_person", "note": "she changed her mind"})
		wantError(t, r, http.StatusBadRequest, "invalid")
		wantField(t, r, "consent")
		s.Do(t, "GET", "/api/v1/members/"+m.ID, a.access, nil).Decode(t, &got)
		if got.Consent.Status != "opted_out" || got.Consent.Source != "keyword" {
			t.Fatalf("after a refused opt-in over STOP: %+v", got.Consent)
		}

		audit := s.Do(t, "GET", "/api/v1/audit", a.access, nil)
		wantStatus(t, audit, http.StatusOK)
		if !strings.Contains(audit.Raw, "member.consent") || !strings.Contains(audit.Raw, "opted_in (in_person)") {
			t.Fatalf("audit log lacks the consent change: %s", audit.Raw)
		}
		for _, personal := range []string{"Lydia", "welcome desk", phone, "changed her mind"} {
			if strings.Contains(audit.Raw, personal) {
				t.Fatalf("audit log holds %q: %s", personal, audit.Raw)
			}
		}
	})
}

type bulkResult struct {
	Count, Skipped int
}

func bulk(t *testing.T, s *testkit.Server, token string, body map[string]any, status int) (*testkit.Response, bulkResult) {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/members/bulk", token, body)
	wantStatus(t, r, status)
	var res bulkResult
	if status == http.StatusOK {
		r.Decode(t, &res)
	}
	return r, res
}

// Bulk actions apply to a selection of ids or to the list's filter, in one
// transaction: an id of another church applies nothing and is 404.
func TestBulkMemberActions(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		a := signup(t, s, "Grace Chapel", "owner@grace.example.org", pw1)
		other := signup(t, s, "Hope Church", "owner@hope.example.org", pw2)
		const church = "+13125559001"
		ann := postMember(t, s, a.access, "Ann", "Arbor", "+13125550701", true)
		ben := postMember(t, s, a.access, "Ben", "Bolt", "+13125550702", false)
		cat := postMember(t, s, a.access, "Cat", "Cole", "+13125550703", false)
		dan := postMember(t, s, a.access, "Dan", "Dale", "+13125550704", false)
		olga := postMember(t, s, other.access, "Olga", "Other", "+13125550705", true)
		choir := newGroup(t, s, a.access, "Choir")
		theirs := newGroup(t, s, other.access, "Theirs")

		_, res := bulk(t, s, a.access, map[string]any{"action": "add_to_group", "group_id": choir.ID, "ids": []string{ann.ID, ben.ID, ann.ID}}, http.StatusOK)
		if res.Count != 2 || getGroup(t, s, a.access, choir.ID).Members != 2 {
			t.Fatalf("add by ids: %+v, group %+v", res, getGroup(t, s, a.access, choir.ID))
		}
		// Another church's member or group: 404, nothing applied.
		r, _ := bulk(t, s, a.access, map[string]any{"action": "add_to_group", "group_id": choir.ID, "ids": []string{cat.ID, olga.ID}}, http.StatusNotFound)
		wantError(t, r, http.StatusNotFound, "not_found")
		bulk(t, s, a.access, map[string]any{"action": "delete", "ids": []string{dan.ID, olga.ID}}, http.StatusNotFound)
		bulk(t, s, a.access, map[string]any{"action": "add_to_group", "group_id": theirs.ID, "ids": []string{cat.ID}}, http.StatusNotFound)
		if g := getGroup(t, s, a.access, choir.ID); g.Members != 2 {
			t.Fatalf("a refused bulk add changed the group: %+v", g)
		}
		wantStatus(t, s.Do(t, "GET", "/api/v1/members/"+dan.ID, a.access, nil), http.StatusOK)
		wantStatus(t, s.Do(t, "GET", "/api/v1/members/"+olga.ID, other.access, nil), http.StatusOK)

		// By filter: everyone opted out (Ben, Cat, Dan) into the group.
		_, res = bulk(t, s, a.access, map[string]any{"action": "add_to_group", "group_id": choir.ID, "filter": map[string]any{"consent": "opted_out"}}, http.StatusOK)
		if res.Count != 3 || getGroup(t, s, a.access, choir.ID).Members != 4 {
			t.Fatalf("add by filter: %+v", res)
		}
		_, res = bulk(t, s, a.access, map[string]any{"action": "remove_from_group", "group_id": choir.ID, "filter": map[string]any{"q": "cole"}}, http.StatusOK)
		if res.Count != 1 || groupMemberNames(t, s, a.access, choir.ID) != "Ann Arbor, Ben Bolt, Dan Dale" {
			t.Fatalf("remove by filter: %+v, %s", res, groupMemberNames(t, s, a.access, choir.ID))
		}

		// Record consent: Ben texted STOP himself and is skipped.
		if err := s.Tenancy.Registry.AssignNumber(t.Context(), a.tenantID, church); err != nil {
			t.Fatal(err)
		}
		textIn(t, s, a.tenantID, "in-stop", "+13125550702", church, "STOP")
		_, res = bulk(t, s, a.access, map[string]any{"action": "record_consent", "filter": map[string]any{"group_id": choir.ID, "consent": "opted_out"},
			"consent": map[string]any{"status": "opted_in", "source": "in_person", "note": "signed the card"}}, http.StatusOK)
		if res.Count != 1 || res.Skipped != 1 {
			t.Fatalf("bulk consent: %+v; want Dan recorded, Ben skipped", res)
		}
		var got apiMember
		s.Do(t, "GET", "/api/v1/members/"+dan.ID, a.access, nil).Decode(t, &got)
		if got.Consent.Status != "opted_in" || got.Consent.Source != "in_person" {
			t.Fatalf("Dan after bulk consent: %+v", got.Consent)
		}
		s.Do(t, "GET", "/api/v1/members/"+ben.ID, a.access, nil).Decode(t, &got)
		if got.Consent.Status != "opted_out" || got.Consent.Source != "keyword" {
			t.Fatalf("Ben after bulk consent: %+v", got.Consent)
		}
		r, _ = bulk(t, s, a.access, map[string]any{"action": "record_consent", "ids": []string{ann.ID}, "consent": map[string]any{"status": "yes"}}, http.StatusBadRequest)
		if r.Fields(t)["consent.status"] == "" {
			t.Fatalf("bulk consent error does not name consent.status: %s", r.Raw)
		}
		r, _ = bulk(t, s, a.access, map[string]any{"action": "delete", "ids": []string{ann.ID}, "filter": map[string]any{}}, http.StatusBadRequest)
		wantField(t, r, "ids")
		r, _ = bulk(t, s, a.access, map[string]any{"action": "paint", "ids": []string{ann.ID}}, http.StatusBadRequest)
		wantField(t, r, "action")

		// Delete by ids, then by filter.
		_, res = bulk(t, s, a.access, map[string]any{"action": "delete", "ids": []string{cat.ID}}, http.StatusOK)
		if res.Count != 1 {
			t.Fatalf("delete by ids: %+v", res)
		}
		_, res = bulk(t, s, a.access, map[string]any{"action": "delete", "filter": map[string]any{"group_id": choir.ID}}, http.StatusOK)
		if p := pageMembers(t, s, a.access, url.Values{}); res.Count != 3 || p.Total != 0 {
			t.Fatalf("delete by filter: %+v, left %s", res, memberNames(p.Members))
		}
		if p := pageMembers(t, s, other.access, url.Values{}); p.Total != 1 {
			t.Fatalf("the other church lost members: %+v", p)
		}
		csv := "First Name,Mobile Phone Number\nEve,+13125550706\n"
		wantStatus(t, importCSV(t, s, a.access, url.Values{"consent": {"opted_in"}, "wording": {"card"}}, "text/csv", strings.NewReader(csv)), http.StatusOK)
		audit := s.Do(t, "GET", "/api/v1/audit", a.access, nil)
		if !strings.Contains(audit.Raw, "consent opted_in: 1 rows imported") || strings.Contains(audit.Raw, "Eve") {
			t.Fatalf("audit of an import with consent: %s", audit.Raw)
		}
		if n := strings.Count(audit.Raw, "members.bulk"); n != 6 {
			t.Fatalf("audit has %d bulk entries; want 6: %s", n, audit.Raw)
		}
		for _, personal := range []string{"Ann", "cole", "signed the card"} {
			if strings.Contains(audit.Raw, personal) {
				t.Fatalf("audit log holds %q: %s", personal, audit.Raw)
			}
		}
	})
}
