package httpapi_test

import (
	"sync"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// The same refresh token sent several times at once is spent at most once.
func TestRefreshTokenRaceSpendsOnce(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		s.Signup(t, "Race Church", "racer@example.org", "correct horse battery")
		for round := 0; round < 5; round++ {
			login := s.Do(t, "POST", "/api/v1/auth/login", "", map[string]string{"email": "racer@example.org", "password": "correct horse battery"})
			rt := login.Session(t).RefreshToken
			if rt == "" {
				t.Fatalf("login: %d %s", login.Status, login.Raw)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins := 0
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if r := s.Do(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": rt}); r.Status == 200 {
						mu.Lock()
						wins++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if wins > 1 {
				t.Fatalf("round %d: one refresh token was spent %d times", round, wins)
			}
		}
	})
}
