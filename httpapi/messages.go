package httpapi

import (
	"net/http"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/schedule"
)

func (s *Server) routeMessages() {
	s.mux.HandleFunc("POST /api/v1/messages/preview", s.authed(s.previewMessage))
	s.mux.HandleFunc("POST /api/v1/messages", s.authed(s.createMessage))
	s.mux.HandleFunc("GET /api/v1/messages", s.authed(s.listMessages))
	s.mux.HandleFunc("GET /api/v1/messages/{id}", s.authed(s.getMessage))
	s.mux.HandleFunc("POST /api/v1/messages/{id}/cancel", s.authed(s.stopMessage))
}

// stopMessage stops sending a broadcast; it answers once no process will
// hand another of its texts to the provider.
func (s *Server) stopMessage(w http.ResponseWriter, r *http.Request, c *caller) {
	b, err := s.deps.Messaging.Stop(r.Context(), c.h, c.admin, clientIP(r), r.PathValue("id"))
	respond(s, w, r, http.StatusOK, b, err)
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
	if !s.gateOpen(w, r, c) {
		return
	}
	var req struct {
		messaging.BroadcastRequest
		// SendAt schedules the broadcast instead of sending it now; without
		// an offset it is the church's local time.
		SendAt *schedule.SendTime `json:"send_at"`
		// Urgent sends a scheduled broadcast even in quiet hours.
		Urgent bool `json:"urgent"`
	}
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.SendAt != nil && s.deps.Schedules != nil {
		at, err := req.SendAt.In(schedule.Location(c.h))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v, err := s.deps.Schedules.ScheduleBroadcast(r.Context(), c.h, c.admin,
			schedule.Request{BroadcastRequest: req.BroadcastRequest, Urgent: req.Urgent}, at)
		respond(s, w, r, http.StatusCreated, v, err)
		return
	}
	if req.SendAt != nil {
		s.fail(w, r, steeple.FieldError("send_at", "scheduling is not available"))
		return
	}
	// urgent matters only to a scheduled broadcast: one sent now is never
	// held by quiet hours.

	b, err := s.deps.Messaging.Create(r.Context(), c.h, c.admin, req.BroadcastRequest)
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
