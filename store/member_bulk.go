package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// MemberSelection is what a bulk action applies to: the members named by
// IDs or, when Filter is set, every member matching it (as the list shows).
type MemberSelection struct {
	IDs    []string
	Filter *MemberFilter
}

// BulkResult says what a bulk action did.
type BulkResult struct {
	// Count is the number of members the action was applied to.
	Count int `json:"count"`
	// Skipped counts members left as they were, for SkippedReason.
	Skipped       int    `json:"skipped"`
	SkippedReason string `json:"skipped_reason,omitempty"`
	// OptedIn lists members whose consent just became opted_in.
	OptedIn []string `json:"-"`
}

// bulkChunk bounds the ids in one statement (well under both dialects'
// parameter limits).
const bulkChunk = 500

// chunks calls fn with "$first, $first+1, …" placeholders and the
// arguments for each slice of ids.
func chunks(ids []string, first int, fn func(marks string, args []any) error) error {
	for len(ids) > 0 {
		n := min(len(ids), bulkChunk)
		marks := make([]string, n)
		args := make([]any, n)
		for i := range n {
			marks[i] = "$" + strconv.Itoa(first+i)
			args[i] = ids[i]
		}
		if err := fn(strings.Join(marks, ", "), args); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// selectTx resolves a selection to member ids. Every named id must be a
// member of this church: one that is not (another church's, or none at
// all) is ENOTFOUND and the action applies to no one.
func (s *Store) selectTx(ctx context.Context, tx *sql.Tx, sel MemberSelection) ([]string, error) {
	if sel.Filter != nil {
		return s.memberIDsTx(ctx, tx, *sel.Filter)
	}
	seen := map[string]bool{}
	ids := make([]string, 0, len(sel.IDs))
	for _, id := range sel.IDs {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	found := map[string]bool{}
	err := chunks(ids, 1, func(marks string, args []any) error {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM members WHERE id IN (`+marks+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			found[id] = true
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if !found[id] {
			return nil, steeple.Errorf(steeple.ENOTFOUND, "member %s not found", id)
		}
	}
	return ids, nil
}

// bulk runs fn over the selected ids in one transaction.
func (s *Store) bulk(ctx context.Context, h *tenancy.Handle, sel MemberSelection, fn func(tx *sql.Tx, ids []string, res *BulkResult) error) (*BulkResult, error) {
	res := &BulkResult{}
	err := h.InTx(ctx, func(tx *sql.Tx) error {
		*res = BulkResult{}
		ids, err := s.selectTx(ctx, tx, sel)
		if err != nil {
			return err
		}
		res.Count = len(ids)
		return fn(tx, ids, res)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// BulkAddToGroup adds the selected members to a group. Errors: ENOTFOUND
// (the group, or a named member).
func (s *Store) BulkAddToGroup(ctx context.Context, h *tenancy.Handle, sel MemberSelection, groupID string) (*BulkResult, error) {
	return s.bulk(ctx, h, sel, func(tx *sql.Tx, ids []string, _ *BulkResult) error {
		if err := exists(ctx, tx, "groups", groupID, "group"); err != nil {
			return err
		}
		return chunks(ids, 2, func(marks string, args []any) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO group_members (group_id, member_id) SELECT $1, id FROM members
				WHERE id IN (`+marks+`) ON CONFLICT DO NOTHING`, append([]any{groupID}, args...)...)
			return err
		})
	})
}

// BulkRemoveFromGroup removes the selected members from a group.
// Errors: ENOTFOUND (the group, or a named member).
func (s *Store) BulkRemoveFromGroup(ctx context.Context, h *tenancy.Handle, sel MemberSelection, groupID string) (*BulkResult, error) {
	return s.bulk(ctx, h, sel, func(tx *sql.Tx, ids []string, _ *BulkResult) error {
		if err := exists(ctx, tx, "groups", groupID, "group"); err != nil {
			return err
		}
		return chunks(ids, 2, func(marks string, args []any) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE group_id = $1 AND member_id IN (`+marks+`)`,
				append([]any{groupID}, args...)...)
			return err
		})
	})
}

// BulkDelete removes the selected members. Errors: ENOTFOUND (a named member).
func (s *Store) BulkDelete(ctx context.Context, h *tenancy.Handle, sel MemberSelection) (*BulkResult, error) {
	return s.bulk(ctx, h, sel, func(tx *sql.Tx, ids []string, _ *BulkResult) error {
		return chunks(ids, 1, func(marks string, args []any) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM members WHERE id IN (`+marks+`)`, args...)
			return err
		})
	})
}

// BulkConsent records consent an admin entered for the selected members.
// A member who opted out themselves (STOP) is not opted back in: they are
// skipped and counted, and the others are recorded. Errors: ENOTFOUND.
func (s *Store) BulkConsent(ctx context.Context, h *tenancy.Handle, sel MemberSelection, c steeple.Consent) (*BulkResult, error) {
	return s.bulk(ctx, h, sel, func(tx *sql.Tx, ids []string, res *BulkResult) error {
		type state struct{ status, source string }
		cur := map[string]state{}
		err := chunks(ids, 1, func(marks string, args []any) error {
			rows, err := tx.QueryContext(ctx, `SELECT id, consent_status, consent_source FROM members WHERE id IN (`+marks+`)`, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				var st state
				if err := rows.Scan(&id, &st.status, &st.source); err != nil {
					return err
				}
				cur[id] = st
			}
			return rows.Err()
		})
		if err != nil {
			return err
		}
		c.At = s.Now()
		for _, id := range ids {
			st := cur[id]
			if memberOptOut(st.status, st.source) {
				if c.Status == steeple.ConsentOptedIn {
					res.Skipped++
					res.SkippedReason = "opted out themselves (by texting STOP); only they can opt back in"
				}
				continue // an admin's opt-out keeps the member's own record
			}
			if err := setConsentTx(ctx, tx, id, c); err != nil {
				return err
			}
			if st.status != steeple.ConsentOptedIn && c.Status == steeple.ConsentOptedIn {
				res.OptedIn = append(res.OptedIn, id)
			}
		}
		res.Count -= res.Skipped
		return nil
	})
}

// RecordConsent records consent an admin entered for one member, under
// the rule that an admin cannot undo the member's own STOP. It reports
// whether the status changed. Errors: ENOTFOUND, EINVALID (consent).
func (s *Store) RecordConsent(ctx context.Context, h *tenancy.Handle, id string, c steeple.Consent) (bool, error) {
	changed := false
	err := h.InTx(ctx, func(tx *sql.Tx) error {
		var cur, source string
		if err := tx.QueryRowContext(ctx, `SELECT consent_status, consent_source FROM members WHERE id = $1`, id).Scan(&cur, &source); err != nil {
			return translate(err, "member")
		}
		if err := s.adminConsentTx(ctx, tx, id, cur, source, c); err != nil {
			return err
		}
		changed = cur != c.Status && !memberOptOut(cur, source)
		return nil
	})
	return changed, err
}
