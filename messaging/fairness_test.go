package messaging_test

import (
	"fmt"
	"testing"
	"time"

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
		s.SetSendRate(t, big.ID, "25")
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

// A church's send jobs take turns in a process: while one sends, its other
// chunks give their workers back, so with two workers a church of 300
// (three chunks, paced at 25 a second) holds one worker and two small
// churches that ask just after it are done within seconds, not after its
// first two chunks (8 s). The chunk ending its turn wakes the next one, so
// the big church's texts still go out at its pace, without the seconds an
// unwoken chunk waits before it looks again.
func TestChurchJobsTakeTurns(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Tenancy: wallClock,
			// A long slice: the turns, not the slices, are what let the
			// small churches in. A long wait for an unwoken turn: the
			// wakes, not the waits running out, are what keep the pace.
			Messaging: func(c *messaging.Config) { c.SendSlice, c.TurnWait = time.Minute, time.Minute },
			Tune:      func(tu *app.Tuning) { tu.Queue.MaxWorkers = 2 }})
		big := s.Church(t, testkit.ChurchOptions{Name: "Big Cathedral", Email: "owner@big.example.org", Number: "+13125550400"})
		small := []*testkit.Church{
			s.Church(t, testkit.ChurchOptions{Name: "Small Chapel", Email: "owner@small.example.org", Number: "+13125550500"}),
			s.Church(t, testkit.ChurchOptions{Name: "Little Mission", Email: "owner@little.example.org", Number: "+13125550600"}),
		}
		s.SetSendRate(t, big.ID, "25")
		importMembers(t, s, big, membersCSV("Bea", 0, 300))
		for i, c := range small {
			importMembers(t, s, c, membersCSV("Sam", 1000+100*i, 1010+100*i))
		}
		text := map[string]any{"text": "Service at 10", "audience": map[string]any{"all": true}}
		bigAsked := time.Now()
		bigID := big.API(s).Broadcast(t, text)
		time.Sleep(500 * time.Millisecond) // the big church's chunks are running or waiting when the others ask
		asked := time.Now()
		ids := make([]string, len(small))
		for i, c := range small {
			ids[i] = c.API(s).Broadcast(t, text)
		}
		for i, c := range small {
			wantAllSent(t, waitDone(t, s, c, ids[i], time.Minute), 10)
		}
		wantAllSent(t, waitDone(t, s, big, bigID, 2*time.Minute), 300)

		var smallLast time.Time
		for _, c := range small {
			texts := s.SentFrom(c.Number)
			if last := texts[len(texts)-1].ReceivedAt; last.After(smallLast) {
				smallLast = last
			}
		}
		bigTexts := s.SentFrom(big.Number)
		bigTook := bigTexts[len(bigTexts)-1].ReceivedAt.Sub(bigAsked)
		t.Logf("%s: small churches done %v after asking; big church's 300 texts took %v (its pace: 12 s)",
			b.Name, smallLast.Sub(asked).Round(time.Millisecond), bigTook.Round(time.Millisecond))
		if smallLast.Sub(asked) > 4*time.Second {
			t.Errorf("the small churches' last text came %v after they asked; want within 4 s (the big church holds one worker, not both)",
				smallLast.Sub(asked))
		}
		if bigTook > 30*time.Second {
			t.Errorf("the big church's texts took %v; want about 12 s (a chunk waited for a turn nobody woke it for)", bigTook)
		}
	})
}

