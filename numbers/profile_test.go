package numbers_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// TestConcurrentFirstPurchases: two purchases racing as a church's first
// still leave it one messaging profile, with both numbers in it.
func TestConcurrentFirstPurchases(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		found := c.API(s).Available(t, "area_code=312")[:4]
		var wg sync.WaitGroup
		for _, n := range found {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := s.Do(t, "POST", "/api/v1/numbers", c.Token, map[string]any{"number": n}); r.Status != http.StatusAccepted {
					t.Errorf("order %s: %d %s", n, r.Status, r.Raw)
				}
			}()
		}
		wg.Wait()
		for _, n := range found {
			c.API(s).WaitNumberActive(t, n)
		}
		ps := profiles(t, s, c.ID)
		if len(ps) != 1 {
			t.Fatalf("the church has %d messaging profiles: %v", len(ps), ps)
		}
		for _, n := range found {
			if pn := providerNumber(t, s, n); pn == nil || pn.MessagingProfileID != ps[0] {
				t.Errorf("%s at the provider: %+v; want in %s", n, pn, ps[0])
			}
		}
	})
}
