package messaging

import (
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
	// holding are the churches keeping their place in the line (see
	// keepPlace), with when each was last seen sending here; stale is how
	// long a church keeps it unseen (its next chunk may have run in
	// another process).
	holding map[string]time.Time
	stale   time.Duration
}

// keepPlace says whether the church, sending a long broadcast, keeps its
// place in the line: it does if it already does, or if fewer than limit
// churches do. A church keeping its place sends past its time slice, and
// its next chunk goes back to where its broadcast was queued instead of
// to the end.
func (t *churchTurns) keepPlace(church string, limit int, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.holding[church]; ok {
		t.holding[church] = now
		return true
	}
	for c, seen := range t.holding {
		if now.Sub(seen) > t.stale {
			delete(t.holding, c)
		}
	}
	if len(t.holding) >= limit {
		return false
	}
	if t.holding == nil {
		t.holding = map[string]time.Time{}
	}
	t.holding[church] = now
	return true
}

// holds says whether the church keeps its place, and marks it seen.
func (t *churchTurns) holds(church string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.holding[church]; ok {
		t.holding[church] = now
		return true
	}
	return false
}

// letGo ends the church's hold on its place: its broadcast is sent, or its
// chunk ended early.
func (t *churchTurns) letGo(church string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.holding, church)
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
	if _, ok := t.holding[church]; ok {
		t.holding[church] = time.Now()
	}
	return true
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

func (t *churchTurns) setWaiting(church string, w []int64) {
	if len(w) == 0 {
		delete(t.waiting, church)
		return
	}
	t.waiting[church] = w
}
