package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// RefreshToken is a stored refresh token (by hash).
type RefreshToken struct {
	Hash, FamilyID, AdminID string
	ExpiresAt               time.Time
	Used, Revoked           bool
}

// SaveRefreshToken stores a new refresh token of a family.
func (s *Store) SaveRefreshToken(ctx context.Context, h *tenancy.Handle, tokenHash, familyID, adminID string, ttl time.Duration) error {
	now := s.Now()
	_, err := h.ExecContext(ctx, `INSERT INTO refresh_tokens (token_hash, family_id, admin_id, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, tokenHash, familyID, adminID, now, now.Add(ttl))
	return err
}

// RotateRefreshToken spends the presented token and stores its successor in
// one transaction. A token already spent means it was stolen or replayed:
// the whole family is revoked. Errors: EUNAUTHORIZED for an unknown,
// expired, revoked or reused token.
func (s *Store) RotateRefreshToken(ctx context.Context, h *tenancy.Handle, oldHash, newHash string, ttl time.Duration) (adminID string, err error) {
	bad := steeple.Errorf(steeple.EUNAUTHORIZED, "invalid refresh token")
	reused := false
	err = h.InTx(ctx, func(tx *sql.Tx) error {
		var t RefreshToken
		var usedAt, revokedAt sql.NullTime
		err := tx.QueryRowContext(ctx, `SELECT family_id, admin_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = $1`,
			oldHash).Scan(&t.FamilyID, &t.AdminID, &t.ExpiresAt, &usedAt, &revokedAt)
		if err == sql.ErrNoRows {
			return bad
		}
		if err != nil {
			return err
		}
		now := s.Now()
		switch {
		case revokedAt.Valid || !t.ExpiresAt.After(now):
			return bad
		case usedAt.Valid:
			reused = true
			_, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL`, now, t.FamilyID)
			return err
		}
		// Spend it only if still unspent: two requests racing with the same
		// token (PostgreSQL's READ COMMITTED lets both read it unused) must
		// not both win. The loser is treated as a reuse.
		res, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND revoked_at IS NULL`, now, oldHash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			reused = true
			_, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL`, now, t.FamilyID)
			return err
		}
		adminID = t.AdminID
		_, err = tx.ExecContext(ctx, `INSERT INTO refresh_tokens (token_hash, family_id, admin_id, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5)`, newHash, t.FamilyID, t.AdminID, now, now.Add(ttl))
		return err
	})
	if err == nil && reused {
		// The revocation above is committed; the caller still gets no tokens.
		return "", &steeple.Error{Code: steeple.EUNAUTHORIZED, Message: "invalid refresh token", Err: ErrRefreshReused}
	}
	return adminID, err
}

// ErrRefreshReused is the cause when a spent refresh token is presented.
var ErrRefreshReused = errorString("refresh token reused: family revoked")

type errorString string

func (e errorString) Error() string { return string(e) }

// RevokeRefreshFamily revokes the family of the given token (logout); it
// returns the admin it belonged to. Errors: EUNAUTHORIZED for an unknown token.
func (s *Store) RevokeRefreshFamily(ctx context.Context, h *tenancy.Handle, tokenHash string) (string, error) {
	var family, admin string
	err := h.QueryRowContext(ctx, `SELECT family_id, admin_id FROM refresh_tokens WHERE token_hash = $1`, tokenHash).Scan(&family, &admin)
	if err == sql.ErrNoRows {
		return "", steeple.Errorf(steeple.EUNAUTHORIZED, "invalid refresh token")
	}
	if err != nil {
		return "", err
	}
	_, err = h.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL`, s.Now(), family)
	return admin, err
}
