package store

// What an admin does to a conversation besides replying: settle a flagged
// opt-out request, mark it unread, assign it; and the checks that keep
// texts from a phone that opted out.

import (
	"context"
	"database/sql"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// textableTx reads whether a conversation's contact may be texted, and
// why not: "stop" (they texted STOP or an admin confirmed their request),
// "opted_out" (a member opted out otherwise), "invalid" (the provider
// rejected the number). Errors: ENOTFOUND.
func textableTx(ctx context.Context, q querier, convID string) (string, error) {
	var contactOut bool
	var mid, consent, source sql.NullString
	var invalid sql.NullBool
	err := q.QueryRowContext(ctx, `SELECT c.opted_out, m.id, m.consent_status, m.consent_source, m.phone_invalid
		FROM conversations c LEFT JOIN members m ON m.id = `+convMemberSQL+` WHERE c.id = $1`, convID).
		Scan(&contactOut, &mid, &consent, &source, &invalid)
	if err != nil {
		return "", translate(err, "conversation")
	}
	switch {
	case !mid.Valid && contactOut:
		return "stop", nil
	case !mid.Valid:
		return "", nil
	case consent.String != steeple.ConsentOptedIn && source.String == steeple.ConsentSourceKeyword:
		return "stop", nil
	case consent.String != steeple.ConsentOptedIn:
		return "opted_out", nil
	case invalid.Bool:
		return "invalid", nil
	}
	return "", nil
}

// refuseOptedOut answers ECONFLICT for a conversation whose contact may
// not be texted, saying why in plain words.
func refuseOptedOut(ctx context.Context, q querier, convID string) error {
	why, err := textableTx(ctx, q, convID)
	switch {
	case err != nil:
		return err
	case why == "stop":
		return steeple.Errorf(steeple.ECONFLICT, "this person has opted out of texts (STOP): nothing can be sent to them until they text START")
	case why == "opted_out":
		return steeple.Errorf(steeple.ECONFLICT, "this member has opted out of texts: record their consent again before texting them")
	case why == "invalid":
		return steeple.Errorf(steeple.ECONFLICT, "this member's phone number was rejected by the carrier: correct it before texting them")
	}
	return nil
}

// ConversationTextable reports whether a conversation's contact may be
// texted: nil, or ECONFLICT with the reason. Errors: ENOTFOUND.
func (s *Store) ConversationTextable(ctx context.Context, h *tenancy.Handle, id string) error {
	return refuseOptedOut(ctx, h, id)
}

// ClarifyDue reports whether a flagged text from phone would get the one
// clarification text: its conversation has had none since its flag was
// last cleared, and the phone may be texted.
func (s *Store) ClarifyDue(ctx context.Context, h *tenancy.Handle, phone string) (bool, error) {
	var id string
	var clarified bool
	ix := s.phoneIndexes(phone)
	err := h.QueryRowContext(ctx, `SELECT id, clarified FROM conversations WHERE phone_hash IN ($1, $2)`, ix.cur, ix.prev).
		Scan(&id, &clarified)
	if err == sql.ErrNoRows {
		m, err := s.MemberByPhone(ctx, h, phone)
		if steeple.ErrorCode(err) == steeple.ENOTFOUND {
			return true, nil
		}
		return err == nil && m.Consent.Status == steeple.ConsentOptedIn, err
	}
	if err != nil || clarified {
		return false, err
	}
	why, err := textableTx(ctx, h, id)
	return why == "", err
}

// clarifyTx adds the clarification text to a flagged conversation unless
// it had one this flag, or its contact may not be texted.
func (s *Store) clarifyTx(ctx context.Context, tx *sql.Tx, convID string, d OutboundDraft, createdUS int64, now time.Time) (bool, error) {
	var clarified bool
	if err := tx.QueryRowContext(ctx, `SELECT clarified FROM conversations WHERE id = $1`, convID).Scan(&clarified); err != nil || clarified {
		return false, err
	}
	if why, err := textableTx(ctx, tx, convID); err != nil || why != "" {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE conversations SET clarified = TRUE WHERE id = $1`, convID); err != nil {
		return false, err
	}
	return true, s.insertOutbound(ctx, tx, convID, d, createdUS, now)
}

// DismissFlag clears a conversation's flag: its texts were not a wish to
// opt out. A later text that reads like one flags it again (and may get a
// clarification again). Errors: ENOTFOUND.
func (s *Store) DismissFlag(ctx context.Context, h *tenancy.Handle, id string) error {
	return s.updateConversation(ctx, h, id, `flagged = FALSE, clarified = FALSE`)
}

// ConfirmOptOut opts a conversation's phone out as its contact asked in
// words: the contact and every member with the phone, recorded as the
// contact's own opt-out (source keyword, with their words; only START
// undoes it) and who confirmed it; the flag is cleared. One transaction.
// Errors: ENOTFOUND.
func (s *Store) ConfirmOptOut(ctx context.Context, h *tenancy.Handle, id, adminID string) error {
	now := s.Now()
	return h.InTx(ctx, func(tx *sql.Tx) error {
		var hash string
		if err := tx.QueryRowContext(ctx, `SELECT phone_hash FROM conversations WHERE id = $1`, id).Scan(&hash); err != nil {
			return translate(err, "conversation")
		}
		wording := "asked to stop"
		if err := tx.QueryRowContext(ctx, `SELECT body FROM conversation_messages WHERE conversation_id = $1 AND direction = 'inbound'
			AND flag <> '' ORDER BY created_us DESC, id DESC LIMIT 1`, id).Scan(&wording); err != nil && err != sql.ErrNoRows {
			return err
		}
		// A STOP or START received before now and applied later changes
		// no consent (see laterKeyword).
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET opted_out = TRUE, flagged = FALSE, clarified = FALSE,
			updated_at = $1, keyword_us = CASE WHEN $3 > keyword_us THEN $3 ELSE keyword_us END WHERE id = $2`,
			now, id, now.UnixMicro()); err != nil {
			return err
		}
		ids, err := memberIDsWithPhoneTx(ctx, tx, hash)
		if err != nil {
			return err
		}
		for _, mid := range ids {
			if err := setConsentTx(ctx, tx, mid, steeple.Consent{Status: steeple.ConsentOptedOut, Source: steeple.ConsentSourceKeyword,
				At: now, Wording: wording, RecordedBy: adminID, Note: "an admin confirmed this text as a request to stop"}); err != nil {
				return err
			}
		}
		return nil
	})
}

