package store

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// RecipientRow is one recipient of a broadcast with who they are, for the
// church's own admins: the member's name now ("" once removed) and the
// phone the broadcast was addressed to.
type RecipientRow struct {
	MemberID    string                  `json:"member_id"`
	FirstName   string                  `json:"first_name"`
	LastName    string                  `json:"last_name"`
	Phone       string                  `json:"phone"`
	Status      steeple.RecipientStatus `json:"status"`
	ErrorCode   string                  `json:"error_code,omitempty"`
	ErrorDetail string                  `json:"error_detail,omitempty"`
	SentAt      *time.Time              `json:"sent_at,omitempty"`
	FinishedAt  *time.Time              `json:"finished_at,omitempty"`
}

// RecipientFilter picks a page of a broadcast's recipients: by status (""
// for all), after a member id (the cursor), at most Limit (0: all).
type RecipientFilter struct {
	Status steeple.RecipientStatus
	After  string
	Limit  int
}

// RecipientRows lists a broadcast's recipients in member id order.
func (s *Store) RecipientRows(ctx context.Context, h *tenancy.Handle, messageID string, f RecipientFilter) ([]RecipientRow, error) {
	q := `SELECT r.member_id, COALESCE(m.first_name, ''), COALESCE(m.last_name, ''), r.phone_cipher, r.status,
		r.error_code, r.error_detail, r.sent_at, r.finished_at
		FROM message_recipients r LEFT JOIN members m ON m.id = r.member_id
		WHERE r.message_id = $1 AND r.member_id > $2`
	args := []any{messageID, f.After}
	if f.Status != "" {
		args = append(args, f.Status)
		q += ` AND r.status = $3`
	}
	q += ` ORDER BY r.member_id`
	if f.Limit > 0 {
		args = append(args, f.Limit)
		q += ` LIMIT $` + strconv.Itoa(len(args))
	}
	rows, err := h.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []RecipientRow{}
	for rows.Next() {
		var r RecipientRow
		var phone []byte
		var sent, fin sql.NullTime
		if err := rows.Scan(&r.MemberID, &r.FirstName, &r.LastName, &phone, &r.Status, &r.ErrorCode, &r.ErrorDetail,
			&sent, &fin); err != nil {
			return nil, err
		}
		p, err := s.keys.Open(phone, phoneAAD)
		if err != nil {
			return nil, err
		}
		r.Phone = string(p)
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
