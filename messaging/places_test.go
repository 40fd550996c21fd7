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
	if places.keep("a", "a2", 1000, 2, now) || places.holds("a", "a2", now) {
		t.Fatal("a church's second broadcast got its first broadcast's place")
	}
	if !places.keep("a", "a1", 1000, 2, now.Add(4*time.Second)) || !places.holds("a", "a1", now.Add(8*time.Second)) {
		t.Fatal("a broadcast holding its place lost it while seen sending")
	}
	if places.holds("b", "b1", now.Add(6*time.Second)) {
		t.Fatal("a place unseen for longer than stale is still held")
	}
	if !places.keep("c", "c1", 1000, 2, now.Add(6*time.Second)) {
		t.Fatal("the stale place was not freed for another church")
	}
	places.letGo("a", "a2") // another broadcast of the church: its place stays
	if !places.holds("a", "a1", now.Add(9*time.Second)) {
		t.Fatal("letting another broadcast go freed the church's place")
	}
	places.letGo("a", "a1")
	if !places.keep("d", "d1", 1000, 2, now.Add(9*time.Second)) || places.holds("a", "a1", now.Add(9*time.Second)) {
		t.Fatal("letting go did not free the place")
	}
	if places.keep("e", "e1", 1000, 0, now) {
		t.Fatal("a church got a place with none allowed")
	}
	// Held now: c and d. The limit shrinks to one: the first to ask again
	// gives its place up, the other keeps its own.
	later := now.Add(10 * time.Second)
	if places.keep("c", "c1", 1000, 1, later) || places.holds("c", "c1", later) {
		t.Fatal("a place beyond a shrunken limit was kept")
	}
	if !places.keep("d", "d1", 1000, 1, later) {
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
	if places.holds("a", "a1", now) || places.keep("a", "a1", 1000, 2, now) {
		t.Fatal("the broadcast with the fewest left kept or took back its place")
	}
	if !places.holds("b", "b1", now) || !places.holds("c", "c1", now) {
		t.Fatal("the broadcasts with the most left do not hold the places")
	}
}
