package messaging

import (
	"testing"
	"time"
)

// At most limit churches hold a place, each for one broadcast; a place
// unseen for longer than stale (its chunk ran in another process) is gone,
// whether or not another church asks for it; letting go frees it at once;
// a place beyond a limit that shrank is given up when next asked.
func TestPlacesAreBounded(t *testing.T) {
	places := churchPlaces{stale: 5 * time.Second}
	now := time.Now()
	if !places.keep("a", "a1", 1000, 2, now) || !places.keep("b", "b1", 1000, 2, now) {
		t.Fatal("the first two churches did not get a place")
	}
	if places.keep("c", "c1", 1000, 2, now) {
		t.Fatal("a third church got a place with two allowed")
	}
	if places.keep("a", "a2", 1000, 2, now) || places.holds("a", "a2", 2, now) {
		t.Fatal("a church's second broadcast got its first broadcast's place")
	}
	if !places.keep("a", "a1", 1000, 2, now.Add(4*time.Second)) || !places.holds("a", "a1", 2, now.Add(8*time.Second)) {
		t.Fatal("a broadcast holding its place lost it while seen sending")
	}
	if places.holds("b", "b1", 2, now.Add(6*time.Second)) {
		t.Fatal("a place unseen for longer than stale is still held")
	}
	if !places.keep("c", "c1", 1000, 2, now.Add(6*time.Second)) {
		t.Fatal("the stale place was not freed for another church")
	}
	places.letGo("a", "a2") // another broadcast of the church: its place stays
	if !places.holds("a", "a1", 2, now.Add(9*time.Second)) {
		t.Fatal("letting another broadcast go freed the church's place")
	}
	places.letGo("a", "a1")
	if !places.keep("d", "d1", 1000, 2, now.Add(9*time.Second)) || places.holds("a", "a1", 2, now.Add(9*time.Second)) {
		t.Fatal("letting go did not free the place")
	}
	if places.keep("e", "e1", 1000, 0, now) {
		t.Fatal("a church got a place with none allowed")
	}
	// Held now: c (1,000 left) and d. The limit shrinks to one: whoever
	// asks first, the broadcast with fewer texts left gives its place up,
	// and no newcomer takes one while more are held than the limit.
	later := now.Add(10 * time.Second)
	if !places.keep("d", "d1", 5000, 2, later) {
		t.Fatal("d lost its place")
	}
	if !places.keep("d", "d1", 5000, 1, later) || !places.holds("d", "d1", 1, later) {
		t.Fatal("the place with the most left was given up when the limit shrank")
	}
	if places.keep("f", "f1", 9000, 1, later) {
		t.Fatal("a newcomer took a place while more were held than the limit")
	}
	if places.holds("c", "c1", 1, later) || places.keep("c", "c1", 1000, 1, later) {
		t.Fatal("the place with fewer left was kept beyond a shrunken limit")
	}
	if !places.holds("d", "d1", 1, later) {
		t.Fatal("the place within the shrunken limit was given up")
	}
}

// When every place is held, a broadcast with half as many texts left again
// as the one with the fewest takes that one's place; closer sizes do not.
func TestPlacesGoToTheMostLeft(t *testing.T) {
	places := churchPlaces{stale: 5 * time.Second}
	now := time.Now()
	if !places.keep("a", "a1", 1000, 2, now) || !places.keep("b", "b1", 5000, 2, now) {
		t.Fatal("the first two churches did not get a place")
	}
	if places.keep("c", "c1", 1400, 2, now) {
		t.Fatal("a broadcast with 1,400 left took the place of one with 1,000")
	}
	if !places.keep("c", "c1", 1500, 2, now) {
		t.Fatal("a broadcast with 1,500 left did not take the place of one with 1,000")
	}
	if places.holds("a", "a1", 2, now) || places.keep("a", "a1", 1000, 2, now) {
		t.Fatal("the broadcast with the fewest left kept or took back its place")
	}
	if !places.holds("b", "b1", 2, now) || !places.holds("c", "c1", 2, now) {
		t.Fatal("the broadcasts with the most left do not hold the places")
	}
}
