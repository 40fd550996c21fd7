package store

import (
	"context"
	"database/sql"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// AdminRecord is an admin with the secrets only authentication needs.
type AdminRecord struct {
	steeple.Admin
	PasswordHash string
	TOTPSecret   string // "" unless MFA is enabled
	TOTPPending  string // "" unless setup has started
	TOTPLastStep int64
}

// emailAAD binds a sealed email to its column, so it cannot be moved elsewhere.
var emailAAD = []byte("admins.email")

// NewAdmin is what CreateAdmin needs.
type NewAdmin struct {
	Name, Email, PasswordHash string
	Role                      steeple.Role
}

// CreateAdmin adds an admin. Errors: ECONFLICT if the email is already an
// admin of this church.
func (s *Store) CreateAdmin(ctx context.Context, h *tenancy.Handle, a NewAdmin) (*steeple.Admin, error) {
	adm := &steeple.Admin{ID: steeple.NewID(), Name: a.Name, Email: a.Email, Role: a.Role, CreatedAt: s.Now(),
		ReplyNotifications: steeple.ReplyNotifyOff}
	err := h.InTx(ctx, func(tx *sql.Tx) error {
		hash, err := s.adoptEmail(ctx, tx, a.Email)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO admins (id, name, email_cipher, email_hash, password_hash, role, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			adm.ID, adm.Name, s.keys.Seal([]byte(a.Email), emailAAD), hash, a.PasswordHash, adm.Role, adm.CreatedAt)
		return err
	})
	if err != nil {
		return nil, translate(err, "an admin with this email")
	}
	return adm, nil
}

const adminColumns = `id, name, email_cipher, role, mfa_enabled, created_at, password_hash, totp_cipher, totp_pending_cipher, totp_last_step,
	reply_notifications`

func (s *Store) scanAdmin(row interface{ Scan(...any) error }) (*AdminRecord, error) {
	var a AdminRecord
	var email, totp, pending []byte
	if err := row.Scan(&a.ID, &a.Name, &email, &a.Role, &a.MFAEnabled, &a.CreatedAt, &a.PasswordHash, &totp, &pending, &a.TOTPLastStep,
		&a.ReplyNotifications); err != nil {
		return nil, err
	}
	plain, err := s.keys.Open(email, emailAAD)
	if err != nil {
		return nil, err
	}
	a.Email = string(plain)
	if a.TOTPSecret, err = s.openOptional(totp, totpAAD); err != nil {
		return nil, err
	}
	if a.TOTPPending, err = s.openOptional(pending, totpAAD); err != nil {
		return nil, err
	}
	a.CreatedAt = a.CreatedAt.UTC()
	return &a, nil
}

func (s *Store) openOptional(sealed, aad []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	b, err := s.keys.Open(sealed, aad)
	return string(b), err
}

// Admin returns one admin with its secrets. Errors: ENOTFOUND.
func (s *Store) Admin(ctx context.Context, h *tenancy.Handle, id string) (*AdminRecord, error) {
	a, err := s.scanAdmin(h.QueryRowContext(ctx, `SELECT `+adminColumns+` FROM admins WHERE id = $1`, id))
	return a, translate(err, "admin")
}

// AdminByEmail finds an admin by email. Errors: ENOTFOUND.
func (s *Store) AdminByEmail(ctx context.Context, h *tenancy.Handle, email string) (*AdminRecord, error) {
	ix := s.emailIndexes(email)
	a, err := s.scanAdmin(h.QueryRowContext(ctx, `SELECT `+adminColumns+` FROM admins WHERE email_hash IN ($1, $2)`, ix.cur, ix.prev))
	return a, translate(err, "admin")
}

// Admins lists the church's admins, oldest first.
func (s *Store) Admins(ctx context.Context, h *tenancy.Handle) ([]steeple.Admin, error) {
	rows, err := h.QueryContext(ctx, `SELECT `+adminColumns+` FROM admins ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []steeple.Admin{}
	for rows.Next() {
		a, err := s.scanAdmin(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a.Admin)
	}
	return out, rows.Err()
}

// CountAdmins counts admins by role ("" for all).
func (s *Store) CountAdmins(ctx context.Context, h *tenancy.Handle, role steeple.Role) (int, error) {
	var n int
	err := h.QueryRowContext(ctx, `SELECT COUNT(*) FROM admins WHERE $1 = '' OR role = $1`, string(role)).Scan(&n)
	return n, err
}

// DeleteAdmin removes an admin unless it is the last owner. The check and
// the delete run in one transaction. Errors: ENOTFOUND, ECONFLICT (last owner).
func (s *Store) DeleteAdmin(ctx context.Context, h *tenancy.Handle, id string) (*steeple.Admin, error) {
	var removed *steeple.Admin
	err := h.InTx(ctx, func(tx *sql.Tx) error {
		a, err := s.scanAdmin(tx.QueryRowContext(ctx, `SELECT `+adminColumns+` FROM admins WHERE id = $1`, id))
		if err != nil {
			return translate(err, "admin")
		}
		if err := requireAnotherOwner(ctx, tx, a, "the last owner cannot be removed"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET assignee_id = NULL WHERE assignee_id = $1`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM admins WHERE id = $1`, id); err != nil {
			return err
		}
		removed = &a.Admin
		return nil
	})
	return removed, err
}

// SetAdminRole changes an admin's role unless that would leave the church
// without an owner; the check and the change run in one transaction.
// Errors: ENOTFOUND, ECONFLICT (last owner).
func (s *Store) SetAdminRole(ctx context.Context, h *tenancy.Handle, id string, role steeple.Role) (*steeple.Admin, error) {
	var changed *steeple.Admin
	err := h.InTx(ctx, func(tx *sql.Tx) error {
		a, err := s.scanAdmin(tx.QueryRowContext(ctx, `SELECT `+adminColumns+` FROM admins WHERE id = $1`, id))
		if err != nil {
			return translate(err, "admin")
		}
		if role != steeple.RoleOwner {
			if err := requireAnotherOwner(ctx, tx, a, "the church needs at least one owner: make someone else an owner first"); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE admins SET role = $1 WHERE id = $2`, role, id); err != nil {
			return err
		}
		a.Role = role
		changed = &a.Admin
		return nil
	})
	return changed, err
}

