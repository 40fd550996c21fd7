package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// MemberFilter selects members; empty fields do not filter. The member
// list and the bulk actions share it, so a bulk action "on the filter"
// reaches exactly the members the list shows.
type MemberFilter struct {
	// Name matches a fragment of "first last", ignoring case and accents.
	Name string
	// Phone matches exactly (E.164): phones are stored sealed.
	Phone string
	// GroupID keeps the members of one group.
	GroupID string
	// Consent keeps members with this status (opted_in, opted_out).
	Consent string
}

// MemberQuery lists members matching the filter, ordered by name, Limit at
// a time after Cursor.
type MemberQuery struct {
	MemberFilter
	Cursor string
	Limit  int
}

// where builds the filter's SQL condition, numbering arguments after args.
func (s *Store) where(f MemberFilter, args *[]any) string {
	arg := func(v any) string { *args = append(*args, v); return "$" + strconv.Itoa(len(*args)) }
	where := []string{"1=1"}
	if f.Phone != "" {
		where = append(where, s.phoneIndexes(f.Phone).in("m.phone_hash", arg))
	}
	if f.Name != "" {
		where = append(where, "m.name_key LIKE "+arg("%"+escapeLike(FoldName(f.Name))+"%")+" ESCAPE '\\'")
	}
	if f.GroupID != "" {
		where = append(where, "EXISTS (SELECT 1 FROM group_members gm WHERE gm.member_id = m.id AND gm.group_id = "+arg(f.GroupID)+")")
	}
	if f.Consent != "" {
		where = append(where, "m.consent_status = "+arg(f.Consent))
	}
	return strings.Join(where, " AND ")
}

// Members lists members and returns the cursor of the next page ("" at the
// end). The order (name key, then id) is total, so paging neither repeats
// nor skips a member, even while others are added.
func (s *Store) Members(ctx context.Context, h *tenancy.Handle, q MemberQuery) ([]*steeple.Member, string, error) {
	args := []any{}
	where := s.where(q.MemberFilter, &args)
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if q.Cursor != "" {
		key, id, err := decodeCursor(q.Cursor)
		if err != nil {
			return nil, "", err
		}
		k, i := arg(key), arg(id)
		where += " AND (m.name_key > " + k + " OR (m.name_key = " + k + " AND m.id > " + i + "))"
	}
	rows, err := h.QueryContext(ctx, `SELECT `+memberColumnsOf("m")+` FROM members m WHERE `+where+
		` ORDER BY m.name_key, m.id LIMIT `+arg(q.Limit+1), args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []*steeple.Member
	var keys []string
	for rows.Next() {
		m, key, err := s.scanMember(rows)
		if err != nil {
			return nil, "", err
		}
		out, keys = append(out, m), append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > q.Limit {
		out = out[:q.Limit]
		next = encodeCursor(keys[q.Limit-1], out[q.Limit-1].ID)
	}
	if out == nil {
		out = []*steeple.Member{}
	}
	return out, next, s.fillGroups(ctx, h, out)
}

// CountMembers counts the members matching a filter.
func (s *Store) CountMembers(ctx context.Context, h *tenancy.Handle, f MemberFilter) (int, error) {
	args := []any{}
	var n int
	err := h.QueryRowContext(ctx, `SELECT COUNT(*) FROM members m WHERE `+s.where(f, &args), args...).Scan(&n)
	return n, err
}

// memberIDsTx lists the ids matching a filter inside a transaction.
func (s *Store) memberIDsTx(ctx context.Context, tx *sql.Tx, f MemberFilter) ([]string, error) {
	args := []any{}
	return queryStrings(ctx, tx, `SELECT m.id FROM members m WHERE `+s.where(f, &args)+` ORDER BY m.id`, args...)
}

// memberColumnsOf is memberColumns qualified by a table alias.
func memberColumnsOf(alias string) string {
	cols := strings.Split(memberColumns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}
