package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// Join is what a text-to-join keyword asks of an inbound text.
type Join struct {
	KeywordID, GroupID string
	Wording            string // the keyword as texted, kept with the consent
	Resubscribes       bool   // the keyword is a clear opt-in (see steeple.Keyword)
	ConnectCard        bool   // ask a new member for their name
}

// Joined says what a keyword did.
type Joined struct {
	MemberID     string
	NewMember    bool // the sender was not a member: one was created
	Resubscribed bool // the phone had texted STOP and the keyword brought it back
	OptedOut     bool // the phone stays opted out: nothing may be texted to it
	AskName      bool // a connect card now waits for the member's name
}

// NameAnswer is a connect card's answer: the member's name.
type NameAnswer struct {
	MemberID, FirstName, LastName string
}

// applyJoin runs a text-to-join keyword inside ApplyInbound's transaction:
// the sender becomes a member when not one (opted in by the keyword, unless
// the phone texted STOP and the keyword is not a clear opt-in), joins the
// keyword's group, and the join is counted. An opted-out phone is brought
// back only by a keyword that resubscribes.
func (s *Store) applyJoin(ctx context.Context, tx *sql.Tx, in InboundText, convID string, memberID sql.NullString, now time.Time) (*Joined, error) {
	j := in.Join
	res := &Joined{MemberID: memberID.String}
	var phoneOut bool
	if err := tx.QueryRowContext(ctx, `SELECT opted_out FROM conversations WHERE id = $1`, convID).Scan(&phoneOut); err != nil {
		return nil, err
	}
	if memberID.Valid {
		var status string
		if err := tx.QueryRowContext(ctx, `SELECT consent_status FROM members WHERE id = $1`, memberID.String).Scan(&status); err != nil {
			return nil, err
		}
		phoneOut = phoneOut || status == steeple.ConsentOptedOut
	} else {
		m := &steeple.Member{ID: steeple.NewID(), Phone: in.From, Groups: []steeple.GroupRef{}, CreatedAt: now, UpdatedAt: now,
			Consent: steeple.Consent{Status: steeple.ConsentOptedIn, Source: steeple.ConsentSourceKeyword, At: now, Wording: j.Wording}}
		if phoneOut {
			m.Consent = steeple.Consent{Status: steeple.ConsentOptedOut, Source: steeple.ConsentSourceKeyword, At: now,
				Wording: "texted STOP before becoming a member"}
		}
		if err := s.insertMember(ctx, tx, m); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET member_id = $1 WHERE id = $2`, m.ID, convID); err != nil {
			return nil, err
		}
		res.MemberID, res.NewMember = m.ID, true
	}
	if phoneOut && j.Resubscribes && !in.laterKeyword {
		if _, err := s.setPhoneConsent(ctx, tx, in, convID, true, steeple.ConsentOptedIn, j.Wording, now); err != nil {
			return nil, err
		}
		res.Resubscribed, phoneOut = true, false
	}
	res.OptedOut = phoneOut
	if j.GroupID != "" {
		if _, err := tx.ExecContext(ctx, `INSERT INTO group_members (group_id, member_id) SELECT $1, $2
			WHERE EXISTS (SELECT 1 FROM groups WHERE id = $1) ON CONFLICT DO NOTHING`, j.GroupID, res.MemberID); err != nil {
			return nil, err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO keyword_joins (keyword_id, member_id, joined_at)
		SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM keywords WHERE id = $1)`, j.KeywordID, res.MemberID, now); err != nil {
		return nil, err
	}
	if res.NewMember && j.ConnectCard && !phoneOut {
		if _, err := tx.ExecContext(ctx, `INSERT INTO connect_cards (phone_hash, member_id, asked_at) VALUES ($1, $2, $3)
			ON CONFLICT (phone_hash) DO UPDATE SET member_id = EXCLUDED.member_id, asked_at = EXCLUDED.asked_at`,
			s.PhoneIndex(in.From), res.MemberID, now); err != nil {
			return nil, err
		}
		res.AskName = true
	}
	return res, nil
}

// applyName fills in the member a connect card asked about and closes the card.
func (s *Store) applyName(ctx context.Context, tx *sql.Tx, phoneHash string, n NameAnswer, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE members SET first_name = $1, last_name = $2, name_key = $3, updated_at = $4
		WHERE id = $5`, n.FirstName, n.LastName, nameKey(n.FirstName, n.LastName), now, n.MemberID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM connect_cards WHERE phone_hash = $1`, phoneHash)
	return err
}

// PendingConnectCard returns the member whose name a connect card asked
// the phone for since since ("" when none waits).
func (s *Store) PendingConnectCard(ctx context.Context, h *tenancy.Handle, phone string, since time.Time) (string, error) {
	var id string
	ix := s.phoneIndexes(phone)
	err := h.QueryRowContext(ctx, `SELECT member_id FROM connect_cards WHERE phone_hash IN ($1, $2) AND asked_at >= $3`,
		ix.cur, ix.prev, since).Scan(&id)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return id, err
}

// PhoneOptedOut says whether the phone texted STOP (or was opted out) and
// has not opted back in, as its conversation records it.
func (s *Store) PhoneOptedOut(ctx context.Context, h *tenancy.Handle, phone string) (bool, error) {
	var out bool
	ix := s.phoneIndexes(phone)
	err := h.QueryRowContext(ctx, `SELECT opted_out FROM conversations WHERE phone_hash IN ($1, $2)`, ix.cur, ix.prev).Scan(&out)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return out, err
}
