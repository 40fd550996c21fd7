package store

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// notHandedOver selects the recipients whose text surely never reached
// the provider: queued, or sending but not claimed by ClaimHandOff.
const notHandedOver = `(status = 'queued' OR (status = 'sending' AND handed_at IS NULL))`

// StopBroadcast marks a broadcast stopped and, in the same transaction,
// skips every recipient whose text is not being handed to the provider
// right now (queued, or sending but not yet claimed by ClaimHandOff), with
// the reason "stopped by <name>", and records it in the audit log. It
// returns how many recipients it skipped. A broadcast stopped already is
// stopped again harmlessly (nothing is left to skip). Errors: ENOTFOUND.
func (s *Store) StopBroadcast(ctx context.Context, h *tenancy.Handle, id, adminID, adminName, ip string) (int, error) {
	if !steeple.ValidID(id) {
		return 0, steeple.Errorf(steeple.ENOTFOUND, "message not found")
	}
	now := s.Now()
	var skipped int64
	err := h.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE messages SET cancelled_at = COALESCE(cancelled_at, $1),
			cancelled_by = CASE WHEN cancelled_at IS NULL THEN $2 ELSE cancelled_by END WHERE id = $3`, now, adminID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return steeple.Errorf(steeple.ENOTFOUND, "message not found")
		}
		res, err = tx.ExecContext(ctx, `UPDATE message_recipients SET status = 'skipped', error_code = '',
			error_detail = $1, finished_at = $2, updated_at = $2
			WHERE message_id = $3 AND `+notHandedOver,
			"stopped by "+adminName, now, id)
		if err != nil {
			return err
		}
		skipped, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, `INSERT INTO audit_log (at, actor_id, action, target, ip, detail, personal_cipher)
			VALUES ($1, $2, 'message.stopped', $3, $4, $5, NULL)`, now, adminID, id, ip,
			"recipients skipped: "+strconv.Itoa(int(skipped)))
		return err
	})
	return int(skipped), err
}

// InFlight counts a broadcast's recipients whose text was claimed for the
// provider (ClaimHandOff) after since and is not yet recorded.
func (s *Store) InFlight(ctx context.Context, h *tenancy.Handle, id string, since time.Time) (int, error) {
	var n int
	err := h.QueryRowContext(ctx, `SELECT COUNT(*) FROM message_recipients
		WHERE message_id = $1 AND status = 'sending' AND handed_at IS NOT NULL AND handed_at > $2`, id, since).Scan(&n)
	return n, err
}

// ClaimHandOff is the last word before a recipient's text goes to the
// provider: in one write it marks the recipient sending (one attempt more)
// and handed over, if it is still to be sent (queued, or sending when a
// worker stopped) and its broadcast is not stopped. False means the
// broadcast was stopped (or the recipient finished) meanwhile: send
// nothing. Reading the stop in the same write keeps a recipient left
// "sending" by a worker that died, or put back to queued by a provider's
// "try later", from being sent after the stop. The row's update serializes
// with StopBroadcast's, so a text either is claimed before the stop (and
// the stop waits for it) or is never sent.
func (s *Store) ClaimHandOff(ctx context.Context, h *tenancy.Handle, messageID, memberID string) (bool, error) {
	now := s.Now()
	res, err := h.ExecContext(ctx, `UPDATE message_recipients SET status = 'sending', handed_at = $1, updated_at = $1,
		error_code = '', error_detail = '', attempts = attempts + 1
		WHERE message_id = $2 AND member_id = $3 AND status IN ('queued', 'sending')
		AND NOT EXISTS (SELECT 1 FROM messages WHERE id = $2 AND cancelled_at IS NOT NULL)`, now, messageID, memberID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 1 {
		return n == 1, err
	}
	// Refused. If the broadcast was stopped and this text was surely never
	// handed over (the set StopBroadcast skips), skip it now as the stop
	// would have, so it does not stay queued for ever. One claimed before
	// by a worker that died may have reached the provider: it is left as
	// it is rather than called skipped.
	_, err = h.ExecContext(ctx, `UPDATE message_recipients SET status = 'skipped', error_code = '',
		error_detail = 'stopped by ' || COALESCE((SELECT a.name FROM messages m JOIN admins a ON a.id = m.cancelled_by
			WHERE m.id = $2 AND a.name <> ''), 'an admin'),
		finished_at = $1, updated_at = $1
		WHERE message_id = $2 AND member_id = $3 AND `+notHandedOver+`
		AND EXISTS (SELECT 1 FROM messages WHERE id = $2 AND cancelled_at IS NOT NULL)`, now, messageID, memberID)
	return false, err
}

// BroadcastStopped says whether a broadcast was stopped, and by whom.
func (s *Store) BroadcastStopped(ctx context.Context, h *tenancy.Handle, id string) (bool, string, error) {
	var at sql.NullTime
	var by string
	err := h.QueryRowContext(ctx, `SELECT cancelled_at, cancelled_by FROM messages WHERE id = $1`, id).Scan(&at, &by)
	return at.Valid, by, translate(err, "message")
}