func memberIDsWithPhoneTx(ctx context.Context, tx *sql.Tx, hash string) ([]string, error) {
	return queryStrings(ctx, tx, `SELECT id FROM members WHERE phone_hash = $1 ORDER BY id`, hash)
}

// MarkConversationUnread marks a conversation unread again (one unread
// text if it had none). Errors: ENOTFOUND.
func (s *Store) MarkConversationUnread(ctx context.Context, h *tenancy.Handle, id string) error {
	return s.updateConversation(ctx, h, id, `unread = CASE WHEN unread > 0 THEN unread ELSE 1 END`)
}

// AssignConversation gives a conversation to an admin of the church (""
// unassigns it). Errors: ENOTFOUND (conversation or admin).
func (s *Store) AssignConversation(ctx context.Context, h *tenancy.Handle, id, adminID string) error {
	return h.InTx(ctx, func(tx *sql.Tx) error {
		var assignee any
		if adminID != "" {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM admins WHERE id = $1`, adminID).Scan(&one); err != nil {
				return translate(err, "admin")
			}
			assignee = adminID
		}
		r, err := tx.ExecContext(ctx, `UPDATE conversations SET assignee_id = $1, updated_at = $2 WHERE id = $3`, assignee, s.Now(), id)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return steeple.Errorf(steeple.ENOTFOUND, "conversation not found")
		}
		return nil
	})
}
