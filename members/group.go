package members

import (
	"context"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

func groupName(raw string) (string, error) {
	name := strings.TrimSpace(raw)
	switch {
	case name == "":
		return "", steeple.FieldError("name", "is required")
	case len([]rune(name)) > 100:
		return "", steeple.FieldError("name", "must be at most 100 characters")
	}
	return name, nil
}

// CreateGroup adds a group.
func (s *Service) CreateGroup(ctx context.Context, h *tenancy.Handle, name string) (*steeple.Group, error) {
	n, err := groupName(name)
	if err != nil {
		return nil, err
	}
	return s.store.CreateGroup(ctx, h, n)
}

// RenameGroup renames a group.
func (s *Service) RenameGroup(ctx context.Context, h *tenancy.Handle, id, name string) (*steeple.Group, error) {
	if !steeple.ValidID(id) {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "group not found")
	}
	n, err := groupName(name)
	if err != nil {
		return nil, err
	}
	return s.store.RenameGroup(ctx, h, id, n)
}

// checkIDs refuses malformed ids up front (they cannot exist anywhere).
func checkIDs(field string, ids []string) error {
	if len(ids) == 0 {
		return steeple.FieldError(field, "must name at least one id")
	}
	if len(ids) > 10_000 {
		return steeple.FieldError(field, "at most 10000 ids at once")
	}
	for _, id := range ids {
		if !steeple.ValidID(id) {
			return steeple.Errorf(steeple.ENOTFOUND, "member %s not found", id)
		}
	}
	return nil
}

// AddToGroup adds members to a group: all or none.
func (s *Service) AddToGroup(ctx context.Context, h *tenancy.Handle, groupID string, memberIDs []string) error {
	if !steeple.ValidID(groupID) {
		return steeple.Errorf(steeple.ENOTFOUND, "group not found")
	}
	if err := checkIDs("member_ids", memberIDs); err != nil {
		return err
	}
	return s.store.AddToGroup(ctx, h, groupID, memberIDs)
}

// RemoveFromGroup removes members from a group.
func (s *Service) RemoveFromGroup(ctx context.Context, h *tenancy.Handle, groupID string, memberIDs []string) error {
	if !steeple.ValidID(groupID) {
		return steeple.Errorf(steeple.ENOTFOUND, "group not found")
	}
	if err := checkIDs("member_ids", memberIDs); err != nil {
		return err
	}
	return s.store.RemoveFromGroup(ctx, h, groupID, memberIDs)
}

// Group returns a group; GroupMembers its members; DeleteGroup removes it.
func (s *Service) Group(ctx context.Context, h *tenancy.Handle, id string) (*steeple.Group, error) {
	if !steeple.ValidID(id) {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "group not found")
	}
	return s.store.Group(ctx, h, id)
}

// GroupMembers lists a group's members.
func (s *Service) GroupMembers(ctx context.Context, h *tenancy.Handle, id string) ([]*steeple.Member, error) {
	if !steeple.ValidID(id) {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "group not found")
	}
	return s.store.GroupMembers(ctx, h, id)
}

// DeleteGroup removes a group; its members stay.
func (s *Service) DeleteGroup(ctx context.Context, h *tenancy.Handle, id string) error {
	if !steeple.ValidID(id) {
		return steeple.Errorf(steeple.ENOTFOUND, "group not found")
	}
	return s.store.DeleteGroup(ctx, h, id)
}

// Groups lists the church's groups.
func (s *Service) Groups(ctx context.Context, h *tenancy.Handle) ([]steeple.Group, error) {
	return s.store.Groups(ctx, h)
}
