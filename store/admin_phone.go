package store

import (
	"context"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// adminPhoneAAD binds a sealed admin phone to its column.
var adminPhoneAAD = []byte("admins.phone")

// AdminPhone is an admin's own phone in E.164 ("" when none is set).
// Errors: ENOTFOUND.
func (s *Store) AdminPhone(ctx context.Context, h *tenancy.Handle, adminID string) (string, error) {
	if !steeple.ValidID(adminID) {
		return "", steeple.Errorf(steeple.ENOTFOUND, "admin not found")
	}
	var sealed []byte
	if err := h.QueryRowContext(ctx, `SELECT phone_cipher FROM admins WHERE id = $1`, adminID).Scan(&sealed); err != nil {
		return "", translate(err, "admin")
	}
	if len(sealed) == 0 {
		return "", nil
	}
	p, err := s.keys.Open(sealed, adminPhoneAAD)
	return string(p), err
}

// SetAdminPhone sets (or, with "", clears) an admin's own phone, sealed.
// Errors: ENOTFOUND.
func (s *Store) SetAdminPhone(ctx context.Context, h *tenancy.Handle, adminID, phone string) error {
	var sealed []byte
	if phone != "" {
		sealed = s.keys.Seal([]byte(phone), adminPhoneAAD)
	}
	res, err := h.ExecContext(ctx, `UPDATE admins SET phone_cipher = $1 WHERE id = $2`, sealed, adminID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return steeple.Errorf(steeple.ENOTFOUND, "admin not found")
	}
	return nil
}
