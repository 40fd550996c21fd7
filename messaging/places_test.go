package messaging

import (
	"testing"
	"time"
)

// At most limit churches hold a place, each for one broadcast; a place
// unseen for longer than stale (its chunk ran in another process) is gone,
// whether or not another church asks for it; letting go frees it at once.
func TestPlacesAreBounded(t *testing.T) {
	places := churchPlaces{stale: 5 * time.Second}
	now := time.Now()
	if !places.keep("a", "a1", 2, now) || !places.keep("b", "b1", 2, now) {
		t.Fatal("the first two churches did not get a place")
	}
	if places.keep("c", "c1", 2, now) {
		t.Fatal("a third church got a place with two allowed")
	}
	if places.keep("a", "a2", 2, now) || places.holds("a", "a2", now) {
		t.Fatal("a church's second broadcast got its first broadcast's place")
	}
	if !places.keep("a", "a1", 2, now.Add(4*time.Second)) || !places.holds("a", "a1", now.Add(8*time.Second)) {
		t.Fatal("a broadcast holding its place lost it while seen sending")
	}
	if places.holds("b", "b1", now.Add(6*time.Second)) {
		t.Fatal("a place unseen for longer than stale is still held")
	}
	if !places.keep("c", "c1", 2, now.Add(6*time.Second)) {
		t.Fatal("the stale place was not freed for another church")
	}
	places.letGo("a", "a2") // another broadcast of the church: its place stays
	if !places.holds("a", "a1", now.Add(9*time.Second)) {
		t.Fatal("letting another broadcast go freed the church's place")
	}
	places.letGo("a", "a1")
	if !places.keep("d", "d1", 2, now.Add(9*time.Second)) || places.holds("a", "a1", now.Add(9*time.Second)) {
		t.Fatal("letting go did not free the place")
	}
	if places.keep("e", "e1", 0, now) {
		t.Fatal("a church got a place with none allowed")
	}
}
