package messaging

import (
	"context"
	"slices"
	"sync"
	"time"
)

// churchTurns lets one send job at a time work for a church in this
// process. A church's texts leave from its number at that number's pace,
// so a second job of the same church would only wait for the first one's
// slots (and for its connections), holding a worker another church could
// use: with 40 workers and a church of 5,000 (50 jobs), most workers sat
// in that wait while small churches queued. A job that finds its church's
// turn taken gives its worker back and waits in the queue; the job ending
// its turn wakes the next one. Config.TurnWait bounds the wait when no wake
// comes: the woken job may have run in another process, whose end wakes
// that process's waiters, not this one's (or this process died). Across
// processes the registry's pacing keeps the number's pace.
type churchTurns struct {
	mu      sync.Mutex
	busy    map[string]bool
	waiting map[string][]int64 // church id → its jobs waiting here, oldest first
	// peak is the most churches seen sending at once since peakAt, kept
	// for window: between one chunk's end and the next one's start the
	// count dips, and sending must not read a busy process as a quiet one.
	peak   int
	peakAt time.Time
	window time.Duration
}

// take claims the church's turn for job; false means another job of the
// church is running here, and job now waits for it.
func (t *churchTurns) take(church string, job int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.busy == nil {
		t.busy, t.waiting = map[string]bool{}, map[string][]int64{}
	}
	w := slices.DeleteFunc(t.waiting[church], func(id int64) bool { return id == job })
	if t.busy[church] {
		t.waiting[church] = append(w, job)
		return false
	}
	t.setWaiting(church, w)
	t.busy[church] = true
	if now := time.Now(); len(t.busy) >= t.peak || now.Sub(t.peakAt) > t.window {
		t.peak, t.peakAt = len(t.busy), now
	}
	return true
}

// putBack returns a job that done handed out, unwoken, to the head of the
// church's waiting jobs (another chunk went ahead of it).
func (t *churchTurns) putBack(church string, job int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !slices.Contains(t.waiting[church], job) {
		t.waiting[church] = append([]int64{job}, t.waiting[church]...)
	}
}

// done ends the church's turn and returns the job to wake (0: none).
func (t *churchTurns) done(church string) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.busy, church)
	w := t.waiting[church]
	if len(w) == 0 {
		return 0
	}
	t.setWaiting(church, w[1:])
	return w[0]
}

// sending is how many churches have a send job running here: the most
// at once within the last window (a rise counts at once, a fall only once
// it has lasted the window).
func (t *churchTurns) sending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if time.Since(t.peakAt) <= t.window {
		return max(t.peak, len(t.busy))
	}
	return len(t.busy)
}

func (t *churchTurns) setWaiting(church string, w []int64) {
	if len(w) == 0 {
		delete(t.waiting, church)
		return
	}
	t.waiting[church] = w
}

// endTurn ends a church's send turn here and lets its next chunk go: to
// the front of the line if its broadcast holds a place (see churchPlaces),
// else the next of its chunks waiting here, woken to the end.
func (s *Service) endTurn(church, message string, sent bool) {
	next := s.turns.done(church)
	if sent && s.places.holds(church, message, s.placesKept(), time.Now()) {
		// Before the worker is free, so it may be the one to take it.
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.TurnWait)
		promoted, err := s.queue.Promote(ctx, SendChunkArgs{}.Kind(), "message_id", message, s.cfg.TurnWait)
		cancel()
		if err != nil {
			s.log.Warn("could not put a broadcast's next chunk back in its place; it waits its turn at the end", "tenant", church, "err", err)
		}
		if promoted {
			if next != 0 {
				s.turns.putBack(church, next)
			}
			return
		}
	}
	s.places.letGo(church, message)
	if next == 0 {
		return
	}
	// The job told to wait is still running until the queue records its
	// wait (milliseconds, or seconds when the registry is busy): look
	// again, less and less often, until it is waiting. (A job that
	// outlived its wait and runs elsewhere is woken when it ends, and then
	// finds nothing left to send.)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.TurnWait)
		defer cancel()
		for pause := 20 * time.Millisecond; ; pause = min(2*pause, time.Second) {
			woken, err := s.queue.Wake(ctx, next)
			if err != nil {
				s.log.Warn("could not wake a church's next send job; it runs when its wait ends", "tenant", church, "job", next, "err", err)
				return
			}
			if woken || sleepCtx(ctx, pause) != nil {
				return
			}
		}
	}()
}

// sliceAfter is a chunk's turn, given how long it took to get going (room
// for its church's connection, the connection, the first reads): SendSlice
// plus four times that, up to maxSlice. Each turn may start a connection
// to the church's database, about a second on a busy PostgreSQL server;
// longer turns then halved the connections started and sent 1.5 times as
// fast (docs/benchmarks.md, seventeenth pass; the wait for room is the
// part that counts). On SQLite, or an open pool, the turn stays SendSlice.
func (s *Service) sliceAfter(start time.Duration) time.Duration {
	return min(s.cfg.SendSlice+4*start, s.maxSlice())
}

// maxSlice bounds a turn: four times SendSlice, and never more than half
// the job's timeout, so that a longer turn is not cut off by it.
func (s *Service) maxSlice() time.Duration {
	return max(s.cfg.SendSlice, min(4*s.cfg.SendSlice, s.cfg.JobTimeout/2))
}
