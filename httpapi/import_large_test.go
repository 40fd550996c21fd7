package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
)

// 10,000 rows in one request, bad rows among them, all reported.
func TestImportTenThousandRows(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		tok := s.Signup(t, "Big Church", "owner@big.example.org", "correct horse battery").Session(t).AccessToken
		var csv strings.Builder
		csv.WriteString("First Name,Last Name,Mobile Phone Number,Groups\n")
		for i := 0; i < 10000; i++ {
			phone := fmt.Sprintf("(415) 3%02d-%04d", i/10000, i%10000)
			if i%1000 == 999 {
				phone = "not a phone" // one bad row in every thousand
			}
			fmt.Fprintf(&csv, "Person%d,Row%d,%s,Choir\n", i, i, phone)
		}
		req, err := http.NewRequest("POST", s.URL+"/api/v1/members/import?consent=opted_in&wording=card", strings.NewReader(csv.String()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "text/csv")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var sum struct {
			Created, Updated, Invalid int
			Rows                      []struct {
				Line    int
				Outcome string
				Reason  string
			}
		}
		if err := decodeBody(resp, &sum); err != nil || resp.StatusCode != 200 {
			t.Fatalf("import: %d %v", resp.StatusCode, err)
		}
		if sum.Created != 9990 || sum.Invalid != 10 || len(sum.Rows) != 10000 {
			t.Fatalf("created %d, invalid %d, rows %d; want 9990, 10, 10000", sum.Created, sum.Invalid, len(sum.Rows))
		}
		if r := sum.Rows[999]; r.Line != 1001 || r.Outcome != "invalid" || r.Reason == "" {
			t.Fatalf("row for line 1001: %+v", r)
		}
		var list struct{ Groups []steeple.Group }
		g := s.Client(tok).Call(t, "GET", "/api/v1/groups", nil, http.StatusOK, &list)
		if len(list.Groups) != 1 || list.Groups[0].Members != 9990 {
			t.Fatalf("groups after import: %s", g.Raw)
		}
	})
}

func decodeBody(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }
