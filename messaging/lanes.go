package messaging

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple/store"
)

// placeLanes is how many texts at most a chunk holding a place sends at
// once (fewer where a process's share for long broadcasts is smaller). One
// text's round (a pacing claim, the hand-off claim, the provider's answer,
// the status write) took about 40 ms under Sunday's load, so one at a time
// a church of 20,000 sent 25 texts a second when its number allows 75
// (docs/benchmarks.md, fifteenth pass); against a provider answering in
// 100 ms, 9.7. The number's pace is still claimed text by text in the
// registry, so lanes only fill the time it allows.
const placeLanes = 3

// chunkFeed hands a chunk's texts to its lanes one at a time, ends the
// chunk's slice for all of them, and keeps the first error, which stops
// every lane after the text it is sending.
type chunkFeed struct {
	mu    sync.Mutex
	items []store.SendItem
	next  int
	start time.Time
	err   error
	// sliceOver says, when a slice (see sliceAfter) has passed, whether the
	// chunk gives its worker back now.
	sliceOver func() bool
	slice     time.Duration
}

// take returns the next text to send; false when the chunk is done, or
// stopped by an error or the end of its slice.
func (f *chunkFeed) take() (store.SendItem, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil || f.next == len(f.items) {
		return store.SendItem{}, false
	}
	if f.next > 0 && time.Since(f.start) >= f.slice {
		if f.sliceOver() {
			// Back to the end of the queue (not an attempt).
			f.err = river.JobSnooze(0)
			return store.SendItem{}, false
		}
		f.start = time.Now()
	}
	it := f.items[f.next]
	f.next++
	return it, true
}

// stop ends the chunk with err, unless an earlier error did.
func (f *chunkFeed) stop(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

// sendLanes runs the chunk's texts through lanes: hh's, and up to
// lanes-1 more, each on a connection of its own that was free at once (a
// lane never waits to start, nor takes a connection from another church).
// An extra lane ends when it has given its connection back (a long pause,
// a retry's wait, a STOP that needed it): it is there only to fill the
// pace while connections are at hand.
func (s *Service) sendLanes(ctx context.Context, hh *handleHolder, f *chunkFeed, lanes int, send func(context.Context, *handleHolder, store.SendItem) error) error {
	var wg sync.WaitGroup
	for lane := 1; lane < lanes && len(f.items) > lane; lane++ {
		h, err := s.ten.Manager.TryAcquireBackground(ctx, hh.id)
		if err != nil {
			break
		}
		extra := &handleHolder{ten: s.ten, id: hh.id, h: h}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer extra.release()
			defer func() {
				// River recovers a panic in its worker, not in a goroutine
				// of it: without this one lane's panic ends the process.
				if p := recover(); p != nil {
					f.stop(fmt.Errorf("send lane panicked: %v", p))
				}
			}()
			s.runLane(ctx, extra, f, true, send)
		}()
	}
	s.runLane(ctx, hh, f, false, send)
	wg.Wait()
	return f.err
}

func (s *Service) runLane(ctx context.Context, hh *handleHolder, f *chunkFeed, extra bool, send func(context.Context, *handleHolder, store.SendItem) error) {
	for {
		if hh.h != nil && !hh.h.Lend() {
			// Between two texts a receipt or a STOP of this church waiting
			// for a connection may use this one (one cut short closed it),
			// and a STOP of another church waiting for room in a full
			// budget takes its place: then a connection is acquired again,
			// within the chunk's turn (sendChunk).
			hh.release()
			hh.within = s.cfg.TurnWait
		}
		if extra && hh.h == nil {
			return
		}
		it, ok := f.take()
		if !ok {
			return
		}
		if err := send(ctx, hh, it); err != nil {
			f.stop(err)
			return
		}
	}
}

// lanesFor is how many texts at once a chunk sends at a pace faster than
// a long pause (at a slower pace every text waits longer than a round, and
// a lane would give its connection back each time): up to placeLanes for a
// broadcast holding a place, or for any while no more churches send here
// than the share (a quiet day: against a provider answering in 100 ms a
// church of 100 sent a text every 0.1 s or more, where its number allows
// 75 a second); else one, in its turn. Never more than the church's pool
// less one connection, kept for its STOPs and receipts.
func (s *Service) lanesFor(held bool, rate float64) int {
	share := s.longShare()
	if interval(rate) >= longPause || !held && !s.fewSending(share) {
		return 1
	}
	return max(1, min(placeLanes, share, s.ten.Manager.PerTenantConns()-1))
}
