package store

// What staff are told about replies: each admin's choice of email, and the
// replies a notice or a digest names.

import (
	"context"
	"database/sql"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// ReplyNotice is one reply texted to the church, as a notice names it.
type ReplyNotice struct {
	ConversationID string
	MessageID      string
	FirstName      string // "" for an unknown contact
	LastName       string
	Phone          string
	ChurchNumber   string
	Body           string
	Media          int
	At             time.Time
	US             int64 // At in Unix microseconds: a digest's watermark
}

// Sender names who sent a reply: the member, else the phone.
func (n *ReplyNotice) Sender() string {
	if n.FirstName != "" || n.LastName != "" {
		return joinName(n.FirstName, n.LastName)
	}
	return n.Phone
}

func joinName(first, last string) string {
	if last == "" {
		return first
	}
	if first == "" {
		return last
	}
	return first + " " + last
}

// replyNoticeSQL selects replies: inbound texts that were not a keyword the
// system answered.
const replyNoticeSQL = `SELECT c.id, cm.id, COALESCE(m.first_name, ''), COALESCE(m.last_name, ''), c.phone_cipher,
	c.church_number, cm.body, cm.media, cm.created_us
	FROM conversation_messages cm JOIN conversations c ON c.id = cm.conversation_id
	LEFT JOIN members m ON m.id = ` + convMemberSQL + `
	WHERE cm.direction = 'inbound' AND cm.keyword = ''`

func (s *Store) scanReplyNotice(row interface{ Scan(...any) error }) (*ReplyNotice, error) {
	var n ReplyNotice
	var sealed []byte
	var media string
	if err := row.Scan(&n.ConversationID, &n.MessageID, &n.FirstName, &n.LastName, &sealed, &n.ChurchNumber, &n.Body,
		&media, &n.US); err != nil {
		return nil, err
	}
	phone, err := s.keys.Open(sealed, phoneAAD)
	if err != nil {
		return nil, err
	}
	n.Phone = string(phone)
	if media != "[]" && media != "" {
		n.Media = 1
	}
	n.At = time.UnixMicro(n.US).UTC()
	return &n, nil
}

// ReplyNoticeOf returns one reply. Errors: ENOTFOUND (also for a text
// that was a keyword).
func (s *Store) ReplyNoticeOf(ctx context.Context, h *tenancy.Handle, messageID string) (*ReplyNotice, error) {
	n, err := s.scanReplyNotice(h.QueryRowContext(ctx, replyNoticeSQL+` AND cm.id = $1`, messageID))
	return n, translate(err, "reply")
}

// RepliesSince returns up to limit replies received after afterUS (Unix
// microseconds), oldest first, and how many there are in all.
func (s *Store) RepliesSince(ctx context.Context, h *tenancy.Handle, afterUS int64, limit int) ([]*ReplyNotice, int, error) {
	var total int
	if err := h.QueryRowContext(ctx, `SELECT COUNT(*) FROM conversation_messages WHERE direction = 'inbound' AND keyword = ''
		AND created_us > $1`, afterUS).Scan(&total); err != nil || total == 0 {
		return nil, 0, err
	}
	rows, err := h.QueryContext(ctx, replyNoticeSQL+` AND cm.created_us > $1 ORDER BY cm.created_us, cm.id LIMIT $2`, afterUS, limit)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*ReplyNotice
	for rows.Next() {
		n, err := s.scanReplyNotice(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, n)
	}
	return out, total, rows.Err()
}

// NotifiedAdmin is an admin who asked for email about replies.
type NotifiedAdmin struct {
	ID, Name, Email string
	// NotifiedUS is the newest reply a digest has covered (Unix µs).
	NotifiedUS int64
}

// AdminsNotified lists the admins whose choice of reply email is mode.
func (s *Store) AdminsNotified(ctx context.Context, h *tenancy.Handle, mode string) ([]NotifiedAdmin, error) {
	rows, err := h.QueryContext(ctx, `SELECT id, name, email_cipher, notified_us FROM admins WHERE reply_notifications = $1
		ORDER BY created_at, id`, mode)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []NotifiedAdmin
	for rows.Next() {
		var a NotifiedAdmin
		var sealed []byte
		if err := rows.Scan(&a.ID, &a.Name, &sealed, &a.NotifiedUS); err != nil {
			return nil, err
		}
		email, err := s.keys.Open(sealed, emailAAD)
		if err != nil {
			return nil, err
		}
		a.Email = string(email)
		out = append(out, a)
	}
	return out, rows.Err()
}

// SetReplyNotifications records an admin's choice of reply email. A
// digest starts from now: earlier replies are not mailed again.
// Errors: ENOTFOUND, EINVALID (mode).
func (s *Store) SetReplyNotifications(ctx context.Context, h *tenancy.Handle, adminID, mode string) error {
	switch mode {
	case steeple.ReplyNotifyOff, steeple.ReplyNotifyImmediate, steeple.ReplyNotifyHourly:
	default:
		return steeple.FieldError("reply_notifications", `must be "off", "immediate" or "hourly"`)
	}
	r, err := h.ExecContext(ctx, `UPDATE admins SET notified_us = CASE WHEN reply_notifications = $1 THEN notified_us ELSE $2 END,
		reply_notifications = $1 WHERE id = $3`, mode, s.Now().UnixMicro(), adminID)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return steeple.Errorf(steeple.ENOTFOUND, "admin not found")
	}
	return nil
}

// AdvanceNotified moves an admin's digest watermark forward to us (never
// back: two digests racing cannot repeat replies).
func (s *Store) AdvanceNotified(ctx context.Context, h *tenancy.Handle, adminID string, us int64) error {
	_, err := h.ExecContext(ctx, `UPDATE admins SET notified_us = $1 WHERE id = $2 AND notified_us < $1`, us, adminID)
	return err
}

// PhoneTextable reports whether a phone may be texted: not opted out as a
// contact, and no member with it opted out or rejected by the provider.
func (s *Store) PhoneTextable(ctx context.Context, h *tenancy.Handle, phone string) (bool, error) {
	ix := s.phoneIndexes(phone)
	var blocked bool
	err := h.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM conversations WHERE phone_hash IN ($1, $2) AND opted_out)
		OR EXISTS (SELECT 1 FROM members WHERE phone_hash IN ($1, $2) AND (consent_status <> 'opted_in' OR phone_invalid))`,
		ix.cur, ix.prev).Scan(&blocked)
	if err == sql.ErrNoRows {
		return true, nil
	}
	return !blocked, err
}
