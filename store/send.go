package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// SendItem is a recipient still to be sent (the phone is read from the
// member at send time).
type SendItem struct {
	MemberID, Body string
	Status         steeple.RecipientStatus
}

// PendingRecipients returns a chunk's recipients that are queued, or were
// being sent when a worker stopped (status sending).
func (s *Store) PendingRecipients(ctx context.Context, h *tenancy.Handle, messageID string, chunk int) ([]SendItem, error) {
	rows, err := h.QueryContext(ctx, `SELECT member_id, body, status FROM message_recipients
		WHERE message_id = $1 AND chunk = $2 AND status IN ('queued', 'sending') ORDER BY member_id`, messageID, chunk)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SendItem
	for rows.Next() {
		var it SendItem
		if err := rows.Scan(&it.MemberID, &it.Body, &it.Status); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// SendTarget returns the member's phone now, and whether they may be texted
// (false for a member who opted out, whose phone was rejected, or who was
// removed). Sending goes to the current phone: a number changed since the
// broadcast was created may belong to someone who never agreed.
func (s *Store) SendTarget(ctx context.Context, h *tenancy.Handle, memberID string) (string, bool, error) {
	var sealed []byte
	var ok bool
	err := h.QueryRowContext(ctx, `SELECT phone_cipher, consent_status = 'opted_in' AND phone_invalid = FALSE FROM members WHERE id = $1`,
		memberID).Scan(&sealed, &ok)
	if err == sql.ErrNoRows || (err == nil && !ok) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	p, err := s.keys.Open(sealed, phoneAAD)
	return string(p), err == nil, err
}

// RecipientUpdate is a change of one recipient's status.
type RecipientUpdate struct {
	Status                             steeple.RecipientStatus
	ProviderID, ErrorCode, ErrorDetail string
}

// UpdateRecipient records a recipient's new status. Statuses only move
// forward: a finished recipient (sent, failed, skipped…) is never sent again.
func (s *Store) UpdateRecipient(ctx context.Context, h *tenancy.Handle, messageID, memberID string, u RecipientUpdate) error {
	now := s.Now()
	var sentAt, finishedAt any
	switch u.Status {
	case steeple.RecipientSent:
		sentAt = now
	case steeple.RecipientFailed, steeple.RecipientSkipped, steeple.RecipientDelivered:
		finishedAt = now
	}
	attempt := 0
	if u.Status == steeple.RecipientSending {
		attempt = 1
	}
	var provider any
	if u.ProviderID != "" {
		provider = u.ProviderID
	}
	_, err := h.ExecContext(ctx, `UPDATE message_recipients SET status = $1, provider_id = COALESCE($2, provider_id),
		error_code = $3, error_detail = $4, attempts = attempts + $5, sent_at = COALESCE($6, sent_at),
		finished_at = COALESCE($7, finished_at), updated_at = $8,
		handed_at = CASE WHEN $11 THEN NULL ELSE handed_at END
		WHERE message_id = $9 AND member_id = $10 AND status IN ('queued', 'sending')`,
		u.Status, provider, u.ErrorCode, u.ErrorDetail, attempt, sentAt, finishedAt, now, messageID, memberID,
		u.Status == steeple.RecipientQueued || u.Status == steeple.RecipientSending)
	return err
}

// RecipientStatus is one recipient as an admin sees it.
type RecipientStatus struct {
	MemberID    string                  `json:"member_id"`
	Status      steeple.RecipientStatus `json:"status"`
	ErrorCode   string                  `json:"error_code,omitempty"`
	ErrorDetail string                  `json:"error_detail,omitempty"`
	SentAt      *time.Time              `json:"sent_at,omitempty"`
	FinishedAt  *time.Time              `json:"finished_at,omitempty"`
}

// BroadcastRecipients lists each recipient's status.
func (s *Store) BroadcastRecipients(ctx context.Context, h *tenancy.Handle, messageID string) ([]RecipientStatus, error) {
	rows, err := h.QueryContext(ctx, `SELECT member_id, status, error_code, error_detail, sent_at, finished_at
		FROM message_recipients WHERE message_id = $1 ORDER BY member_id`, messageID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []RecipientStatus{}
	for rows.Next() {
		var r RecipientStatus
		var sent, fin sql.NullTime
		if err := rows.Scan(&r.MemberID, &r.Status, &r.ErrorCode, &r.ErrorDetail, &sent, &fin); err != nil {
			return nil, err
		}
		if sent.Valid {
			t := sent.Time.UTC()
			r.SentAt = &t
		}
		if fin.Valid {
			t := fin.Time.UTC()
			r.FinishedAt = &t
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Setting reads a church setting ("" when unset).
func (s *Store) Setting(ctx context.Context, h *tenancy.Handle, key string) (string, error) {
	var v string
	err := h.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return v, err
}

// SetSetting writes a church setting.
func (s *Store) SetSetting(ctx context.Context, h *tenancy.Handle, key, value string) error {
	_, err := h.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = $2, updated_at = $3`, key, value, s.Now())
	return err
}
