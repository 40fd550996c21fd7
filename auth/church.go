package auth

import (
	"context"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// ChurchProfile is the church's name and timezone, kept in the registry.
type ChurchProfile struct {
	Name     string `json:"name"`
	Timezone string `json:"timezone"`
}

// UpdateChurch renames the church or moves it to another timezone (owners
// and admins; audited). It applies from the next request: each one reads
// the church from the registry. Errors: EFORBIDDEN, EINVALID.
func (s *Service) UpdateChurch(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, p ChurchProfile, ip string) (*steeple.Tenant, error) {
	if err := steeple.RequireManager(admin); err != nil {
		return nil, err
	}
	t, err := s.ten.Registry.SetProfile(ctx, h.TenantID(), p.Name, p.Timezone)
	if err != nil {
		return nil, err
	}
	return t, s.audit(ctx, h, admin.ID, "church.updated", t.ID, ip, "timezone "+t.Timezone)
}
