package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// WebSession is a signed-in browser session of the web app, found by the
// hash of its secret.
type WebSession struct {
	IDHash, AdminID string
	// PasswordMark is PasswordMark(admin's password hash) when it began.
	PasswordMark string
	CreatedAt    time.Time
	LastSeenAt   time.Time
	ExpiresAt    time.Time // the absolute end
	IP           string
	UserAgent    string
}

// PasswordMark fingerprints a password hash, so that a session can tell the
// password changed without storing the hash twice.
func PasswordMark(passwordHash string) string {
	h := sha256.Sum256([]byte("web-session:" + passwordHash))
	return hex.EncodeToString(h[:16])
}

// CreateWebSession stores a new session.
func (s *Store) CreateWebSession(ctx context.Context, h *tenancy.Handle, ws WebSession) error {
	_, err := h.ExecContext(ctx, `INSERT INTO web_sessions (id_hash, admin_id, password_mark, created_at, last_seen_at, expires_at, ip, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		ws.IDHash, ws.AdminID, ws.PasswordMark, ws.CreatedAt, ws.LastSeenAt, ws.ExpiresAt, ws.IP, ws.UserAgent)
	return err
}

// PruneWebSessions deletes an admin's sessions that ended by time (past
// their absolute expiry, or last seen before idleSince).
func (s *Store) PruneWebSessions(ctx context.Context, h *tenancy.Handle, adminID string, now, idleSince time.Time) error {
	_, err := h.ExecContext(ctx, `DELETE FROM web_sessions WHERE admin_id = $1 AND (expires_at <= $2 OR last_seen_at <= $3)`,
		adminID, now, idleSince)
	return err
}

// CountWebSessions counts an admin's stored sessions.
func (s *Store) CountWebSessions(ctx context.Context, h *tenancy.Handle, adminID string) (int, error) {
	var n int
	err := h.QueryRowContext(ctx, `SELECT COUNT(*) FROM web_sessions WHERE admin_id = $1`, adminID).Scan(&n)
	return n, err
}

// WebSessionWithAdmin returns a session and its admin (with the admin's
// current password hash). Errors: ENOTFOUND when either is gone.
func (s *Store) WebSessionWithAdmin(ctx context.Context, h *tenancy.Handle, idHash string) (*WebSession, *AdminRecord, error) {
	var ws WebSession
	err := h.QueryRowContext(ctx, `SELECT id_hash, admin_id, password_mark, created_at, last_seen_at, expires_at, ip, user_agent
		FROM web_sessions WHERE id_hash = $1`, idHash).Scan(&ws.IDHash, &ws.AdminID, &ws.PasswordMark, &ws.CreatedAt,
		&ws.LastSeenAt, &ws.ExpiresAt, &ws.IP, &ws.UserAgent)
	if err != nil {
		return nil, nil, translate(err, "session")
	}
	a, err := s.Admin(ctx, h, ws.AdminID)
	if err != nil {
		return nil, nil, err
	}
	return &ws, a, nil
}

// TouchWebSession records that the session was used at now.
func (s *Store) TouchWebSession(ctx context.Context, h *tenancy.Handle, idHash string, now time.Time) error {
	_, err := h.ExecContext(ctx, `UPDATE web_sessions SET last_seen_at = $1 WHERE id_hash = $2`, now, idHash)
	return err
}

// DeleteWebSession ends one session (no error if it is already gone).
func (s *Store) DeleteWebSession(ctx context.Context, h *tenancy.Handle, idHash string) error {
	_, err := h.ExecContext(ctx, `DELETE FROM web_sessions WHERE id_hash = $1`, idHash)
	return err
}

// DeleteAdminWebSessions ends every session of an admin and says how many.
func (s *Store) DeleteAdminWebSessions(ctx context.Context, h *tenancy.Handle, adminID string) (int64, error) {
	res, err := h.ExecContext(ctx, `DELETE FROM web_sessions WHERE admin_id = $1`, adminID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// AdminLanguage returns the admin's chosen web language ("" if none yet).
func (s *Store) AdminLanguage(ctx context.Context, h *tenancy.Handle, adminID string) (string, error) {
	var lang string
	err := h.QueryRowContext(ctx, `SELECT language FROM admins WHERE id = $1`, adminID).Scan(&lang)
	if err == sql.ErrNoRows {
		return "", steeple.Errorf(steeple.ENOTFOUND, "admin not found")
	}
	return lang, err
}

// SetAdminLanguage stores the admin's web language. Errors: ENOTFOUND.
func (s *Store) SetAdminLanguage(ctx context.Context, h *tenancy.Handle, adminID, lang string) error {
	res, err := h.ExecContext(ctx, `UPDATE admins SET language = $1 WHERE id = $2`, lang, adminID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return steeple.Errorf(steeple.ENOTFOUND, "admin not found")
	}
	return nil
}
