package tenancy

import (
	"context"
	"errors"

	"github.com/steeple-sms/steeple"
)

// The ways to acquire a church's handle, by who asks: each is the one
// acquire loop (manager.go) in a mode saying what it may open and whom it
// gives way to.

// Acquire returns a handle on the tenant's database. Errors: EINVALID for a
// malformed id, ENOTFOUND for an unknown or deleted church, ESUSPENDED for a
// suspended one, ESCHEMA when its database is newer than this binary, and
// EUNAVAILABLE (wrapping ErrBudgetExhausted) when no connection came free
// before ctx's deadline — or before AcquireTimeout if ctx has none.
func (m *Manager) Acquire(ctx context.Context, tenantID string) (*Handle, error) {
	return m.acquireCounted(ctx, tenantID, acquireServe)
}

// AcquireToRecord is Acquire that also opens a suspended (or closed, not
// yet purged) church's
// database, to record what its members did meanwhile (a STOP, a delivery
// receipt): suspension stops serving the church, not its members' choices
// from counting. Nothing may be sent with the handle's church while it is
// suspended; the send pipeline acquires with Acquire and stops there.
func (m *Manager) AcquireToRecord(ctx context.Context, tenantID string) (*Handle, error) {
	return m.acquireCounted(ctx, tenantID, acquireRecord)
}

// AcquireBackground is Acquire for bulk work (a broadcast's send jobs)
// that leaves room for the rest: it opens a connection only while fewer
// than backgroundLimit connections are counted against the budget, so a
// quarter of it stays for STOPs, receipts and pages however many send
// workers there are. It may still use an idle connection its church's
// pool already has.
func (m *Manager) AcquireBackground(ctx context.Context, tenantID string) (*Handle, error) {
	return m.acquireCounted(ctx, tenantID, acquireBackground)
}

// TryAcquireBackground is AcquireBackground that never waits for a
// connection nor closes another church's pool to make one: when none is
// free at once it fails with EUNAVAILABLE (ErrBudgetExhausted). For a send
// that is one of several for its church, and is not needed to make
// progress (a long broadcast's extra lanes).
func (m *Manager) TryAcquireBackground(ctx context.Context, tenantID string) (*Handle, error) {
	return m.acquireCounted(ctx, tenantID, acquireBackgroundNow)
}

// TryAcquireToRecord is AcquireToRecord that never waits for a connection
// nor closes another church's pool to make one: when none is free at once
// it fails with EUNAVAILABLE (ErrBudgetExhausted). For work that has a
// slower way round (a receipt the queue can apply later), so that a flood
// of it does not crowd the callers that must wait.
func (m *Manager) TryAcquireToRecord(ctx context.Context, tenantID string) (*Handle, error) {
	return m.acquireCounted(ctx, tenantID, acquireRecordNow)
}

// WaitToRecord is AcquireToRecord that waits for room but never closes
// another church's pool to make it, nor counts as starving (which would
// have busy pools give connections back): it gets its church's connection
// once one is free, or its pool may grow, or its holder lends it
// (Handle.Lend). For work that stands in for many callers (a church's
// receipt drain) and must not churn other churches' pools while it waits.
// Errors as AcquireToRecord.
func (m *Manager) WaitToRecord(ctx context.Context, tenantID string) (*Handle, error) {
	return m.acquireCounted(ctx, tenantID, acquireRecordQuiet)
}

// acquireMode says what an acquisition may open and who it gives way to.
type acquireMode int

const (
	acquireServe         acquireMode = iota // an active church only
	acquireRecord                           // suspended and closing churches too
	acquireBackground                       // active only, within backgroundLimit
	acquireRecordNow                        // as acquireRecord, without waiting or evicting
	acquireRecordQuiet                      // as acquireRecord, waiting without evicting or starving; may borrow
	acquireRecordBrief                      // as acquireRecord, and may borrow (Handle.Lend)
	acquireBackgroundNow                    // as acquireBackground, without waiting or evicting
	acquireMemberText                       // as acquireRecordBrief, and first for room
)

// tries says the mode takes a free connection or none, without waiting.
func (mode acquireMode) tries() bool {
	return mode == acquireRecordNow || mode == acquireBackgroundNow
}

// background says the mode is bulk work, kept within backgroundLimit.
func (mode acquireMode) background() bool {
	return mode == acquireBackground || mode == acquireBackgroundNow
}

func (m *Manager) acquireCounted(ctx context.Context, tenantID string, mode acquireMode) (*Handle, error) {
	h, err := m.acquire(ctx, tenantID, mode)
	if err != nil {
		// A try that found no free connection is not an acquisition that
		// failed: nobody waited, and the caller has another way round.
		if !mode.tries() || !errors.Is(err, ErrBudgetExhausted) {
			m.metrics.acquireErr.WithLabelValues(steeple.ErrorCode(err)).Inc()
		}
		return h, err
	}
	noteChurch(ctx, tenantID)
	return h, nil
}
