package tenancy

import (
	"context"
	"time"
)

// LoginEntry says that an email (by its blind index) is an admin's at a church.
type LoginEntry struct {
	TenantID string
	AdminID  string
}

// LoginEntries returns every church where the email with this blind index is
// an admin: one email may belong to several churches.
func (r *Registry) LoginEntries(ctx context.Context, emailHash string) ([]LoginEntry, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT tenant_id, admin_id FROM login_index WHERE email_hash = $1 ORDER BY tenant_id`, emailHash)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LoginEntry
	for rows.Next() {
		var e LoginEntry
		if err := rows.Scan(&e.TenantID, &e.AdminID); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// AddLogin records that the admin with this email hash exists at the church.
// Adding an entry twice is harmless.
func (r *Registry) AddLogin(ctx context.Context, emailHash, tenantID, adminID string) error {
	_, err := r.db.ExecContext(ctx, `INSERT INTO login_index (email_hash, tenant_id, admin_id) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, emailHash, tenantID, adminID)
	return err
}

// RemoveLogin forgets one admin's login entry.
func (r *Registry) RemoveLogin(ctx context.Context, emailHash, tenantID, adminID string) error {
	_, err := r.db.ExecContext(ctx, `DELETE FROM login_index WHERE email_hash = $1 AND tenant_id = $2 AND admin_id = $3`,
		emailHash, tenantID, adminID)
	return err
}

// LoginLockedUntil returns when the lockout on key ends (zero if none).
func (r *Registry) LoginLockedUntil(ctx context.Context, key string) (time.Time, error) {
	var until int64
	err := r.db.QueryRowContext(ctx, `SELECT locked_until FROM login_throttle WHERE key = $1`, key).Scan(&until)
	if err != nil || until <= r.now().Unix() {
		return time.Time{}, ignoreNoRows(err)
	}
	return time.Unix(until, 0), nil
}

// RecordLoginFailure counts a failed login for key within a window; at
// maxFailures the key is locked for lockFor. It returns the lock's end, or
// zero if not locked. Counting is one statement, so processes sharing the
// registry never lose a failure.
func (r *Registry) RecordLoginFailure(ctx context.Context, key string, window time.Duration, maxFailures int, lockFor time.Duration) (time.Time, error) {
	now := r.now().Unix()
	var failures int
	err := r.db.QueryRowContext(ctx, `INSERT INTO login_throttle (key, failures, window_start) VALUES ($1, 1, $2)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN login_throttle.window_start < $3 THEN 1 ELSE login_throttle.failures + 1 END,
			window_start = CASE WHEN login_throttle.window_start < $3 THEN $2 ELSE login_throttle.window_start END
		RETURNING failures`, key, now, now-int64(window.Seconds())).Scan(&failures)
	if err != nil || failures < maxFailures {
		return time.Time{}, err
	}
	until := now + int64(lockFor.Seconds())
	_, err = r.db.ExecContext(ctx, `UPDATE login_throttle SET locked_until = $1, failures = 0, window_start = $2 WHERE key = $3`, until, now, key)
	return time.Unix(until, 0), err
}

// ClearLoginFailures forgets key's failures after a successful login.
func (r *Registry) ClearLoginFailures(ctx context.Context, key string) error {
	_, err := r.db.ExecContext(ctx, `DELETE FROM login_throttle WHERE key = $1 AND locked_until <= $2`, key, r.now().Unix())
	return err
}
