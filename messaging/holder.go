package messaging

import (
	"context"
	"time"

	"github.com/steeple-sms/steeple/tenancy"
)

// handleHolder acquires the church's handle when needed and gives it back
// while the worker waits long for its pacing slot (see pause), so a slow
// paced send does not sit on a budgeted connection.
type handleHolder struct {
	ten *tenancy.Tenancy
	id  string
	h   *tenancy.Handle
	// borrowed is a handle its caller releases (a request's): kept throughout.
	borrowed bool
	// within bounds the next wait for a connection (0: none but ctx's).
	within time.Duration
}

// getWithin is get waiting at most d for a connection, where nothing is
// under way that a failure would leave half done.
func (hh *handleHolder) getWithin(ctx context.Context, d time.Duration) (*tenancy.Handle, error) {
	hh.within = d
	return hh.get(ctx)
}

func (hh *handleHolder) get(ctx context.Context) (*tenancy.Handle, error) {
	if hh.h == nil {
		if hh.within > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, hh.within)
			defer cancel()
		}
		hh.within = 0
		// A broadcast is bulk work: it gives way to STOPs, receipts and
		// pages waiting for a connection (see AcquireBackground).
		h, err := hh.ten.Manager.AcquireBackground(ctx, hh.id)
		if err != nil {
			return nil, err
		}
		hh.h = h
	}
	return hh.h, nil
}

func (hh *handleHolder) release() {
	if hh.h != nil && !hh.borrowed {
		hh.h.Release()
		hh.h = nil
	}
}
