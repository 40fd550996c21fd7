package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
)

// apiBroadcast is GET /api/v1/messages/{id}.
type apiBroadcast struct {
	Message struct {
		ID         string         `json:"id"`
		Text       string         `json:"text"`
		From       string         `json:"from"`
		Recipients int            `json:"recipients"`
		Counts     map[string]int `json:"counts"`
	} `json:"message"`
	Recipients []struct {
		MemberID string `json:"member_id"`
		Status   string `json:"status"`
	} `json:"recipients"`
}

// sendBroadcast creates a broadcast and waits until every recipient is done.
func sendBroadcast(t *testing.T, s *testkit.Server, token string, body map[string]any) apiBroadcast {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/messages", token, body)
	wantStatus(t, r, http.StatusCreated)
	id := r.ID(t)
	var b apiBroadcast
	deadline := time.Now().Add(30 * time.Second)
	for {
		b = apiBroadcast{}
		s.Do(t, "GET", "/api/v1/messages/"+id, token, nil).Decode(t, &b)
		if b.Message.Counts["queued"]+b.Message.Counts["sending"] == 0 {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("broadcast %s still sending after 30 s: %v", id, b.Message.Counts)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// messageCount is how many broadcasts a church has.
func messageCount(t *testing.T, s *testkit.Server, token string) int {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/messages", token, nil)
	wantStatus(t, r, http.StatusOK)
	var list struct{ Messages []map[string]any }
	r.Decode(t, &list)
	return len(list.Messages)
}

// textsTo returns the texts the simulator accepted for phone, from number.
func textsTo(s *testkit.Server, from, phone string) []string {
	var out []string
	for _, m := range s.Sim.Messages() {
		if m.From == from && m.To == phone {
			out = append(out, m.Text)
		}
	}
	return out
}

func TestMessagesAPI(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		const quota = 1000
		s := testkit.NewServer(t, b, testkit.ServerOptions{Messaging: func(c *messaging.Config) {
			c.Plans = map[string]steeple.Plan{"standard": {Name: "standard", MaxAdmins: 5, MonthlySegments: quota}}
		}})
		ctx := context.Background()
		a := signup(t, s, "Grace Chapel", "owner@grace.example.org", pw1)
		other := signup(t, s, "Other Church", "owner@other.example.org", pw2)
		const graceNumber, otherNumber = "+13125559001", "+13125559002"
		for id, n := range map[string]string{a.tenantID: graceNumber, other.tenantID: otherNumber} {
			if err := s.Tenancy.Registry.AssignNumber(ctx, id, n); err != nil {
				t.Fatal(err)
			}
		}
		ann := postMember(t, s, a.access, "Ann", "Arbor", "+13125550501", true)
		bob := postMember(t, s, a.access, "Bob", "Barker", "+13125550502", true)
		chris := postMember(t, s, a.access, "Christopher", "Columbus", "+13125550503", true)
		dora := postMember(t, s, a.access, "Dora", "Optout", "+13125550504", false)
		olga := postMember(t, s, other.access, "Olga", "Other", "+13125550505", true)
		all := map[string]any{"all": true}

		t.Run("bad input", func(t *testing.T) {
			// 10 parts hold 1,530 GSM-7 characters: this fits Ann but not Christopher.
			tooLongForSome := strings.Repeat("a", 1520) + " {first_name}"
			var media []string
			for i := range 11 {
				media = append(media, fmt.Sprintf("https://example.org/%d.jpg", i))
			}
			for _, c := range []struct {
				name   string
				body   map[string]any
				status int
				field  string
			}{
				{"empty text", map[string]any{"text": "", "audience": all}, 400, "text"},
				{"blank text", map[string]any{"text": "  \n ", "audience": all}, 400, "text"},
				{"no text", map[string]any{"audience": all}, 400, "text"},
				{"more than 10 segments", map[string]any{"text": strings.Repeat("a", 1531), "audience": all}, 400, "text"},
				{"more than 10 segments once rendered", map[string]any{"text": tooLongForSome, "audience": all}, 400, "text"},
				{"ftp media", map[string]any{"text": "hi", "media_urls": []string{"ftp://example.org/a.jpg"}, "audience": all}, 400, "media_urls"},
				{"relative media", map[string]any{"text": "hi", "media_urls": []string{"/a.jpg"}, "audience": all}, 400, "media_urls"},
				{"script media", map[string]any{"text": "hi", "media_urls": []string{"javascript:alert(1)"}, "audience": all}, 400, "media_urls"},
				{"11 media", map[string]any{"text": "hi", "media_urls": media, "audience": all}, 400, "media_urls"},
				{"no audience", map[string]any{"text": "hi"}, 400, "audience"},
				{"two audiences", map[string]any{"text": "hi", "audience": map[string]any{"all": true, "member_ids": []string{ann.ID}}}, 400, "audience"},
				{"unknown group", map[string]any{"text": "hi", "audience": map[string]any{"group_ids": []string{steeple.NewID()}}}, 404, ""},
				{"malformed group id", map[string]any{"text": "hi", "audience": map[string]any{"group_ids": []string{"choir"}}}, 404, ""},
				{"unknown member", map[string]any{"text": "hi", "audience": map[string]any{"member_ids": []string{ann.ID, steeple.NewID()}}}, 404, ""},
				{"another church's member", map[string]any{"text": "hi", "audience": map[string]any{"member_ids": []string{ann.ID, olga.ID}}}, 404, ""},
				{"unknown template", map[string]any{"template_id": steeple.NewID(), "audience": all}, 400, "template_id"},
				{"text and template", map[string]any{"text": "hi", "template_id": steeple.NewID(), "audience": all}, 400, "text"},
				{"only opted-out members", map[string]any{"text": "hi", "audience": map[string]any{"member_ids": []string{dora.ID}}}, 400, "audience"},
				{"unknown field", map[string]any{"text": "hi", "audience": all, "sendAt": "tomorrow"}, 400, "sendAt"},
			} {
				for _, path := range []string{"/api/v1/messages/preview", "/api/v1/messages"} {
					r := s.Do(t, "POST", path, a.access, c.body)
					code := map[int]string{400: "invalid", 404: "not_found"}[c.status]
					if r.Status != c.status || !strings.Contains(r.Raw, `"code":"`+code+`"`) {
						t.Errorf("%s: POST %s: %d %s; want %d %s", c.name, path, r.Status, r.Raw, c.status, code)
						continue
					}
					if c.field != "" {
						if f := r.Fields(t)[c.field]; f == "" {
							t.Errorf("%s: POST %s: error does not name field %q: %s", c.name, path, c.field, r.Raw)
						}
					}
				}
			}
			// A church without a sending number is told so.
			numberless := signup(t, s, "Numberless Chapel", "owner@numberless.example.org", pw3)
			postMember(t, s, numberless.access, "Nora", "Number", "+13125550506", true)
			r := s.Do(t, "POST", "/api/v1/messages", numberless.access, map[string]any{"text": "hi", "audience": all})
			if msg := wantError(t, r, http.StatusBadRequest, "invalid"); !strings.Contains(msg, "number") {
				t.Errorf("church without a number: message %q does not say so", msg)
			}
			for _, tok := range []string{a.access, numberless.access} {
				if n := messageCount(t, s, tok); n != 0 {
					t.Fatalf("refused broadcasts created %d messages", n)
				}
			}
			if got := len(s.Sim.Messages()); got != 0 {
				t.Fatalf("refused broadcasts sent %d texts", got)
			}
		})

		t.Run("preview", func(t *testing.T) {
			for _, c := range []struct {
				name string
				body map[string]any
				want messaging.Preview
			}{
				{"plain", map[string]any{"text": "Service at 10am", "audience": all}, messaging.Preview{Recipients: 3, Encoding: "GSM-7", SegmentsPerMessage: 1, TotalSegments: 3}},
				{"emoji", map[string]any{"text": "Blessings 🙏 " + strings.Repeat("x", 60), "audience": all}, messaging.Preview{Recipients: 3, Encoding: "UCS-2", SegmentsPerMessage: 2, TotalSegments: 6}},
				{"longer for Christopher", map[string]any{"text": strings.Repeat("a", 150) + " {first_name}", "audience": all}, messaging.Preview{Recipients: 3, Encoding: "GSM-7", SegmentsPerMessage: 2, TotalSegments: 4}},
				{"MMS", map[string]any{"text": strings.Repeat("a", 400), "media_urls": []string{"https://example.org/p.jpg"}, "audience": all}, messaging.Preview{Recipients: 3, Encoding: "GSM-7", SegmentsPerMessage: 1, TotalSegments: 3}},
				{"opted-out left out", map[string]any{"text": "hi", "audience": map[string]any{"member_ids": []string{ann.ID, dora.ID}}}, messaging.Preview{Recipients: 1, Encoding: "GSM-7", SegmentsPerMessage: 1, TotalSegments: 1}},
				{"10 segments", map[string]any{"text": strings.Repeat("a", 1520) + " {first_name}", "audience": map[string]any{"member_ids": []string{ann.ID}}}, messaging.Preview{Recipients: 1, Encoding: "GSM-7", SegmentsPerMessage: 10, TotalSegments: 10}},
			} {
				r := s.Do(t, "POST", "/api/v1/messages/preview", a.access, c.body)
				wantStatus(t, r, http.StatusOK)
				var got messaging.Preview
				r.Decode(t, &got)
				if len(got.Excluded) != 0 {
					t.Errorf("preview %s excluded %v; want no one", c.name, got.Excluded)
				}
				got.Excluded, got.LeftOut, got.Sample, got.Longest, got.UCS2Chars, got.UCS2Recipients = nil, nil, nil, nil, nil, 0
				if !reflect.DeepEqual(got, c.want) {
					t.Errorf("preview %s: %+v; want %+v", c.name, got, c.want)
				}
			}
			if n := messageCount(t, s, a.access); n != 0 {
				t.Fatalf("previews created %d messages", n)
			}
		})

		t.Run("template rendered per recipient", func(t *testing.T) {
			r := s.Do(t, "POST", "/api/v1/templates", a.access, map[string]any{"name": "Welcome", "body": "Hi {first_name}, welcome to {church_name}!"})
			wantStatus(t, r, http.StatusCreated)
			sent := sendBroadcast(t, s, a.access, map[string]any{"template_id": r.ID(t), "audience": map[string]any{"member_ids": []string{ann.ID, bob.ID}}})
			if sent.Message.From != graceNumber || sent.Message.Recipients != 2 || sent.Message.Counts["sent"]+sent.Message.Counts["delivered"] != 2 || len(sent.Recipients) != 2 {
				t.Fatalf("template broadcast: %+v", sent)
			}
			for _, w := range []struct {
				m    apiMember
				text string
			}{{ann, "Hi Ann, welcome to Grace Chapel!"}, {bob, "Hi Bob, welcome to Grace Chapel!"}} {
				if got := textsTo(s, graceNumber, w.m.Phone); len(got) != 1 || got[0] != w.text {
					t.Errorf("texts to %s: %q; want [%q]", w.m.FirstName, got, w.text)
				}
			}
			if got := textsTo(s, graceNumber, chris.Phone); len(got) != 0 {
				t.Errorf("Christopher was not in the audience but got %q", got)
			}

			r = s.Do(t, "POST", "/api/v1/groups", a.access, map[string]any{"name": "Choir"})
			wantStatus(t, r, http.StatusCreated)
			gid := r.ID(t)
			wantStatus(t, s.Do(t, "POST", "/api/v1/groups/"+gid+"/members", a.access, map[string]any{"member_ids": []string{chris.ID, dora.ID}}), http.StatusNoContent)
			sendBroadcast(t, s, a.access, map[string]any{"text": "{first_name}, choir at 6 at {church_name}", "audience": map[string]any{"group_ids": []string{gid}}})
			if got := textsTo(s, graceNumber, chris.Phone); len(got) != 1 || got[0] != "Christopher, choir at 6 at Grace Chapel" {
				t.Errorf("group text to Christopher: %q", got)
			}
			if got := textsTo(s, graceNumber, dora.Phone); len(got) != 0 {
				t.Errorf("opted-out Dora got %q", got)
			}
			wantError(t, s.Do(t, "GET", "/api/v1/messages/"+sent.Message.ID, other.access, nil), http.StatusNotFound, "not_found")
			if n, o := messageCount(t, s, a.access), messageCount(t, s, other.access); n != 2 || o != 0 {
				t.Fatalf("message lists: Grace %d, Other %d; want 2 and 0", n, o)
			}
		})

		// Used so far this month: 2 (template) + 1 (group) = 3 segments.
		t.Run("monthly segment quota", func(t *testing.T) {
			// Quota counts at creation; stop sending so 300-recipient
			// broadcasts cost nothing but their rows.
			stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := s.Queue.Stop(stopCtx); err != nil {
				t.Fatal(err)
			}
			var csv strings.Builder
			csv.WriteString("First Name,Mobile Phone Number\n")
			for i := range 297 {
				fmt.Fprintf(&csv, "Quota%d,+1312201%04d\n", i, i)
			}
			r := importCSV(t, s, a.access, url.Values{"consent": {"opted_in"}}, "text/csv", strings.NewReader(csv.String()))
			wantStatus(t, r, http.StatusOK)
			wantStatus(t, s.Do(t, "POST", "/api/v1/messages", a.access, map[string]any{"text": "One segment", "audience": all}), http.StatusCreated)
			// 303 used: a 4-segment text to 300 needs 1,200.
			r = s.Do(t, "POST", "/api/v1/messages", a.access, map[string]any{"text": strings.Repeat("c", 600), "audience": all})
			msg := wantError(t, r, http.StatusForbidden, "forbidden")
			if !strings.Contains(msg, "1200 segments") || !strings.Contains(msg, "697 of the plan's 1000") {
				t.Errorf("over-quota message %q; want it to say 1200 segments are needed and 697 of 1000 remain", msg)
			}
			if n := messageCount(t, s, a.access); n != 3 {
				t.Fatalf("after the refused broadcast Grace has %d messages; want 3", n)
			}
			// Another church's quota is its own.
			wantStatus(t, s.Do(t, "POST", "/api/v1/messages", other.access, map[string]any{"text": strings.Repeat("d", 600), "audience": all}),
				http.StatusCreated)
		})

		t.Run("quota holds under concurrent broadcasts", func(t *testing.T) {
			// 697 segments remain; each broadcast needs 300, so at most 2 of 8 fit.
			var wg sync.WaitGroup
			var mu sync.Mutex
			statuses := map[int]int{}
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := s.Do(t, "POST", "/api/v1/messages", a.access, map[string]any{"text": "Concurrent", "audience": all})
					mu.Lock()
					statuses[r.Status]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			if statuses[201] > 2 || statuses[201]+statuses[403] != 8 {
				t.Fatalf("8 concurrent 300-segment broadcasts with 697 of %d segments left: answers %v, so %d segments are now used "+
					"this month; want at most 2 created (quota never exceeded), the rest 403", quota, statuses, quota-697+300*statuses[201])
			}
			if n := messageCount(t, s, a.access); n != 3+statuses[201] {
				t.Fatalf("Grace has %d messages; want %d", n, 3+statuses[201])
			}
		})
	})
}
