package messaging_test

import (
	"context"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
)

// A small church that broadcasts just after a big one is not held behind
// it: with one worker, the big church's chunk gives the worker back after
// its time slice, so the small church's 10 texts go out within seconds
// while the big church's 200 (paced at 25 a second) take 8.
func TestSmallChurchNotHeldBehindBigOne(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Tenancy: wallClock,
			Messaging: func(c *messaging.Config) { c.SendSlice = 500 * time.Millisecond },
			Tune:      func(tu *app.Tuning) { tu.Queue.MaxWorkers = 1 }})
		big := s.Church(t, testkit.ChurchOptions{Name: "Big Cathedral", Email: "owner@big.example.org", Number: "+13125550400"})
		small := s.Church(t, testkit.ChurchOptions{Name: "Small Chapel", Email: "owner@small.example.org", Number: "+13125550500"})
		h, err := s.Tenancy.Manager.Acquire(context.Background(), big.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Store.SetSetting(context.Background(), h, steeple.SettingSendRate, "25"); err != nil {
			t.Fatal(err)
		}
		h.Release()
		importMembers(t, s, big, membersCSV("Bea", 0, 200))
		importMembers(t, s, small, membersCSV("Sam", 1000, 1010))
		text := map[string]any{"text": "Service at 10", "audience": map[string]any{"all": true}}
		bigID := big.API(s).Broadcast(t, text)
		time.Sleep(300 * time.Millisecond) // the big church's chunk is sending when the small one asks
		asked := time.Now()
		smallID := small.API(s).Broadcast(t, text)
		wantAllSent(t, waitDone(t, s, small, smallID, time.Minute), 10)
		wantAllSent(t, waitDone(t, s, big, bigID, time.Minute), 200)

		smallTexts, bigTexts := s.SentFrom(small.Number), s.SentFrom(big.Number)
		smallLast, bigLast := smallTexts[len(smallTexts)-1].ReceivedAt, bigTexts[len(bigTexts)-1].ReceivedAt
		t.Logf("%s: small church done %v after asking; big church's last text %v after the small one's",
			b.Name, smallLast.Sub(asked).Round(time.Millisecond), bigLast.Sub(smallLast).Round(time.Millisecond))
		if smallLast.Sub(asked) > 4*time.Second || !smallLast.Before(bigLast) {
			t.Fatalf("the small church's last text came %v after it asked (big church's last %v after that); want within 4 s, before the big church's",
				smallLast.Sub(asked), bigLast.Sub(smallLast))
		}
	})
}
