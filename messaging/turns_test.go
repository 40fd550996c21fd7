package messaging

import (
	"testing"
	"time"
)

// At most limit churches keep their place; one not seen sending for longer
// than stale (its chunk ran in another process) gives its place up to the
// next, and a church letting go frees its place at once.
func TestKeepPlaceIsBounded(t *testing.T) {
	turns := churchTurns{stale: 5 * time.Second}
	now := time.Now()
	if !turns.keepPlace("a", 2, now) || !turns.keepPlace("b", 2, now) {
		t.Fatal("the first two churches did not get a place")
	}
	if turns.keepPlace("c", 2, now) {
		t.Fatal("a third church got a place with two allowed")
	}
	if !turns.keepPlace("a", 2, now.Add(4*time.Second)) || !turns.holds("a", now.Add(8*time.Second)) {
		t.Fatal("a church keeping its place lost it while seen sending")
	}
	if !turns.keepPlace("c", 2, now.Add(6*time.Second)) {
		t.Fatal("a church unseen for longer than stale kept its place from another")
	}
	if turns.holds("b", now.Add(6*time.Second)) {
		t.Fatal("the stale church still holds a place")
	}
	turns.letGo("a")
	if !turns.keepPlace("d", 2, now.Add(9*time.Second)) || turns.holds("a", now.Add(9*time.Second)) {
		t.Fatal("letting go did not free the place")
	}
	if turns.keepPlace("e", 0, now) {
		t.Fatal("a church got a place with none allowed")
	}
}
