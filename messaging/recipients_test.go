package messaging_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
)

// The messages list carries counts and a delivery rate; recipients come
// with name and phone, filter by status, page by cursor and download as CSV.
func TestBroadcastCountsAndRecipients(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		t.Parallel()
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c := s.Church(t, testkit.ChurchOptions{Name: "Count Church", Email: "owner@count.example.org", Number: "+13125550920"})
		o := s.Church(t, testkit.ChurchOptions{Name: "Other Count Church", Email: "owner@othercount.example.org", Number: "+13125550921"})
		ids := importMembers(t, s, c, membersCSV("Ct", 6400, 6405)).ids()
		sort.Strings(ids)
		id := c.API(s).Broadcast(t, map[string]any{"text": "Hello", "audience": map[string]any{"member_ids": ids}})
		ctx := context.Background()
		h, err := s.Tenancy.Manager.Acquire(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		set := func(i int, u store.RecipientUpdate) {
			if err := s.Store.UpdateRecipient(ctx, h, id, ids[i], u); err != nil {
				t.Fatal(err)
			}
		}
		// 0 delivered (sent, then its receipt), 1 sent, 2 failed, 3 skipped, 4 queued.
		set(0, store.RecipientUpdate{Status: steeple.RecipientSent, ProviderID: "p0"})
		if _, err := h.ExecContext(ctx, `UPDATE message_recipients SET status = 'delivered' WHERE message_id = $1 AND member_id = $2`, id, ids[0]); err != nil {
			t.Fatal(err)
		}
		set(1, store.RecipientUpdate{Status: steeple.RecipientSent, ProviderID: "p1"})
		set(2, store.RecipientUpdate{Status: steeple.RecipientFailed, ErrorCode: "40300", ErrorDetail: "=HYPERLINK(\"x\") landline"})
		set(3, store.RecipientUpdate{Status: steeple.RecipientSkipped, ErrorDetail: "member opted out or was removed"})
		h.Release()

		r := s.Do(t, "GET", "/api/v1/messages", c.Token, nil)
		var list struct {
			Messages []struct {
				ID             string
				Counts         map[string]int
				DeliveryRate   *float64 `json:"delivery_rate"`
				Timezone       string
				CreatedAtLocal string `json:"created_at_local"`
			}
		}
		testkit.DecodeJSON(t, r.Raw, &list)
		if len(list.Messages) != 1 || list.Messages[0].Counts == nil {
			t.Fatalf("list: %s", r.Raw)
		}
		m := list.Messages[0]
		want := map[string]int{"queued": 1, "sending": 0, "sent": 1, "delivered": 1, "failed": 1, "skipped": 1}
		for k, v := range want {
			if m.Counts[k] != v {
				t.Fatalf("counts %v; want %v", m.Counts, want)
			}
		}
		if m.Timezone != "America/Chicago" || !strings.HasSuffix(m.CreatedAtLocal, "-06:00") {
			t.Fatalf("local time: %q %q", m.Timezone, m.CreatedAtLocal)
		}
		if m.DeliveryRate == nil || *m.DeliveryRate != 0.333 {
			t.Fatalf("delivery rate %v; want 0.333", m.DeliveryRate)
		}

		type page struct {
			Recipients []store.RecipientRow
			NextCursor string `json:"next_cursor"`
		}
		get := func(q string) page {
			t.Helper()
			r := s.Do(t, "GET", "/api/v1/messages/"+id+"/recipients"+q, c.Token, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("recipients%s: %d %s", q, r.Status, r.Raw)
			}
			var p page
			testkit.DecodeJSON(t, r.Raw, &p)
			return p
		}
		var all []store.RecipientRow
		for cur, n := "", 0; ; n++ {
			p := get("?limit=2&cursor=" + cur)
			all = append(all, p.Recipients...)
			if p.NextCursor == "" {
				break
			}
			if n > 5 {
				t.Fatal("paging does not end")
			}
			cur = p.NextCursor
		}
		if len(all) != 5 {
			t.Fatalf("paged %d recipients; want 5", len(all))
		}
		for i, rc := range all {
			if rc.MemberID != ids[i] || !strings.HasPrefix(rc.FirstName, "Ct") || rc.LastName != "Member" || !strings.HasPrefix(rc.Phone, "+1312200") {
				t.Fatalf("recipient %d: %+v", i, rc)
			}
		}
		if p := get("?status=failed"); len(p.Recipients) != 1 || p.Recipients[0].MemberID != ids[2] || p.Recipients[0].ErrorCode != "40300" {
			t.Fatalf("failed: %+v", p)
		}
		if r := s.Do(t, "GET", "/api/v1/messages/"+id+"/recipients?status=lost", c.Token, nil); r.Status != http.StatusBadRequest ||
			!strings.Contains(r.Raw, `"status"`) {
			t.Fatalf("bad status: %d %s", r.Status, r.Raw)
		}
		for _, path := range []string{"/recipients", "/recipients.csv"} {
			if r := s.Do(t, "GET", "/api/v1/messages/"+id+path, o.Token, nil); r.Status != http.StatusNotFound {
				t.Fatalf("another church's %s: %d", path, r.Status)
			}
		}

		r = s.Do(t, "GET", "/api/v1/messages/"+id+"/recipients.csv", c.Token, nil)
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("csv: %d %v", r.Status, r.Header)
		}
		recs, err := csv.NewReader(strings.NewReader(r.Raw)).ReadAll()
		if err != nil || len(recs) != 6 || recs[0][0] != "First name" || recs[3][3] != "failed" ||
			!strings.HasPrefix(recs[3][5], "'=") || recs[1][2] != all[0].Phone {
			t.Fatalf("csv (%v): %q", err, recs)
		}

		// Duplicate: the same text and audience, as a request to send again.
		r = s.Do(t, "POST", "/api/v1/messages/"+id+"/duplicate", c.Token, nil)
		var d struct {
			Draft struct {
				Text     string
				Audience struct {
					MemberIDs []string `json:"member_ids"`
				}
			}
		}
		testkit.DecodeJSON(t, r.Raw, &d)
		if r.Status != http.StatusOK || d.Draft.Text != "Hello" || len(d.Draft.Audience.MemberIDs) != 5 {
			t.Fatalf("duplicate: %d %s", r.Status, r.Raw)
		}
		if r := s.Do(t, "POST", "/api/v1/messages/"+id+"/duplicate", o.Token, nil); r.Status != http.StatusNotFound {
			t.Fatalf("another church's duplicate: %d", r.Status)
		}
	})
}
