package store

// The inbox list: which conversations show, in which order, and how one
// is read.

import (
	"context"
	"database/sql"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// ConversationFilter chooses the conversations an inbox list shows.
type ConversationFilter string

// Inbox filters. Only conversations the contact has texted in are listed.
const (
	FilterAll        ConversationFilter = ""            // open and closed
	FilterOpen       ConversationFilter = "open"        // the inbox's default
	FilterClosed     ConversationFilter = "closed"      // closed by an admin
	FilterUnread     ConversationFilter = "unread"      // texts nobody has read
	FilterNeedsReply ConversationFilter = "needs_reply" // the contact's newest text is unanswered
	FilterFlagged    ConversationFilter = "flagged"     // a text read like a wish to opt out
	FilterOptedOut   ConversationFilter = "opted_out"   // may not be texted
)

// ConversationFilters lists the filters an inbox may ask for by name.
var ConversationFilters = []ConversationFilter{FilterOpen, FilterClosed, FilterUnread, FilterNeedsReply, FilterFlagged, FilterOptedOut}

// ConversationQuery filters and pages the inbox: those needing attention
// (unread or awaiting a reply) first, then newest first.
type ConversationQuery struct {
	Filter ConversationFilter
	// Name matches the member's name (any part, accents and case ignored);
	// Phone matches the contact's phone exactly (E.164). Both empty: all.
	Name, Phone string
	// AssigneeID keeps the conversations assigned to one admin.
	AssigneeID string
	Cursor     string
	Limit      int
}

// optedOutSQL is whether a conversation's contact may not be texted: the
// member's consent when the phone is a member's, else the contact's own
// STOP (as ReplyTarget decides at send time).
const optedOutSQL = `(CASE WHEN m.id IS NULL THEN c.opted_out ELSE (m.consent_status <> 'opted_in' OR m.phone_invalid) END)`

// attentionSQL ranks conversations that need someone first.
const attentionSQL = `(CASE WHEN c.unread > 0 OR (c.needs_reply AND NOT ` + optedOutSQL + `) THEN 1 ELSE 0 END)`

const conversationColumns = `c.id, c.phone_cipher, c.church_number, c.status, c.unread, c.flagged, ` + optedOutSQL + `,
	c.needs_reply, COALESCE(c.assignee_id, ''), ` + attentionSQL + `,
	c.last_message_us, c.last_preview, c.last_direction, c.created_at,
	m.id, m.first_name, m.last_name, m.consent_status
	FROM conversations c LEFT JOIN members m ON m.id = ` + convMemberSQL

// convMemberSQL is the member a conversation (alias c) shows: the first of
// those who have its phone (a household may share one).
const convMemberSQL = `(SELECT pm.id FROM members pm WHERE pm.phone_hash = c.phone_hash ORDER BY pm.created_at, pm.id LIMIT 1)`

// listedConversation is a conversation with its place in the list.
type listedConversation struct {
	*Conversation
	attention int
	lastUS    int64
}

func (s *Store) scanConversation(row interface{ Scan(...any) error }) (*listedConversation, error) {
	var c Conversation
	var sealed []byte
	var l listedConversation
	var mid, first, last, consent sql.NullString
	if err := row.Scan(&c.ID, &sealed, &c.ChurchNumber, &c.Status, &c.Unread, &c.Flagged, &c.OptedOut, &c.NeedsReply,
		&c.AssigneeID, &l.attention, &l.lastUS, &c.LastMessage.Preview, &c.LastMessage.Direction, &c.CreatedAt,
		&mid, &first, &last, &consent); err != nil {
		return nil, err
	}
	phone, err := s.keys.Open(sealed, phoneAAD)
	if err != nil {
		return nil, err
	}
	c.Phone = string(phone)
	c.NeedsReply = c.NeedsReply && !c.OptedOut
	c.LastMessage.At = time.UnixMicro(l.lastUS).UTC()
	c.CreatedAt = c.CreatedAt.UTC()
	if mid.Valid {
		c.Member = &ConversationMember{ID: mid.String, FirstName: first.String, LastName: last.String, ConsentStatus: consent.String}
	}
	l.Conversation = &c
	return &l, nil
}

// Conversation returns one conversation. Errors: ENOTFOUND.
func (s *Store) Conversation(ctx context.Context, h *tenancy.Handle, id string) (*Conversation, error) {
	c, err := s.scanConversation(h.QueryRowContext(ctx, `SELECT `+conversationColumns+` WHERE c.id = $1`, id))
	if err != nil {
		return nil, translate(err, "conversation")
	}
	return c.Conversation, nil
}

// optedOutFastSQL is optedOutSQL without the join: the first member with
// the phone decides, else the contact's own STOP. As a scalar subquery it
// costs one index lookup, and only where it is evaluated.
const optedOutFastSQL = `COALESCE((SELECT (pm.consent_status <> 'opted_in' OR pm.phone_invalid) FROM members pm
	WHERE pm.phone_hash = c.phone_hash ORDER BY pm.created_at, pm.id LIMIT 1), c.opted_out)`

// attentionFastSQL is attentionSQL that looks at the contact's consent
// only for read conversations awaiting a reply: ranking a large inbox then
// reads the conversations table alone for nearly every row.
const attentionFastSQL = `(CASE WHEN c.unread > 0 THEN 1 WHEN NOT c.needs_reply THEN 0 WHEN ` + optedOutFastSQL + ` THEN 0 ELSE 1 END)`

// Conversations lists the conversations contacts have texted in, those
// needing attention first, then by most recent activity, with a cursor
// for the next page ("" at the end). The page is chosen from the
// conversations table (members are consulted per row only where the order
// or filter needs them), then its rows are read with their members.
// Errors: EINVALID (filter, cursor).
func (s *Store) Conversations(ctx context.Context, h *tenancy.Handle, q ConversationQuery) ([]*Conversation, string, error) {
	where, args := []string{"c.last_inbound_us > 0"}, []any{}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	switch q.Filter {
	case FilterAll:
	case FilterOpen, FilterClosed:
		where = append(where, "c.status = "+arg(string(q.Filter)))
	case FilterUnread:
		where = append(where, "c.unread > 0")
	case FilterNeedsReply:
		where = append(where, "c.needs_reply AND NOT "+optedOutFastSQL)
	case FilterFlagged:
		where = append(where, "c.flagged")
	case FilterOptedOut:
		where = append(where, optedOutFastSQL)
	default:
		return nil, "", steeple.FieldError("filter", "is not a filter of the inbox")
	}
	if q.Phone != "" {
		where = append(where, s.phoneIndexes(q.Phone).in("c.phone_hash", arg))
	}
	if q.Name != "" {
		// Any member with the phone whose name matches: a household's phone
		// is found by each of its members' names.
		where = append(where, "c.phone_hash IN (SELECT pm.phone_hash FROM members pm WHERE pm.name_key LIKE "+
			arg("%"+escapeLike(FoldName(q.Name))+"%")+" ESCAPE '\\')")
	}
	if q.AssigneeID != "" {
		where = append(where, "c.assignee_id = "+arg(q.AssigneeID))
	}
	if q.Cursor != "" {
		att, us, id, err := decodeInboxCursor(q.Cursor)
		if err != nil {
			return nil, "", err
		}
		a, u, i := arg(att), arg(us), arg(id)
		where = append(where, "("+attentionFastSQL+" < "+a+" OR ("+attentionFastSQL+" = "+a+" AND (c.last_message_us < "+u+
			" OR (c.last_message_us = "+u+" AND c.id < "+i+"))))")
	}
	rows, err := h.QueryContext(ctx, `SELECT c.id, `+attentionFastSQL+` AS attention FROM conversations c WHERE `+
		strings.Join(where, " AND ")+` ORDER BY attention DESC, c.last_message_us DESC, c.id DESC LIMIT `+arg(q.Limit+1), args...)
	if err != nil {
		return nil, "", err
	}
	var ids []string
	attention := map[string]int{}
	for rows.Next() {
		var id string
		var att int
		if err := rows.Scan(&id, &att); err != nil {
			rows.Close()
			return nil, "", err
		}
		ids = append(ids, id)
		attention[id] = att
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	more := len(ids) > q.Limit
	if more {
		ids = ids[:q.Limit]
	}
	listed, err := s.conversationsByID(ctx, h, ids)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if more && len(listed) > 0 {
		last := listed[len(listed)-1]
		next = encodeInboxCursor(attention[last.ID], last.lastUS, last.ID)
	}
	out := make([]*Conversation, len(listed))
	for i, l := range listed {
		out[i] = l.Conversation
	}
	return out, next, nil
}

// conversationsByID reads conversations with their members, in the order
// of ids (an id gone meanwhile is left out).
func (s *Store) conversationsByID(ctx context.Context, h *tenancy.Handle, ids []string) ([]*listedConversation, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	ph := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		ph[i], args[i] = "$"+strconv.Itoa(i+1), id
	}
	rows, err := h.QueryContext(ctx, `SELECT `+conversationColumns+` WHERE c.id IN (`+strings.Join(ph, ", ")+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byID := map[string]*listedConversation{}
	for rows.Next() {
		c, err := s.scanConversation(rows)
		if err != nil {
			return nil, err
		}
		byID[c.ID] = c
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]*listedConversation, 0, len(ids))
	for _, id := range ids {
		if c, ok := byID[id]; ok {
			out = append(out, c)
		}
	}
	return out, nil
}

func encodeInboxCursor(attention int, us int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(attention) + "|" + strconv.FormatInt(us, 10) + "|" + id))
}

func decodeInboxCursor(c string) (int, int64, string, error) {
	bad := steeple.FieldError("cursor", "is not a cursor from a previous page")
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, 0, "", bad
	}
	parts := strings.SplitN(string(raw), "|", 3)
	if len(parts) != 3 {
		return 0, 0, "", bad
	}
	att, err1 := strconv.Atoi(parts[0])
	us, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, "", bad
	}
	return att, us, parts[2], nil
}
