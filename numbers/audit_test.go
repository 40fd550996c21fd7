package numbers_test

import (
	"net/http"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
)

// Buying, releasing and restoring a number are in the church's audit log,
// naming the admin and the number.
func TestNumberChangesAudited(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		api := c.API(s)
		number := api.BuyNumber(t, "312")
		api.Call(t, "DELETE", "/api/v1/numbers/"+number, nil, http.StatusOK, nil)
		api.Call(t, "POST", "/api/v1/numbers/"+number+"/restore", nil, http.StatusOK, nil)
		var page struct{ Entries []store.AuditEntry }
		api.Call(t, "GET", "/api/v1/audit?action=number.", nil, http.StatusOK, &page)
		want := []string{"number.restored", "number.released", "number.ordered"}
		if len(page.Entries) != len(want) {
			t.Fatalf("number audit entries: %+v; want %v", page.Entries, want)
		}
		me := api.Me(t).Admin.ID
		for i, e := range page.Entries {
			if e.Action != want[i] || e.ActorID != me || e.Detail != number {
				t.Fatalf("entry %d: %+v; want %s by %s naming %s", i, e, want[i], me, number)
			}
		}
	})
}
