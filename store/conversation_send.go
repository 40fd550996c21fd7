package store

// The sending side of conversations: what a reply's send job reads and
// records, and the welcome text created once per opt-in.

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// ReplyItem is an outbound conversation message with what sending it needs.
type ReplyItem struct {
	MessageID, Body, Purpose string
	Status                   steeple.RecipientStatus
	MediaURLs                []string
	Phone, ChurchNumber      string
	MemberID                 string // "" for an unknown contact
	// MayText is false when the member or contact has opted out (or the
	// member's phone was rejected by the provider).
	MayText bool
	// Welcome marks a welcome text (also the one answering START).
	Welcome bool
}

// ReplyTarget loads an outbound message for sending. Errors: ENOTFOUND.
func (s *Store) ReplyTarget(ctx context.Context, h *tenancy.Handle, messageID string) (*ReplyItem, error) {
	var it ReplyItem
	var media string
	var sealed []byte
	var mid sql.NullString
	var contactOut bool
	var consent sql.NullString
	var invalid sql.NullBool
	// The member is whoever has the conversation's phone now, not the one
	// linked when the contact last texted: a linked member's phone may have
	// changed since, and the number may now be another member's.
	err := h.QueryRowContext(ctx, `SELECT cm.id, cm.body, cm.purpose, cm.status, cm.media, c.phone_cipher, c.church_number,
		m.id, c.opted_out, m.consent_status, m.phone_invalid, EXISTS (SELECT 1 FROM welcomes w WHERE w.message_id = cm.id)
		FROM conversation_messages cm JOIN conversations c ON c.id = cm.conversation_id
		LEFT JOIN members m ON m.id = `+convMemberSQL+` WHERE cm.id = $1 AND cm.direction = 'outbound'`, messageID).
		Scan(&it.MessageID, &it.Body, &it.Purpose, &it.Status, &media, &sealed, &it.ChurchNumber, &mid, &contactOut, &consent, &invalid,
			&it.Welcome)
	if err != nil {
		return nil, translate(err, "message")
	}
	var ms []Media
	if err := json.Unmarshal([]byte(media), &ms); err != nil {
		return nil, err
	}
	for _, m := range ms {
		it.MediaURLs = append(it.MediaURLs, m.URL)
	}
	phone, err := s.keys.Open(sealed, phoneAAD)
	if err != nil {
		return nil, err
	}
	it.Phone, it.MemberID = string(phone), mid.String
	if mid.Valid {
		it.MayText = consent.String == steeple.ConsentOptedIn && !invalid.Bool
	} else {
		it.MayText = !contactOut
	}
	return &it, nil
}

// UpdateConversationMessage records an outbound message's new status; like
// recipients, statuses only move forward from queued and sending.
func (s *Store) UpdateConversationMessage(ctx context.Context, h *tenancy.Handle, id string, u RecipientUpdate) error {
	now := s.Now()
	var sentAt, finishedAt, provider any
	switch u.Status {
	case steeple.RecipientSent:
		sentAt = now
	case steeple.RecipientFailed, steeple.RecipientSkipped, steeple.RecipientDelivered:
		finishedAt = now
	}
	if u.ProviderID != "" {
		provider = u.ProviderID
	}
	_, err := h.ExecContext(ctx, `UPDATE conversation_messages SET status = $1, provider_id = COALESCE($2, provider_id),
		error_code = $3, error_detail = $4, sent_at = COALESCE($5, sent_at), finished_at = COALESCE($6, finished_at),
		updated_at = $7 WHERE id = $8 AND direction = 'outbound' AND status IN ('queued', 'sending')`,
		u.Status, provider, u.ErrorCode, u.ErrorDetail, sentAt, finishedAt, now, id)
	return err
}

// CreateWelcome adds a member's welcome text, queued, once per opt-in: the
// key is the consent event that opted them in. It reports false, adding
// nothing, when the member is not opted in or was welcomed for this opt-in,
// or shares a phone that was welcomed during another member's opt-in.
func (s *Store) CreateWelcome(ctx context.Context, h *tenancy.Handle, memberID string, d OutboundDraft) (bool, error) {
	now := s.Now()
	created := false
	err := h.InTx(ctx, func(tx *sql.Tx) error {
		var sealed []byte
		var status, hash string
		err := tx.QueryRowContext(ctx, `SELECT phone_cipher, consent_status, phone_hash FROM members WHERE id = $1`, memberID).
			Scan(&sealed, &status, &hash)
		if err == sql.ErrNoRows || (err == nil && status != steeple.ConsentOptedIn) {
			return nil
		}
		if err != nil {
			return err
		}
		// A household's phone is welcomed once: not again for a member
		// added to a phone welcomed during another member's current opt-in.
		var welcomed bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM members o JOIN welcomes w ON w.member_id = o.id
			WHERE o.phone_hash = $1 AND o.id <> $2 AND o.consent_status = 'opted_in'
			AND w.consent_seq > (SELECT COALESCE(MAX(e.seq), 0) FROM consent_events e WHERE e.member_id = o.id AND e.status <> 'opted_in'))`,
			hash, memberID).Scan(&welcomed); err != nil || welcomed {
			return err
		}
		var seq int64
		// The opt-in is the first opted-in event since the member was last
		// opted out: events repeating "opted in" belong to the same opt-in.
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MIN(seq), 0) FROM consent_events WHERE member_id = $1 AND status = 'opted_in'
			AND seq > (SELECT COALESCE(MAX(seq), 0) FROM consent_events WHERE member_id = $1 AND status <> 'opted_in')`,
			memberID).Scan(&seq); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO welcomes (member_id, consent_seq, message_id) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, memberID, seq, d.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		phone, err := s.keys.Open(sealed, phoneAAD)
		if err != nil {
			return err
		}
		hash, err = s.adoptPhone(ctx, tx, string(phone))
		if err != nil {
			return err
		}
		convID, err := s.conversationFor(ctx, tx, hash, string(phone), "",
			sql.NullString{String: memberID, Valid: true}, now.UnixMicro(), now)
		if err != nil {
			return err
		}
		created = true
		return s.insertOutbound(ctx, tx, convID, d, now.UnixMicro(), now)
	})
	return created, err
}
