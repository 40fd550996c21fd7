package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/secret"
	"github.com/steeple-sms/steeple/tenancy"
)

// Store runs queries on a church's database. It holds no database itself:
// every method takes the tenant handle, so no query runs without a church.
// It holds the keys that seal personal data before it is written.
type Store struct {
	keys *secret.Keys
	now  func() time.Time
}

// New returns a Store sealing with keys; now may be nil (time.Now).
func New(keys *secret.Keys, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{keys: keys, now: now}
}

// Now is the store's clock, in UTC.
func (s *Store) Now() time.Time { return s.now().UTC() }

// EmailIndex is the blind index of a normalised email address: what is
// stored for it.
func (s *Store) EmailIndex(email string) string { return s.keys.BlindIndex("email", email) }

// EmailIndexes are the blind indexes a stored email may carry: the current
// key's first, then during a blind-index rotation the previous key's. A
// lookup (the registry's login index) accepts any of them.
func (s *Store) EmailIndexes(email string) []string { return s.keys.BlindIndexes("email", email) }

// TokenHash is how single-use secrets (refresh tokens, invitation tokens,
// recovery codes) are stored: they are long and random, so a plain SHA-256
// suffices and lets them be looked up.
func TokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// querier is what a handle and a transaction both offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

var (
	_ querier = (*sql.Tx)(nil)
	_ querier = (*tenancy.Handle)(nil)
)

// translate turns driver errors into Steeple's codes at the store boundary.
func translate(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return steeple.Errorf(steeple.ENOTFOUND, "%s not found", what)
	case tenancy.IsUniqueViolation(err):
		return &steeple.Error{Code: steeple.ECONFLICT, Message: what + " already exists", Err: err}
	}
	return err
}

// queryStrings runs a query of one text column and returns its values.
func queryStrings(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
