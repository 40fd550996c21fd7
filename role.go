package steeple

// RoleSender is a volunteer or staff member who writes and sends texts and
// answers the inbox, but does not manage the church: numbers, 10DLC,
// settings, admins and the audit log are closed to them.
const RoleSender Role = "sender"

// ParseRole checks a role named in a request. Errors: EINVALID naming field.
func ParseRole(field, s string) (Role, error) {
	switch r := Role(s); r {
	case RoleOwner, RoleAdmin, RoleSender:
		return r, nil
	}
	return "", FieldError(field, "must be owner, admin or sender")
}

// ManagesChurch says whether the role may change the church's numbers,
// 10DLC registration and settings.
func (r Role) ManagesChurch() bool { return r == RoleOwner || r == RoleAdmin }

// RequireManager refuses a sender what only owners and admins may do.
func RequireManager(a *Admin) error {
	if a == nil || !a.Role.ManagesChurch() {
		return Errorf(EFORBIDDEN, "a sender can write and send texts and answer the inbox; ask an owner or admin of your church to change numbers, registration or settings")
	}
	return nil
}