// A large church keeps its place in the line: with four workers one church
// at a time may, so when its chunk ends its next one goes back to where
// its broadcast was queued, not behind the six small churches that asked
// after it. Its 400 texts (paced at 50 a second) leave without a pause
// between chunks; taking turns, its second chunk waited about 8 s for a
// worker behind the small churches' chunks (10 s each). The small churches
// still share the other three workers. The gap, not the total time, is
// checked: a loaded machine slows every text, not the wait for a worker.
func TestLargeChurchKeepsItsPlace(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s, big := bigChurch(t, b, 4) // one place, one lane
		small := make([]*testkit.Church, 6)
		for i := range small {
			small[i] = s.Church(t, testkit.ChurchOptions{Name: fmt.Sprintf("Chapel %d", i),
				Email: fmt.Sprintf("owner@chapel%d.example.org", i), Number: fmt.Sprintf("+1312555%04d", 600+i)})
			s.SetSendRate(t, small[i].ID, "10")
			importMembers(t, s, small[i], membersCSV(fmt.Sprintf("Sam%d", i), 1000+100*i, 1100+100*i))
		}
		text := map[string]any{"text": "Service at 10", "audience": map[string]any{"all": true}}
		asked := time.Now()
		bigID := big.API(s).Broadcast(t, text)
		ids := make([]string, len(small))
		for i, c := range small {
			ids[i] = c.API(s).Broadcast(t, text)
		}
		wantAllSent(t, waitDone(t, s, big, bigID, time.Minute), 400)
		for i, c := range small {
			wantAllSent(t, waitDone(t, s, c, ids[i], time.Minute), 100)
		}

		bigTexts := s.SentFrom(big.Number)
		var gap time.Duration
		for i := 1; i < len(bigTexts); i++ {
			gap = max(gap, bigTexts[i].ReceivedAt.Sub(bigTexts[i-1].ReceivedAt))
		}
		var smallLast time.Time
		for _, c := range small {
			texts := s.SentFrom(c.Number)
			if last := texts[len(texts)-1].ReceivedAt; last.After(smallLast) {
				smallLast = last
			}
		}
		t.Logf("%s: the big church's 400 texts took %v (its pace: 8 s), longest pause %v; the small churches were done %v after asking",
			b.Name, bigTexts[len(bigTexts)-1].ReceivedAt.Sub(asked).Round(time.Millisecond), gap.Round(time.Millisecond),
			smallLast.Sub(asked).Round(time.Millisecond))
		if gap > 3*time.Second {
			t.Errorf("the big church paused %v between two texts; want under 3 s (its next chunk went to the back of the line)", gap)
		}
		if smallLast.Sub(asked) > 40*time.Second {
			t.Errorf("the small churches were done %v after asking; want about 20 s (six chunks of 10 s on three workers)", smallLast.Sub(asked))
		}
	})
}

// A long broadcast holding its place sends a few texts at once, so a
// church reaches its number's pace when one text's round takes longer than
// the pace's interval: with the provider answering in 60 ms, one at a time
// a church allowed 50 a second sent at most 16; its 400 texts take about
// 8 s, not 25. The pace still holds: never more than 50 within a second.
func TestLongBroadcastReachesItsPace(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s, big := bigChurch(t, b, 12) // a share of three: one place, three lanes
		s.Sim.SetSendDelay(60 * time.Millisecond)
		asked := time.Now()
		id := big.API(s).Broadcast(t, map[string]any{"text": "Service at 10", "audience": map[string]any{"all": true}})
		wantAllSent(t, waitDone(t, s, big, id, time.Minute), 400)

		got := s.SentFrom(big.Number)
		took := got[len(got)-1].ReceivedAt.Sub(asked)
		bursts, worst := 0, time.Hour
		for i := 0; i+50 < len(got); i++ {
			gap := got[i+50].ReceivedAt.Sub(got[i].ReceivedAt)
			worst = min(worst, gap)
			if gap < time.Second-hopJitter {
				bursts++
			}
		}
		t.Logf("%s: 400 texts at 50/s with the provider answering in 60 ms took %v (pace: 8 s; one at a time: 25 s); tightest 51-text window %v",
			b.Name, took.Round(time.Millisecond), worst.Round(time.Millisecond))
		if took > 16*time.Second {
			t.Errorf("the church's 400 texts took %v; want about 8 s (its chunks sent one text at a time)", took)
		}
		if bursts > 0 {
			t.Errorf("the provider received 51 texts within one second %d times (tightest %v); the pace of 50 a second was broken", bursts, worst)
		}
	})
}