// requireAnotherOwner refuses, with ECONFLICT and message, a change that
// takes a away from being an owner when a is the church's only owner.
func requireAnotherOwner(ctx context.Context, tx *sql.Tx, a *AdminRecord, message string) error {
	if a.Role != steeple.RoleOwner {
		return nil
	}
	var owners int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM admins WHERE role = 'owner'`).Scan(&owners); err != nil {
		return err
	}
	if owners <= 1 {
		return steeple.Errorf(steeple.ECONFLICT, "%s", message)
	}
	return nil
}

var totpAAD = []byte("admins.totp")

// SetPendingTOTP stores a TOTP secret awaiting confirmation, sealed.
func (s *Store) SetPendingTOTP(ctx context.Context, h *tenancy.Handle, id, secret string) error {
	_, err := h.ExecContext(ctx, `UPDATE admins SET totp_pending_cipher = $1 WHERE id = $2`, s.keys.Seal([]byte(secret), totpAAD), id)
	return err
}

// EnableMFA turns the pending secret into the active one and stores the
// hashed recovery codes, replacing any earlier ones, in one transaction.
func (s *Store) EnableMFA(ctx context.Context, h *tenancy.Handle, id, secret string, step int64, recoveryHashes []string) error {
	return h.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE admins SET mfa_enabled = TRUE, totp_cipher = $1, totp_pending_cipher = NULL,
			totp_last_step = $2 WHERE id = $3`, s.keys.Seal([]byte(secret), totpAAD), step, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE admin_id = $1`, id); err != nil {
			return err
		}
		for _, c := range recoveryHashes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (code_hash, admin_id) VALUES ($1, $2)`, c, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// DisableMFA removes the secret and the recovery codes.
func (s *Store) DisableMFA(ctx context.Context, h *tenancy.Handle, id string) error {
	return h.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE admins SET mfa_enabled = FALSE, totp_cipher = NULL, totp_pending_cipher = NULL WHERE id = $1`, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE admin_id = $1`, id)
		return err
	})
}

// UseTOTPStep records that a code of this time step was accepted. It
// answers false if that step (or a later one) was already used: a code
// works once.
func (s *Store) UseTOTPStep(ctx context.Context, h *tenancy.Handle, id string, step int64) (bool, error) {
	res, err := h.ExecContext(ctx, `UPDATE admins SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1`, step, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// UseRecoveryCode marks a recovery code used; false if it is unknown or spent.
func (s *Store) UseRecoveryCode(ctx context.Context, h *tenancy.Handle, adminID, codeHash string) (bool, error) {
	res, err := h.ExecContext(ctx, `UPDATE recovery_codes SET used_at = $1 WHERE code_hash = $2 AND admin_id = $3 AND used_at IS NULL`,
		s.Now(), codeHash, adminID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RecoveryCodesLeft counts an admin's unused recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, h *tenancy.Handle, adminID string) (int, error) {
	var n int
	err := h.QueryRowContext(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE admin_id = $1 AND used_at IS NULL`, adminID).Scan(&n)
	return n, err
}
