package numbers

import (
	"context"

	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// Actor is the admin changing the church's numbers, for its audit log.
type Actor struct{ AdminID, IP string }

// OrderAs is Order by an admin, recorded in the church's audit log.
func (s *Service) OrderAs(ctx context.Context, h *tenancy.Handle, a Actor, raw string) (*tenancy.NumberOrder, error) {
	o, err := s.Order(ctx, h.TenantID(), raw)
	if err != nil {
		return nil, err
	}
	return o, s.audit(ctx, h, a, "number.ordered", o.ID, o.E164)
}

// ReleaseAs is Release by an admin, recorded in the church's audit log.
func (s *Service) ReleaseAs(ctx context.Context, h *tenancy.Handle, a Actor, raw string) (*tenancy.Number, error) {
	n, err := s.Release(ctx, h.TenantID(), raw)
	if err != nil {
		return nil, err
	}
	return n, s.audit(ctx, h, a, "number.released", n.E164, n.E164)
}

// RestoreAs is Restore by an admin, recorded in the church's audit log.
func (s *Service) RestoreAs(ctx context.Context, h *tenancy.Handle, a Actor, raw string) (*tenancy.Number, error) {
	n, err := s.Restore(ctx, h.TenantID(), raw)
	if err != nil {
		return nil, err
	}
	return n, s.audit(ctx, h, a, "number.restored", n.E164, n.E164)
}

// audit records a number change; the church's own number is not personal data.
func (s *Service) audit(ctx context.Context, h *tenancy.Handle, a Actor, action, target, number string) error {
	return s.store.Audit(ctx, h, store.AuditEntry{ActorID: a.AdminID, Action: action, Target: target, IP: a.IP, Detail: number})
}
