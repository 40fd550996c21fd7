package store

import (
	"context"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// BroadcastReply is a text a recipient of a broadcast sent after it went out.
type BroadcastReply struct {
	ConversationID string
	FirstName      string
	LastName       string
	Body           string
	At             time.Time
}

// BroadcastReplies returns the newest texts (at most limit) received since
// the broadcast was created from members it was sent to, and how many
// there are in all.
func (s *Store) BroadcastReplies(ctx context.Context, h *tenancy.Handle, messageID string, since time.Time, limit int) ([]BroadcastReply, int, error) {
	const from = ` FROM conversation_messages cm JOIN conversations c ON c.id = cm.conversation_id
		WHERE cm.direction = 'inbound' AND cm.created_us >= $1
		AND c.member_id IN (SELECT member_id FROM message_recipients WHERE message_id = $2)`
	var total int
	if err := h.QueryRowContext(ctx, `SELECT COUNT(*)`+from, since.UnixMicro(), messageID).Scan(&total); err != nil {
		return nil, 0, err
	}
	out := []BroadcastReply{}
	if total == 0 {
		return out, 0, nil
	}
	rows, err := h.QueryContext(ctx, `SELECT c.id, COALESCE(m.first_name, ''), COALESCE(m.last_name, ''), cm.body, cm.created_us
		FROM conversation_messages cm JOIN conversations c ON c.id = cm.conversation_id
		LEFT JOIN members m ON m.id = c.member_id
		WHERE cm.direction = 'inbound' AND cm.created_us >= $1
		AND c.member_id IN (SELECT member_id FROM message_recipients WHERE message_id = $2)
		ORDER BY cm.created_us DESC, cm.id DESC LIMIT $3`, since.UnixMicro(), messageID, limit)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var r BroadcastReply
		var us int64
		if err := rows.Scan(&r.ConversationID, &r.FirstName, &r.LastName, &r.Body, &us); err != nil {
			return nil, 0, err
		}
		r.At = time.UnixMicro(us).UTC()
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// OutcomeCount is how many recipients of a broadcast ended with one status,
// provider error code and detail.
type OutcomeCount struct {
	Status      steeple.RecipientStatus
	ErrorCode   string
	ErrorDetail string
	N           int
}

// BroadcastOutcomes counts a broadcast's failed and skipped recipients by
// status, error code and detail, for the page that explains them.
func (s *Store) BroadcastOutcomes(ctx context.Context, h *tenancy.Handle, messageID string) ([]OutcomeCount, error) {
	rows, err := h.QueryContext(ctx, `SELECT status, error_code, error_detail, COUNT(*) FROM message_recipients
		WHERE message_id = $1 AND status IN ('failed', 'skipped')
		GROUP BY status, error_code, error_detail ORDER BY COUNT(*) DESC`, messageID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []OutcomeCount{}
	for rows.Next() {
		var o OutcomeCount
		if err := rows.Scan(&o.Status, &o.ErrorCode, &o.ErrorDetail, &o.N); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
