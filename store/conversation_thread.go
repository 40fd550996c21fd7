package store

// A thread: everything exchanged with one phone, the conversation's own
// texts and the broadcasts its members were sent, newest first.

import (
	"context"
	"database/sql"
	"encoding/json"
	"sort"
	"time"

	"github.com/steeple-sms/steeple/tenancy"
)

// Thread returns a conversation's messages and the broadcasts sent to its
// phone's members (purpose "broadcast"), newest first, up to limit; the
// cursor pages to older ones ("" when there are none).
func (s *Store) Thread(ctx context.Context, h *tenancy.Handle, conversationID, cursor string, limit int) ([]*ConversationMessage, string, error) {
	var curUS int64
	var curID string
	if cursor != "" {
		var err error
		if curUS, curID, err = decodeTimeCursor(cursor); err != nil {
			return nil, "", err
		}
	}
	own, err := s.threadMessages(ctx, h, conversationID, cursor != "", curUS, curID, limit+1)
	if err != nil {
		return nil, "", err
	}
	sent, err := s.threadBroadcasts(ctx, h, conversationID, cursor != "", curUS, curID, limit+1)
	if err != nil {
		return nil, "", err
	}
	// Each list holds the newest limit+1 of its kind past the cursor, so
	// the newest limit+1 of both are among them.
	out := append(own, sent...)
	sort.Slice(out, func(i, j int) bool { return newer(out[i], out[j]) })
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[len(out)-1]
		next = encodeTimeCursor(last.CreatedAt.UnixMicro(), last.ID)
	}
	return out, next, nil
}

// newer orders a thread: by time, then id, descending (the cursor's order).
func newer(a, b *ConversationMessage) bool {
	ua, ub := a.CreatedAt.UnixMicro(), b.CreatedAt.UnixMicro()
	if ua != ub {
		return ua > ub
	}
	return a.ID > b.ID
}

func (s *Store) threadMessages(ctx context.Context, h *tenancy.Handle, conversationID string, paged bool, us int64, id string, n int) ([]*ConversationMessage, error) {
	args := []any{conversationID, n}
	older := ""
	if paged {
		args = append(args, us, id)
		older = ` AND (created_us < $3 OR (created_us = $3 AND id < $4))`
	}
	rows, err := h.QueryContext(ctx, `SELECT `+messageColumns+` WHERE conversation_id = $1`+older+
		` ORDER BY created_us DESC, id DESC LIMIT $2`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*ConversationMessage{}
	for rows.Next() {
		m, err := scanConversationMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// threadBroadcasts returns the broadcasts sent to the conversation's phone,
// once each though several members of a household share it (the first
// member's copy).
func (s *Store) threadBroadcasts(ctx context.Context, h *tenancy.Handle, conversationID string, paged bool, us int64, id string, n int) ([]*ConversationMessage, error) {
	const phoneMembers = `(SELECT pm.id FROM members pm WHERE pm.phone_hash = (SELECT phone_hash FROM conversations WHERE id = $1))`
	args := []any{conversationID, n}
	older := ""
	if paged {
		// Times are compared in SQL to the microsecond after the cursor's
		// (stored times may be finer), and exactly below.
		// The few at the cursor's own microsecond, dropped below, are
		// fetched on top of n.
		args[1] = n + 2
		args = append(args, time.UnixMicro(us+1).UTC())
		older = ` AND b.created_at < $3`
	}
	rows, err := h.QueryContext(ctx, `SELECT b.id, r.body, b.media_urls, r.status, r.error_code, r.error_detail, b.created_by,
		b.created_at, r.sent_at, r.finished_at
		FROM message_recipients r JOIN messages b ON b.id = r.message_id
		WHERE r.member_id IN `+phoneMembers+` AND r.member_id = (SELECT MIN(r2.member_id) FROM message_recipients r2
			WHERE r2.message_id = r.message_id AND r2.member_id IN `+phoneMembers+`)`+older+`
		ORDER BY b.created_at DESC, b.id DESC LIMIT $2`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*ConversationMessage{}
	for rows.Next() {
		m := &ConversationMessage{Direction: DirectionOutbound, Purpose: PurposeBroadcast, Media: []Media{}}
		var media string
		var sent, fin sql.NullTime
		if err := rows.Scan(&m.ID, &m.Body, &media, &m.Status, &m.ErrorCode, &m.ErrorDetail, &m.CreatedBy, &m.CreatedAt,
			&sent, &fin); err != nil {
			return nil, err
		}
		var urls []string
		if err := json.Unmarshal([]byte(media), &urls); err != nil {
			return nil, err
		}
		for _, u := range urls {
			m.Media = append(m.Media, Media{URL: u})
		}
		m.BroadcastID = m.ID
		m.CreatedAt = time.UnixMicro(m.CreatedAt.UnixMicro()).UTC()
		m.SentAt, m.FinishedAt = utcPtr(sent), utcPtr(fin)
		if paged && (m.CreatedAt.UnixMicro() > us || (m.CreatedAt.UnixMicro() == us && m.ID >= id)) {
			continue
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
