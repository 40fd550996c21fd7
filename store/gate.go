package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// Gate is what a new church still has to do before it may buy a number,
// text anyone or invite admins.
type Gate struct {
	AdminID          string     `json:"admin_id"` // the admin whose email must be verified
	VerifiedAt       *time.Time `json:"verified_at,omitempty"`
	AwaitingApproval bool       `json:"awaiting_approval"`
	ApprovedAt       *time.Time `json:"approved_at,omitempty"`
}

// Open reports whether nothing is left to do.
func (g *Gate) Open() bool {
	return g.VerifiedAt != nil && (!g.AwaitingApproval || g.ApprovedAt != nil)
}

// CreateGate records, at signup, that adminID must verify its email (and,
// with awaitingApproval, that an operator must approve the church).
func (s *Store) CreateGate(ctx context.Context, h *tenancy.Handle, adminID string, awaitingApproval bool) error {
	_, err := h.ExecContext(ctx, `INSERT INTO church_gate (id, admin_id, awaiting_approval) VALUES (1, $1, $2)`, adminID, awaitingApproval)
	return translate(err, "church gate")
}

// ChurchGate returns the church's gate; a church from before gates existed
// has none and gets an open one.
func (s *Store) ChurchGate(ctx context.Context, h *tenancy.Handle) (*Gate, error) {
	var g Gate
	var verified, approved sql.NullTime
	err := h.QueryRowContext(ctx, `SELECT admin_id, verified_at, awaiting_approval, approved_at FROM church_gate WHERE id = 1`).
		Scan(&g.AdminID, &verified, &g.AwaitingApproval, &approved)
	if err == sql.ErrNoRows {
		t := time.Time{}
		return &Gate{VerifiedAt: &t}, nil
	}
	if err != nil {
		return nil, err
	}
	if verified.Valid {
		g.VerifiedAt = &verified.Time
	}
	if approved.Valid {
		g.ApprovedAt = &approved.Time
	}
	return &g, nil
}

// ApproveChurch records an operator's approval. It is idempotent.
func (s *Store) ApproveChurch(ctx context.Context, h *tenancy.Handle) error {
	_, err := h.ExecContext(ctx, `UPDATE church_gate SET approved_at = $1 WHERE id = 1 AND approved_at IS NULL`, s.Now())
	return err
}

// CreateEmailVerification stores a verification link's token hash.
func (s *Store) CreateEmailVerification(ctx context.Context, h *tenancy.Handle, adminID, tokenHash string, ttl time.Duration) error {
	now := s.Now()
	_, err := h.ExecContext(ctx, `INSERT INTO email_verifications (token_hash, admin_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		tokenHash, adminID, now, now.Add(ttl))
	return translate(err, "email verification")
}

// VerifyEmail spends a verification token and marks the church's gate
// verified, in one transaction. Errors: ENOTFOUND for a token that is
// unknown, expired or already used.
func (s *Store) VerifyEmail(ctx context.Context, h *tenancy.Handle, tokenHash string) (adminID string, err error) {
	err = h.InTx(ctx, func(tx *sql.Tx) error {
		var expires time.Time
		var used sql.NullTime
		err := tx.QueryRowContext(ctx, `SELECT admin_id, expires_at, used_at FROM email_verifications WHERE token_hash = $1`, tokenHash).
			Scan(&adminID, &expires, &used)
		now := s.Now()
		if err == sql.ErrNoRows || (err == nil && (used.Valid || !expires.After(now))) {
			return steeple.Errorf(steeple.ENOTFOUND, "verification link not found, expired or already used")
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE email_verifications SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL`, now, tokenHash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return steeple.Errorf(steeple.ENOTFOUND, "verification link not found, expired or already used")
		}
		_, err = tx.ExecContext(ctx, `UPDATE church_gate SET verified_at = $1 WHERE id = 1 AND admin_id = $2 AND verified_at IS NULL`, now, adminID)
		return err
	})
	return adminID, err
}
