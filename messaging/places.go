package messaging

import (
	"sync"
	"time"

	"github.com/steeple-sms/steeple/store"
)

// churchPlaces are the broadcasts keeping their place in the line in this
// process. Taking turns, a church of 20,000 sent one chunk per round of
// the whole queue, and on Sunday morning the largest churches sent alone
// long after the rest (docs/benchmarks.md, fourteenth pass). A long
// broadcast holding a place sends past its time slice, and its next chunk
// goes back to where the broadcast was queued (jobs.Queue.Promote) instead
// of to the end. A church holds at most one place, for one broadcast.
//
// The places go to the broadcasts with the most texts left: the storm
// lasts at least as long as its largest church takes at its number's
// pace, so that church must not be the one taking turns (sixteenth pass).
type churchPlaces struct {
	mu   sync.Mutex
	held map[string]place // church id → its place
	// stale is how long a place stays held unseen: the broadcast's next
	// chunk may have run in another process.
	stale time.Duration
}

type place struct {
	message string
	left    int // texts the broadcast had left when last seen
	seen    time.Time
}

// keep says whether the church's broadcast, with left texts still to send,
// keeps or takes a place while limit may be held. It keeps the one it
// holds unless more than limit are held and limit others have more left
// (the limit shrinks when more churches send). It takes one if fewer than
// limit are held, or in place of the broadcast with the fewest texts left
// if it has half as many again: the margin keeps two broadcasts of about
// the same size from taking a place from each other in turn.
func (p *churchPlaces) keep(church, message string, left, limit int, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c, pl := range p.held {
		if now.Sub(pl.seen) > p.stale {
			delete(p.held, c)
		}
	}
	if pl, ok := p.held[church]; ok {
		if pl.message != message || p.outranked(church, left, limit) {
			return false
		}
	} else if len(p.held) > limit {
		return false
	} else if len(p.held) == limit {
		fewest, ok := p.fewestLeft()
		if !ok || 2*left < 3*p.held[fewest].left {
			return false
		}
		delete(p.held, fewest)
	}
	if p.held == nil {
		p.held = map[string]place{}
	}
	p.held[church] = place{message: message, left: left, seen: now}
	return true
}

// outranked says whether the church gives up its place: more than limit
// are held and limit others have more texts left (of two with as many,
// the one with the lower id ranks first). It then holds none.
func (p *churchPlaces) outranked(church string, left, limit int) bool {
	if len(p.held) <= limit {
		return false
	}
	more := 0
	for c, pl := range p.held {
		if c != church && (pl.left > left || pl.left == left && c < church) {
			more++
		}
	}
	if more < limit {
		return false
	}
	delete(p.held, church)
	return true
}

// fewestLeft is the church whose place's broadcast has the fewest texts
// left; false if no place is held.
func (p *churchPlaces) fewestLeft() (string, bool) {
	church, fewest := "", 0
	for c, pl := range p.held {
		if church == "" || pl.left < fewest {
			church, fewest = c, pl.left
		}
	}
	return church, church != ""
}

// holds says whether the church's broadcast holds its place, while limit
// may be held, and marks it seen; a place unseen for longer than stale is
// gone, and one outranked beyond the limit given up (see keep).
func (p *churchPlaces) holds(church, message string, limit int, now time.Time) bool {
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
	if p.outranked(church, pl.left, limit) {
		return false
	}
	pl.seen = now
	p.held[church] = pl
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

// placeTakenAt is how many chunks of its broadcast must be left after the
// one sending for a church to take a place in the line: at least 300 more
// texts, seconds at a registered pace. Shorter broadcasts, as small
// churches' are, go in their turns.
const placeTakenAt = 3

// holdsPlace says whether the chunk's broadcast holds a place in the line
// (and marks it seen): a long one, with after texts left behind this
// chunk, takes one if there is room or if it has many more left than a
// broadcast holding one (see churchPlaces.keep).
func (s *Service) holdsPlace(a SendChunkArgs, after int) bool {
	if after >= placeTakenAt*store.ChunkSize {
		return s.places.keep(a.TenantID, a.MessageID, after, s.placesKept(), time.Now())
	}
	return s.places.holds(a.TenantID, a.MessageID, s.placesKept(), time.Now())
}

// longShare is how many texts at once a process gives long broadcasts
// holding a place while it is busy: a quarter of its send workers, or of
// the connections send jobs may hold if fewer (none below four). The rest
// take turns, so a small church never waits behind more than that. It is
// also how many churches sending here count as few (see placesKept).
func (s *Service) longShare() int {
	return min(s.queue.MaxWorkers(), s.ten.Manager.BackgroundSlots()) / 4
}

// placesKept is how many churches at once may hold a place in the line
// here: the share in places of placeLanes lanes (at least one if any). A
// church holding one sends at its number's pace, rather than a chunk per
// round of the whole queue.
//
// While no more churches send here than the share (the end of a storm,
// when only the largest are left, or a quiet day), each of them may hold
// one: the other workers have no church to send for. Once more churches
// send, the places beyond the usual number are given up, those with the
// fewest texts left first (see churchPlaces.keep).
func (s *Service) placesKept() int {
	share := s.longShare()
	switch {
	case share == 0:
		return 0
	case s.fewSending(share):
		return share
	}
	return max(1, share/placeLanes)
}

// fewSending says whether no more churches send here than the share for
// long broadcasts (none count as few when the share is none).
func (s *Service) fewSending(share int) bool {
	return share > 0 && s.turns.sending() <= share
}
