package inbox

// The inbox as admins use it: listing, reading, answering and settling
// conversations. The JSON API and the web pages both call these.

import (
	"context"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/members"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/schedule"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// Thread is a conversation with a page of its messages, newest first.
type Thread struct {
	*store.Conversation
	Messages   []*store.ConversationMessage `json:"messages"`
	NextCursor string                       `json:"next_cursor"`
	// Timezone is the church's, in which the messages' local times are.
	Timezone string `json:"timezone"`
}

// ListQuery is what an inbox list asks for.
type ListQuery struct {
	// Filter is one of store.ConversationFilters ("" means open).
	Filter string
	// Search is part of a member's name, or a phone number (as typed).
	Search string
	// AssigneeID keeps one admin's conversations.
	AssigneeID string
	Cursor     string
	Limit      int
}

// List pages the conversations contacts have texted in, those needing
// attention (unread, awaiting a reply) first, then newest first.
// Errors: EINVALID (filter, cursor).
func (s *Service) List(ctx context.Context, h *tenancy.Handle, q ListQuery) ([]*store.Conversation, string, error) {
	f := store.FilterOpen
	if q.Filter != "" {
		f = store.ConversationFilter(q.Filter)
		known := false
		for _, k := range store.ConversationFilters {
			known = known || k == f
		}
		if !known {
			names := make([]string, len(store.ConversationFilters))
			for i, k := range store.ConversationFilters {
				names[i] = string(k)
			}
			return nil, "", steeple.FieldError("filter", "must be one of: "+strings.Join(names, ", "))
		}
	}
	sq := store.ConversationQuery{Filter: f, AssigneeID: q.AssigneeID, Cursor: q.Cursor, Limit: q.Limit}
	if search := strings.TrimSpace(q.Search); looksLikePhone(search) {
		region, err := s.store.Setting(ctx, h, steeple.SettingPhoneRegion)
		if err != nil {
			return nil, "", err
		}
		if region == "" {
			region = members.DefaultRegion
		}
		if sq.Phone, err = steeple.NormalizePhone("q", search, region); err != nil {
			return nil, "", err
		}
	} else {
		sq.Name = search
	}
	return s.store.Conversations(ctx, h, sq)
}

// looksLikePhone says a search is a phone number: digits with the signs
// people type in them, and at least four digits.
func looksLikePhone(q string) bool {
	digits := 0
	for _, r := range q {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("+-(). ", r):
		default:
			return false
		}
	}
	return digits >= 4
}

// Get returns a conversation with its newest messages, broadcasts to its
// phone included, each with its time in the church's timezone; cursor
// pages to older ones. Errors: ENOTFOUND, EINVALID (cursor).
func (s *Service) Get(ctx context.Context, h *tenancy.Handle, id, cursor string, limit int) (*Thread, error) {
	c, err := s.store.Conversation(ctx, h, id)
	if err != nil {
		return nil, err
	}
	ms, next, err := s.store.Thread(ctx, h, id, cursor, limit)
	if err != nil {
		return nil, err
	}
	loc := schedule.Location(h)
	for _, m := range ms {
		m.CreatedAtLocal = m.CreatedAt.In(loc).Format(time.RFC3339)
	}
	return &Thread{Conversation: c, Messages: ms, NextCursor: next, Timezone: loc.String()}, nil
}

// Reply sends an admin's reply to the conversation's one contact.
// Errors: EINVALID, ENOTFOUND, ECONFLICT (the contact opted out).
func (s *Service) Reply(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, id string, r messaging.ReplyRequest) (*store.ConversationMessage, error) {
	return s.msg.Reply(ctx, h, admin, id, r)
}

// MarkRead clears the unread count. Errors: ENOTFOUND.
func (s *Service) MarkRead(ctx context.Context, h *tenancy.Handle, id string) (*store.Conversation, error) {
	if err := s.store.MarkConversationRead(ctx, h, id); err != nil {
		return nil, err
	}
	return s.store.Conversation(ctx, h, id)
}

// MarkUnread marks a conversation unread again. Errors: ENOTFOUND.
func (s *Service) MarkUnread(ctx context.Context, h *tenancy.Handle, id string) (*store.Conversation, error) {
	if err := s.store.MarkConversationUnread(ctx, h, id); err != nil {
		return nil, err
	}
	return s.store.Conversation(ctx, h, id)
}

// SetStatus closes or reopens a conversation (a new inbound text reopens
// it too). Errors: ENOTFOUND.
func (s *Service) SetStatus(ctx context.Context, h *tenancy.Handle, id string, status steeple.ConversationStatus) (*store.Conversation, error) {
	if err := s.store.SetConversationStatus(ctx, h, id, status); err != nil {
		return nil, err
	}
	return s.store.Conversation(ctx, h, id)
}

// Assign gives a conversation to an admin of the church ("" unassigns),
// recorded in the audit log. Errors: ENOTFOUND (conversation or admin).
func (s *Service) Assign(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, ip, id, assigneeID string) (*store.Conversation, error) {
	if err := s.store.AssignConversation(ctx, h, id, assigneeID); err != nil {
		return nil, err
	}
	detail := "unassigned"
	if assigneeID != "" {
		detail = "assigned to admin " + assigneeID
	}
	if err := s.store.Audit(ctx, h, store.AuditEntry{ActorID: admin.ID, Action: "conversation.assigned", Target: id, IP: ip,
		Detail: detail}); err != nil {
		return nil, err
	}
	return s.store.Conversation(ctx, h, id)
}

// ConfirmOptOut settles a flagged conversation as the opt-out its contact
// asked for in words: the phone is opted out at once (every member with
// it too), the flag cleared, and the admin's decision audited. Nothing is
// texted: the contact asked for no more texts. Errors: ENOTFOUND.
func (s *Service) ConfirmOptOut(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, ip, id string) (*store.Conversation, error) {
	if err := s.store.ConfirmOptOut(ctx, h, id, admin.ID); err != nil {
		return nil, err
	}
	if err := s.store.Audit(ctx, h, store.AuditEntry{ActorID: admin.ID, Action: "conversation.opt_out_confirmed", Target: id,
		IP: ip, Detail: "a text asking to stop was confirmed as an opt-out"}); err != nil {
		return nil, err
	}
	return s.store.Conversation(ctx, h, id)
}

// DismissFlag clears a conversation's flag: its texts were not a wish to
// opt out. Audited. Errors: ENOTFOUND.
func (s *Service) DismissFlag(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, ip, id string) (*store.Conversation, error) {
	if err := s.store.DismissFlag(ctx, h, id); err != nil {
		return nil, err
	}
	if err := s.store.Audit(ctx, h, store.AuditEntry{ActorID: admin.ID, Action: "conversation.flag_dismissed", Target: id,
		IP: ip, Detail: "the flag was dismissed: not a request to stop"}); err != nil {
		return nil, err
	}
	return s.store.Conversation(ctx, h, id)
}

func (s *Service) SetReplyNotifications(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, ip, mode string) error {
	if err := s.store.SetReplyNotifications(ctx, h, admin.ID, mode); err != nil {
		return err
	}
	admin.ReplyNotifications = mode
	return s.store.Audit(ctx, h, store.AuditEntry{ActorID: admin.ID, Action: "admin.reply_notifications", Target: admin.ID, IP: ip,
		Detail: "reply emails: " + mode})
}
