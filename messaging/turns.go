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
