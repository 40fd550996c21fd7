package httpapi

import (
	"net/http"

	"github.com/steeple-sms/steeple/messaging"
)

func (s *Server) routeMessages() {
	s.mux.HandleFunc("POST /api/v1/messages/preview", s.authed(s.previewMessage))
	s.mux.HandleFunc("POST /api/v1/messages", s.authed(s.createMessage))
	s.mux.HandleFunc("GET /api/v1/messages", s.authed(s.listMessages))
	s.mux.HandleFunc("GET /api/v1/messages/{id}", s.authed(s.getMessage))
}

func (s *Server) previewMessage(w http.ResponseWriter, r *http.Request, c *caller) {
	var req messaging.BroadcastRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.deps.Messaging.Preview(r.Context(), c.h, req)
	respond(s, w, r, http.StatusOK, p, err)
}

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request, c *caller) {
	var req messaging.BroadcastRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.deps.Messaging.Create(r.Context(), c.h, c.admin, req)
	respond(s, w, r, http.StatusCreated, b, err)
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, c *caller) {
	limit, err := limitParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	bs, err := s.deps.Messaging.List(r.Context(), c.h, limit)
	respond(s, w, r, http.StatusOK, map[string]any{"messages": bs}, err)
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request, c *caller) {
	b, rs, err := s.deps.Messaging.Get(r.Context(), c.h, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": b, "recipients": rs})
}
