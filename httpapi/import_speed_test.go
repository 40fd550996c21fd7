package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// tenThousandRows is a Planning Center-shaped file of 10,000 people.
func tenThousandRows() string {
	var b strings.Builder
	b.WriteString("Person ID,Given Name,First Name,Nickname,Last Name,Status,Home Phone Number,Mobile Phone Number,Work Phone Number,Home Email,Work Email\n")
	for i := range 10_000 {
		fmt.Fprintf(&b, "%d,,Person%d,,Family%d,active,,(312) 7%02d-%04d,,p%d@example.org,\n", i, i, i/3, 20+i/10000, i, i)
	}
	return b.String()
}

// Importing 10,000 rows is one preview and one import, each well under
// the 5 s a web upload may take on SQLite (measured by steeple bench web).
func TestTwoStepImportTenThousandRows(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 10,000 rows")
	}
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		a := signup(t, s, "Grace Chapel", "owner@grace.example.org", pw1)
		start := time.Now()
		r, p := previewBody(t, s, a.access, tenThousandRows())
		wantStatus(t, r, http.StatusCreated)
		r = s.Do(t, "POST", "/api/v1/imports/"+p.ImportID, a.access, map[string]any{"consent": "opted_in", "wording": "card"})
		wantStatus(t, r, http.StatusOK)
		var ans runAnswer
		r.Decode(t, &ans)
		if ans.Created != 10_000 {
			t.Fatalf("created %d; want 10000 (invalid %d: %+v)", ans.Created, ans.Invalid, ans.Rows[:1])
		}
		t.Logf("%s: preview and import of 10,000 rows took %s", b.Name, time.Since(start))
	})
}
