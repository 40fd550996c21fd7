package store

import (
	"context"
	"time"

	"github.com/steeple-sms/steeple/tenancy"
)

// TokenSpent tells whether a single-use signed token (by its id) was spent.
func (s *Store) TokenSpent(ctx context.Context, h *tenancy.Handle, id string) (bool, error) {
	var n int
	err := h.QueryRowContext(ctx, `SELECT COUNT(*) FROM spent_tokens WHERE id = $1`, id).Scan(&n)
	return n > 0, err
}

// SpendToken records a single-use signed token as spent until it expires.
// It answers false if the token was already spent, so of two requests
// racing with one token only one wins. Expired records are cleared on the
// way: an expired token is refused by its signature check anyway.
func (s *Store) SpendToken(ctx context.Context, h *tenancy.Handle, id string, expires time.Time) (bool, error) {
	if _, err := h.ExecContext(ctx, `DELETE FROM spent_tokens WHERE expires_at < $1`, s.Now().Unix()); err != nil {
		return false, err
	}
	res, err := h.ExecContext(ctx, `INSERT INTO spent_tokens (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, id, expires.Unix())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
