package messaging

import (
	"testing"
	"time"
)

// How many churches send here is the most at once within the window: the
// dip between one chunk's end and the next one's start does not make a
// busy process look quiet; a fall counts once it has lasted the window.
func TestTurnsSendingKeepsItsPeak(t *testing.T) {
	turns := churchTurns{window: time.Hour}
	for i, church := range []string{"a", "b", "c"} {
		if !turns.take(church, int64(i+1)) {
			t.Fatalf("church %s did not get its turn", church)
		}
	}
	turns.done("b")
	if got := turns.sending(); got != 3 {
		t.Fatalf("sending = %d just after a turn ended; want the peak of 3", got)
	}
	turns.window = 0 // the window has passed
	if got := turns.sending(); got != 2 {
		t.Fatalf("sending = %d once the window passed; want the 2 still sending", got)
	}
}

// A chunk that got going at once takes the usual slice; one whose church's
// connection was slow to come keeps its worker longer, up to four slices
// and never more than half the job's timeout.
func TestSliceLongerAfterASlowStart(t *testing.T) {
	for _, c := range []struct {
		timeout, start, want time.Duration
	}{
		{10 * time.Minute, 0, 2 * time.Second},
		{10 * time.Minute, 5 * time.Millisecond, 2020 * time.Millisecond},
		{10 * time.Minute, time.Second, 6 * time.Second},
		{10 * time.Minute, 10 * time.Second, 8 * time.Second},
		{6 * time.Second, time.Second, 3 * time.Second},
		{time.Second, time.Second, 2 * time.Second}, // never below SendSlice
	} {
		s := &Service{cfg: Config{SendSlice: 2 * time.Second, JobTimeout: c.timeout}}
		if got := s.sliceAfter(c.start); got != c.want {
			t.Errorf("job timeout %v: slice after a start of %v = %v; want %v", c.timeout, c.start, got, c.want)
		}
	}
}
