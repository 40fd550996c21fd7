package numbers

import (
	"context"
	"fmt"

	"github.com/steeple-sms/steeple/tenancy"
)

// ReleaseChurch gives back to the provider every number of a church being
// purged, with no grace (the church's own grace is over), and forgets each
// in the registry; purchases under way are undone the same way. Each
// number is forgotten only once the provider has it back, so a rerun after
// a failure picks up where this stopped.
func (s *Service) ReleaseChurch(ctx context.Context, tenantID string) error {
	orders, err := s.ten.Registry.ChurchNumberOrders(ctx, tenantID)
	if err != nil {
		return err
	}
	for _, o := range orders {
		switch o.Step {
		case tenancy.OrderPlacing, tenancy.OrderOrdered, tenancy.OrderActive:
			if err := s.undo(ctx, o, "the church was deleted"); err != nil {
				return fmt.Errorf("undo number order %s: %w", o.ID, err)
			}
		}
	}
	nums, err := s.ten.Registry.ChurchNumbers(ctx, tenantID)
	if err != nil {
		return err
	}
	for _, n := range nums {
		if err := s.releaseAtProvider(ctx, n.E164, n.ProviderID); err != nil {
			return fmt.Errorf("release a number at the provider: %w", err)
		}
		if err := s.ten.Registry.ForgetChurchNumber(ctx, tenantID, n.E164); err != nil {
			return err
		}
	}
	return nil
}
