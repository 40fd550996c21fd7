package messaging

import (
	"sync"
	"time"
)

// churchPlaces are the broadcasts keeping their place in the line in this
// process. Taking turns, a church of 20,000 sent one chunk per round of
// the whole queue, and on Sunday morning the largest churches sent alone
// long after the rest (docs/benchmarks.md, fourteenth pass). A long
// broadcast holding a place sends past its time slice, and its next chunk
// goes back to where the broadcast was queued (jobs.Queue.Promote) instead
// of to the end. A church holds at most one place, for one broadcast.
type churchPlaces struct {
	mu   sync.Mutex
	held map[string]place // church id → its place
	// stale is how long a place stays held unseen: the broadcast's next
	// chunk may have run in another process.
	stale time.Duration
}

type place struct {
	message string
	seen    time.Time
}

// keep says whether the church's broadcast keeps its place: it does if it
// already does, or if fewer than limit churches hold one here.
func (p *churchPlaces) keep(church, message string, limit int, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c, pl := range p.held {
		if now.Sub(pl.seen) > p.stale {
			delete(p.held, c)
		}
	}
	if pl, ok := p.held[church]; ok {
		if pl.message != message {
			return false
		}
	} else if len(p.held) >= limit {
		return false
	}
	if p.held == nil {
		p.held = map[string]place{}
	}
	p.held[church] = place{message: message, seen: now}
	return true
}

// holds says whether the church's broadcast holds its place, and marks it
// seen; a place unseen for longer than stale is gone.
func (p *churchPlaces) holds(church, message string, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	pl, ok := p.held[church]
	if !ok || pl.message != message {
		return false
	}
	if now.Sub(pl.seen) > p.stale {
		delete(p.held, church)
		return false
	}
	p.held[church] = place{message: message, seen: now}
	return true
}

// letGo gives up the broadcast's place: it is sent, or its chunk ended
// early (an error, a wait for a connection or a cap).
func (p *churchPlaces) letGo(church, message string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pl, ok := p.held[church]; ok && pl.message == message {
		delete(p.held, church)
	}
}
