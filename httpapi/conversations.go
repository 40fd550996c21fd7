package httpapi

import (
	"net/http"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/members"
	"github.com/steeple-sms/steeple/messaging"
)

func (s *Server) routeConversations() {
	s.mux.HandleFunc("GET /api/v1/conversations", s.authed(s.listConversations))
	s.mux.HandleFunc("GET /api/v1/conversations/{id}", s.authed(s.getConversation))
	s.mux.HandleFunc("POST /api/v1/conversations/{id}/messages", s.authed(s.replyConversation))
	s.mux.HandleFunc("POST /api/v1/conversations/{id}/read", s.authed(s.readConversation))
	s.mux.HandleFunc("POST /api/v1/conversations/{id}/close", s.authed(s.setConversationStatus(steeple.ConversationClosed)))
	s.mux.HandleFunc("POST /api/v1/conversations/{id}/reopen", s.authed(s.setConversationStatus(steeple.ConversationOpen)))
	s.mux.HandleFunc("POST /api/v1/conversations/{id}/member", s.authed(s.memberFromConversation))
}

func (s *Server) listConversations(w http.ResponseWriter, r *http.Request, c *caller) {
	limit, err := limitParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	cs, next, err := s.deps.Inbox.List(r.Context(), c.h, q.Get("status"), q.Get("cursor"), limit)
	respond(s, w, r, http.StatusOK, map[string]any{"conversations": cs, "next_cursor": next}, err)
}

func (s *Server) getConversation(w http.ResponseWriter, r *http.Request, c *caller) {
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