// bigChurch is a server with that many send workers and a church of 400
// allowed 50 texts a second. Its slice is long: chunk ends, not slices,
// are what send a chunk to the back.
func bigChurch(t *testing.T, b *testkit.Backend, workers int) (*testkit.Server, *testkit.Church) {
	s := testkit.NewServer(t, b, testkit.ServerOptions{Tenancy: wallClock,
		Messaging: func(c *messaging.Config) { c.SendSlice = time.Minute },
		Tune:      func(tu *app.Tuning) { tu.Queue.MaxWorkers = workers }})
	big := s.Church(t, testkit.ChurchOptions{Name: "Big Cathedral", Email: "owner@big.example.org", Number: "+13125550400"})
	s.SetSendRate(t, big.ID, "50")
	importMembers(t, s, big, membersCSV("Bea", 0, 400))
	return s, big
}

// While no more churches send than a process's share for long broadcasts,
// each sends a few texts at once: at the end of Sunday's storm the last,
// largest churches are alone, and the workers have no one else to send
// for. With 12 workers (a share of three, one place when busy) two
// churches allowed 50 a second each send 400 texts with the provider
// answering in 60 ms: about 8 s each, where the one without a place sent
// a text at a time (25 s). (That each may then hold a place too is not
// told apart here: the workers are idle, so no slice ends a chunk.)
func TestLongBroadcastsShareIdleWorkers(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s, big := bigChurch(t, b, 12)
		other := s.Church(t, testkit.ChurchOptions{Name: "Grace Basilica", Email: "owner@grace.example.org", Number: "+13125550401"})
		s.SetSendRate(t, other.ID, "50")
		importMembers(t, s, other, membersCSV("Gus", 1000, 1400))
		s.Sim.SetSendDelay(60 * time.Millisecond)
		text := map[string]any{"text": "Service at 10", "audience": map[string]any{"all": true}}
		asked := time.Now()
		ids := []string{big.API(s).Broadcast(t, text), other.API(s).Broadcast(t, text)}
		for i, c := range []*testkit.Church{big, other} {
			wantAllSent(t, waitDone(t, s, c, ids[i], time.Minute), 400)
		}
		for _, c := range []*testkit.Church{big, other} {
			took := lastSentAfter(s, c.Number, asked)
			t.Logf("%s: %s's 400 texts at 50/s took %v (pace: 8 s; one at a time: 25 s)", b.Name, c.Name, took.Round(time.Millisecond))
			if took > 16*time.Second {
				t.Errorf("%s's 400 texts took %v; want about 8 s (it sent one text at a time beside the other church)", c.Name, took)
			}
		}
	})
}

// On a quiet day a short broadcast sends a few texts at once too: alone in
// a process (fewer churches sending than the share for long broadcasts), a
// church of 100 allowed 50 a second, with the provider answering in 60 ms,
// is done in about 2 s rather than the 6 s or more of one text at a time.
func TestQuietBroadcastUsesLanes(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Tenancy: wallClock,
			Tune: func(tu *app.Tuning) { tu.Queue.MaxWorkers = 12 }}) // a share of three
		c := s.Church(t, testkit.ChurchOptions{Name: "Small Chapel", Email: "owner@small.example.org", Number: "+13125550500"})
		s.SetSendRate(t, c.ID, "50")
		importMembers(t, s, c, membersCSV("Sam", 1000, 1100))
		s.Sim.SetSendDelay(60 * time.Millisecond)
		asked := time.Now()
		id := c.API(s).Broadcast(t, map[string]any{"text": "Service at 10", "audience": map[string]any{"all": true}})
		wantAllSent(t, waitDone(t, s, c, id, time.Minute), 100)
		took := lastSentAfter(s, c.Number, asked)
		t.Logf("%s: 100 texts at 50/s with the provider answering in 60 ms took %v (pace: 2 s; one at a time: 6 s or more)", b.Name, took.Round(time.Millisecond))
		if took > 5*time.Second {
			t.Errorf("the church's 100 texts took %v; want about 2 s (it sent one text at a time)", took)
		}
	})
}

// lastSentAfter is how long after asked the provider received the last
// text from number.
func lastSentAfter(s *testkit.Server, number string, asked time.Time) time.Duration {
	got := s.SentFrom(number)
	return got[len(got)-1].ReceivedAt.Sub(asked)
}
