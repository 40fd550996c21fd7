package tenancy

import (
	"context"
	"sync"
)

// ChurchNote records which church a request reached, for its access log
// line: every church's data is reached through the manager, so Acquire
// writes the note and no handler has to.
type ChurchNote struct {
	mu sync.Mutex
	id string
}

type churchNoteKey struct{}

// WithChurchNote returns a context whose successful Acquire calls record
// their church in the returned note.
func WithChurchNote(ctx context.Context) (context.Context, *ChurchNote) {
	n := &ChurchNote{}
	return context.WithValue(ctx, churchNoteKey{}, n), n
}

// TenantID is the last church acquired under the note ("" if none).
func (n *ChurchNote) TenantID() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.id
}

func noteChurch(ctx context.Context, tenantID string) {
	if n, ok := ctx.Value(churchNoteKey{}).(*ChurchNote); ok {
		n.mu.Lock()
		n.id = tenantID
		n.mu.Unlock()
	}
}
