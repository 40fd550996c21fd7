package httpapi

import (
	"net/http"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/schedule"
	"github.com/steeple-sms/steeple/store"
)

func (s *Server) routeMessages() {
	s.mux.HandleFunc("POST /api/v1/messages/preview", s.authed(s.previewMessage))
	s.mux.HandleFunc("POST /api/v1/messages", s.authed(s.createMessage))
	s.mux.HandleFunc("GET /api/v1/messages", s.authed(s.listMessages))
	s.mux.HandleFunc("GET /api/v1/messages/{id}", s.authed(s.getMessage))
	s.mux.HandleFunc("POST /api/v1/messages/{id}/cancel", s.authed(s.stopMessage))
	s.mux.HandleFunc("POST /api/v1/messages/{id}/test", s.authed(s.testMessage))
	s.mux.HandleFunc("POST /api/v1/messages/{id}/duplicate", s.authed(s.duplicateMessage))
	s.mux.HandleFunc("GET /api/v1/messages/{id}/recipients", s.authed(s.messageRecipients))
	s.mux.HandleFunc("GET /api/v1/messages/{id}/recipients.csv", s.authed(s.messageRecipientsCSV))
}

// testMessage texts a broadcast's text to the signed-in admin's own phone.
func (s *Server) testMessage(w http.ResponseWriter, r *http.Request, c *caller) {
	if !s.gateOpen(w, r, c) {
		return
	}
	res, err := s.deps.Messaging.SendTest(r.Context(), c.h, c.admin, clientIP(r), r.PathValue("id"))
	respond(s, w, r, http.StatusOK, res, err)
}

// duplicateMessage answers a broadcast's text, media and audience as a new
// request (a draft kept by the client) to edit and send or schedule.
func (s *Server) duplicateMessage(w http.ResponseWriter, r *http.Request, c *caller) {
	req, err := s.deps.Messaging.Duplicate(r.Context(), c.h, r.PathValue("id"))
	respond(s, w, r, http.StatusOK, map[string]any{"draft": req}, err)
}

// messageRecipients pages a broadcast's recipients with name and phone,
// optionally of one status (?status=failed&cursor=…&limit=…).
func (s *Server) messageRecipients(w http.ResponseWriter, r *http.Request, c *caller) {
	limit, err := limitParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	rows, next, err := s.deps.Messaging.Recipients(r.Context(), c.h, r.PathValue("id"),
		store.RecipientFilter{Status: steeple.RecipientStatus(q.Get("status")), After: q.Get("cursor"), Limit: limit})
	respond(s, w, r, http.StatusOK, map[string]any{"recipients": rows, "next_cursor": next}, err)
}

// messageRecipientsCSV downloads every recipient (of one status, if
// given). Like every answer it is built in memory and sent after the
// church's handle is released.
func (s *Server) messageRecipientsCSV(w http.ResponseWriter, r *http.Request, c *caller) {
	b, err := s.deps.Messaging.RecipientsCSV(r.Context(), c.h, r.PathValue("id"), steeple.RecipientStatus(r.URL.Query().Get("status")))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="recipients.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
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
			schedule.Message{BroadcastRequest: req.BroadcastRequest, Urgent: req.Urgent}, at)
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
