package secret

import (
	"crypto/sha256"
	"sync"
	"time"
)

// checkEvery is how often a process looks whether its keys file changed:
// after `steeple keys rotate`, every process seals with the new key within
// this long (and reads values sealed with it at once, see Open).
const checkEvery = 10 * time.Second

// FollowedWithin is how long after a keys file changes every process
// following it uses the new file: a rotation of the blind-index key waits
// this long before recomputing indexes, so no process still looks up with
// the old key alone.
const FollowedWithin = checkEvery

// reloader follows a keys file. A file that no longer parses is ignored
// (the keys read before stay), so a half-written edit cannot stop a process.
type reloader struct {
	path string

	mu         sync.Mutex
	digest     [sha256.Size]byte
	lastCheck  time.Time
	lastForced time.Time
}

// maybe reloads when the file changed, looking at most every checkEvery.
func (r *reloader) maybe(k *Keys) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.lastCheck) < checkEvery {
		return
	}
	r.load(k)
}

// now reloads at once when the file changed (at most once a second), and
// says whether it did.
func (r *reloader) now(k *Keys) bool {
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.lastForced) < time.Second {
		return false
	}
	r.lastForced = time.Now()
	return r.load(k)
}

func (r *reloader) load(k *Keys) bool {
	r.lastCheck = time.Now()
	f, digest, err := ReadFile(r.path)
	if err != nil || digest == r.digest {
		return false
	}
	set, err := newKeySet(f)
	if err != nil {
		return false
	}
	k.set.Store(set)
	r.digest = digest
	return true
}

// Swap replaces the keys with f's at once, as a reload of the keys file
// does: for a process (or a test) that holds the keys of a file it
// rewrites itself.
func (k *Keys) Swap(f File) error {
	set, err := newKeySet(f)
	if err != nil {
		return err
	}
	k.set.Store(set)
	return nil
}
