package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// A church with 10,000 members: a page of 50, a name search and a filtered
// page with its total stay fast (the median is logged; on SQLite it must be
// well under the web screen's 50 ms budget even on a loaded machine).
func TestMemberListTenThousand(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		tok := s.Signup(t, "Big Church", "owner@big.example.org", pw1).Session(t).AccessToken
		var csv strings.Builder
		csv.WriteString("First Name,Last Name,Mobile Phone Number\n")
		names := []string{"Zoë", "José", "Ana", "Émile", "Chloé", "Noël", "Inés", "Björn"}
		for i := range 10_000 {
			fmt.Fprintf(&csv, "%s,Row%05d,(415) 3%02d-%04d\n", names[i%len(names)], i, i/10000, i%10000)
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
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("import: %d", resp.StatusCode)
		}
		for _, c := range []struct {
			name  string
			q     url.Values
			total int
		}{
			{"page", url.Values{}, 10_000},
			{"search", url.Values{"q": {"zoe"}}, 1250},
			{"filter", url.Values{"q": {"emile"}, "consent": {"opted_in"}}, 1250},
		} {
			var times []time.Duration
			for range 15 {
				start := time.Now()
				p := pageMembers(t, s, tok, c.q)
				times = append(times, time.Since(start))
				if p.Total != c.total || len(p.Members) != 50 {
					t.Fatalf("%s: total %d, %d members; want %d, 50", c.name, p.Total, len(p.Members), c.total)
				}
			}
			slices.Sort(times)
			med := times[len(times)/2]
			t.Logf("%s %s: median %v, max %v (page of 50 of 10,000, HTTP included)", b.Name, c.name, med, times[len(times)-1])
		}
	})
}
