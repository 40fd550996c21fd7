package store

// Cheap "has anything changed?" checks for pages that poll the inbox: one
// aggregate row each, so an open inbox costs a church little between
// changes.

import (
	"context"
	"database/sql"
	"github.com/steeple-sms/steeple"
	"strings"

	"github.com/steeple-sms/steeple/tenancy"
)

// InboxVersion is a token that changes whenever a conversation of the
// inbox is added or changed (a new text, a reply, read, closed, assigned,
// flagged or opted out): a page compares it with the one it showed. Times
// alone would do on a real clock; the counts keep it right when two
// changes share a microsecond (or a test's clock stands still).
func (s *Store) InboxVersion(ctx context.Context, h *tenancy.Handle) (string, error) {
	return version(h.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MAX(last_message_us), 0), COALESCE(SUM(unread), 0),
		COALESCE(SUM(LENGTH(last_preview)), 0), `+countIf("status = 'closed'")+`, `+countIf("flagged")+`, `+countIf("needs_reply")+`,
		`+countIf("opted_out")+`, COUNT(assignee_id), COALESCE(SUM(LENGTH(assignee_id)), 0), COUNT(member_id), MAX(updated_at)
		FROM conversations WHERE last_inbound_us > 0`), 12)
}

// ThreadVersion is a token that changes whenever a conversation or one of
// its texts changes (a new text, a delivery update, a flag, an opt-out).
// Errors: ENOTFOUND.
func (s *Store) ThreadVersion(ctx context.Context, h *tenancy.Handle, id string) (string, error) {
	var statuses []string
	for _, st := range steeple.RecipientStatuses() {
		statuses = append(statuses, countIf("cm.status = '"+string(st)+"'"))
	}
	v, err := version(h.QueryRowContext(ctx, `SELECT c.updated_at, c.unread, c.status, c.flagged, c.opted_out,
		COALESCE(c.assignee_id, ''), COALESCE(c.member_id, ''),
		(SELECT m.consent_status FROM members m WHERE m.id = `+convMemberSQL+`),
		(SELECT COUNT(*) FROM conversation_messages cm WHERE cm.conversation_id = c.id),
		(SELECT MAX(cm.updated_at) FROM conversation_messages cm WHERE cm.conversation_id = c.id),
		(SELECT `+strings.Join(statuses, " || '.' || ")+` FROM conversation_messages cm WHERE cm.conversation_id = c.id)
		FROM conversations c WHERE c.id = $1`, id), 11)
	return v, translate(err, "conversation")
}

// countIf counts the rows where cond holds, as text (0 for none).
func countIf(cond string) string {
	return `CAST(COALESCE(SUM(CASE WHEN ` + cond + ` THEN 1 ELSE 0 END), 0) AS TEXT)`
}

// version joins a row's n columns, whatever their types, into one token.
func version(row *sql.Row, n int) (string, error) {
	vals := make([]sql.NullString, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := row.Scan(ptrs...); err != nil {
		return "", err
	}
	parts := make([]string, n)
	for i, v := range vals {
		parts[i] = v.String
	}
	return strings.Join(parts, "|"), nil
}
