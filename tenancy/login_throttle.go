package tenancy

import (
	"context"
	"time"
)

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
