package httpapi

import (
	"net/http"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/inbox"
	"github.com/steeple-sms/steeple/members"
	"github.com/steeple-sms/steeple/messaging"
)

func (s *Server) routeConversations() {
	s.mux.HandleFunc("GET /api/v1/conversations", s.authed(s.listConversations))
	s.mux.HandleFunc("GET /api/v1/conversations/{id}", s.authed(s.getConversation))
	s.mux.HandleFunc("POST /api/v1/conversations/{id}/messages", s.authed(s.replyConversation))
	s.mux.HandleFunc("POST /api/v1/conversations/{id}/read", s.authed(s.readConversation))
	s.mux.HandleFunc("POST /api/v1/conversations/{id}/unread", s.authed(s.unreadConversation))
	s.mux.HandleFunc("POST /api/v1/conversations/{id}/close", s.authed(s.setConversationStatus(steeple.ConversationClosed)))
	s.mux.HandleFunc("POST /api/v1/conversations/{id}/reopen", s.authed(s.setConversationStatus(steeple.ConversationOpen)))
	s.mux.HandleFunc("POST /api/v1/conversations/{id}/assign", s.authed(s.assignConversation))
	s.mux.HandleFunc("POST /api/v1/conversations/{id}/opt-out", s.authed(s.confirmOptOut))
	s.mux.HandleFunc("POST /api/v1/conversations/{id}/dismiss-flag", s.authed(s.dismissFlag))
	s.mux.HandleFunc("POST /api/v1/conversations/{id}/member", s.authed(s.memberFromConversation))
}

func (s *Server) listConversations(w http.ResponseWriter, r *http.Request, c *caller) {
	if err := onlyParams(r, "filter", "q", "assignee", "status", "cursor", "limit"); err != nil {
		s.fail(w, r, err)
		return
	}
	limit, err := limitParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	lq := inbox.ListQuery{Filter: q.Get("filter"), Search: q.Get("q"), AssigneeID: q.Get("assignee"), Cursor: q.Get("cursor"), Limit: limit}
	if lq.AssigneeID == "me" {
		lq.AssigneeID = c.admin.ID
	}
	// status=open|closed is the older spelling of the same filters.
	if st := q.Get("status"); st != "" {
		if lq.Filter != "" {
			s.fail(w, r, steeple.FieldError("status", "give filter or status, not both"))
			return
		}
		if st != string(steeple.ConversationOpen) && st != string(steeple.ConversationClosed) {
			s.fail(w, r, steeple.FieldError("status", `must be "open" or "closed"`))
			return
		}
		lq.Filter = st
	}
	cs, next, err := s.deps.Inbox.List(r.Context(), c.h, lq)
	respond(s, w, r, http.StatusOK, map[string]any{"conversations": cs, "next_cursor": next}, err)
}

func (s *Server) getConversation(w http.ResponseWriter, r *http.Request, c *caller) {
	if err := onlyParams(r, "cursor", "limit"); err != nil {
		s.fail(w, r, err)
		return
	}
	limit, err := limitParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := s.deps.Inbox.Get(r.Context(), c.h, r.PathValue("id"), r.URL.Query().Get("cursor"), limit)
	respond(s, w, r, http.StatusOK, t, err)
}

func (s *Server) replyConversation(w http.ResponseWriter, r *http.Request, c *caller) {
	if !s.gateOpen(w, r, c) {
		return
	}
	var req messaging.ReplyRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	m, err := s.deps.Inbox.Reply(r.Context(), c.h, c.admin, r.PathValue("id"), req)
	respond(s, w, r, http.StatusCreated, m, err)
}

func (s *Server) readConversation(w http.ResponseWriter, r *http.Request, c *caller) {
	conv, err := s.deps.Inbox.MarkRead(r.Context(), c.h, r.PathValue("id"))
	respond(s, w, r, http.StatusOK, conv, err)
}

func (s *Server) unreadConversation(w http.ResponseWriter, r *http.Request, c *caller) {
	conv, err := s.deps.Inbox.MarkUnread(r.Context(), c.h, r.PathValue("id"))
	respond(s, w, r, http.StatusOK, conv, err)
}

// assignConversation takes {"admin_id": "…"}; null or "" unassigns.
func (s *Server) assignConversation(w http.ResponseWriter, r *http.Request, c *caller) {
	var req struct {
		AdminID *string `json:"admin_id"`
	}
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	id := ""
	if req.AdminID != nil {
		id = *req.AdminID
	}
	conv, err := s.deps.Inbox.Assign(r.Context(), c.h, c.admin, clientIP(r), r.PathValue("id"), id)
	respond(s, w, r, http.StatusOK, conv, err)
}

func (s *Server) confirmOptOut(w http.ResponseWriter, r *http.Request, c *caller) {
	conv, err := s.deps.Inbox.ConfirmOptOut(r.Context(), c.h, c.admin, clientIP(r), r.PathValue("id"))
	respond(s, w, r, http.StatusOK, conv, err)
}

func (s *Server) dismissFlag(w http.ResponseWriter, r *http.Request, c *caller) {
	conv, err := s.deps.Inbox.DismissFlag(r.Context(), c.h, c.admin, clientIP(r), r.PathValue("id"))
	respond(s, w, r, http.StatusOK, conv, err)
}

func (s *Server) setConversationStatus(status steeple.ConversationStatus) func(http.ResponseWriter, *http.Request, *caller) {
	return func(w http.ResponseWriter, r *http.Request, c *caller) {
		conv, err := s.deps.Inbox.SetStatus(r.Context(), c.h, r.PathValue("id"), status)
		respond(s, w, r, http.StatusOK, conv, err)
	}
}

func (s *Server) memberFromConversation(w http.ResponseWriter, r *http.Request, c *caller) {
	var req members.MemberRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	m, err := s.deps.Members.FromConversation(r.Context(), c.h, r.PathValue("id"), req)
	respond(s, w, r, http.StatusCreated, m, err)
}
