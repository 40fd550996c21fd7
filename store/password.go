package store

import (
	"context"
	"database/sql"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// SetAdminPassword stores an admin's new password hash and, in the same
// transaction, ends the admin's web sessions and revokes its API refresh
// tokens: a changed password signs out everywhere else. Errors: ENOTFOUND.
func (s *Store) SetAdminPassword(ctx context.Context, h *tenancy.Handle, adminID, hash string) error {
	return h.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE admins SET password_hash = $1 WHERE id = $2`, hash, adminID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return steeple.Errorf(steeple.ENOTFOUND, "admin not found")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE admin_id = $1`, adminID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = $1 WHERE admin_id = $2 AND revoked_at IS NULL`, s.Now(), adminID)
		return err
	})
}

// RevokeChurchSessions ends every web session of the church and revokes
// every API refresh token (when the church is suspended), and says how many
// web sessions ended.
func (s *Store) RevokeChurchSessions(ctx context.Context, h *tenancy.Handle) (int64, error) {
	var n int64
	err := h.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM web_sessions`)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = $1 WHERE revoked_at IS NULL`, s.Now())
		return err
	})
	return n, err
}
