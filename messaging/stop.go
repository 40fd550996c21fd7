package messaging

import (
	"context"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// stopWait bounds how long Stop waits for texts already being handed to
// the provider when the stop committed (a provider call is bounded by 30 s).
const stopWait = 35 * time.Second

// Stop stops sending a broadcast: every recipient not yet handed to the
// provider is skipped ("stopped by <admin>"), durably, before Stop
// returns; then it waits for the few texts already in the provider's hands
// to be recorded, so that once it returns no text of this broadcast is
// handed to the provider by any process. It returns the broadcast as it
// now stands. Errors: ENOTFOUND.
func (s *Service) Stop(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, ip, id string) (*store.Broadcast, error) {
	name := admin.Name
	if name == "" {
		name = "an admin"
	}
	if _, err := s.store.StopBroadcast(ctx, h, id, admin.ID, name, ip); err != nil {
		return nil, err
	}
	since := s.store.Now().Add(-stopWait)
	deadline := time.Now().Add(stopWait)
	for {
		n, err := s.store.InFlight(ctx, h, id, since)
		if err != nil {
			return nil, err
		}
		if n == 0 || time.Now().After(deadline) {
			break
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return nil, err
		}
	}
	return s.store.Broadcast(ctx, h, id)
}
