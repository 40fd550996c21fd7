package httpapi

import (
	"net/http"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/schedule"
)

func (s *Server) routeSchedules() {
	s.mux.HandleFunc("GET /api/v1/messages/scheduled", s.authed(s.listSchedules(steeple.ScheduleOnce)))
	s.mux.HandleFunc("PATCH /api/v1/messages/scheduled/{id}", s.authed(s.updateScheduled))
	s.mux.HandleFunc("DELETE /api/v1/messages/scheduled/{id}", s.authed(s.cancelScheduled))
	s.mux.HandleFunc("GET /api/v1/recurring", s.authed(s.listSchedules(steeple.ScheduleRecurring)))
	s.mux.HandleFunc("POST /api/v1/recurring", s.authed(s.createRecurring))
	s.mux.HandleFunc("GET /api/v1/recurring/{id}", s.authed(s.getRecurring))
	s.mux.HandleFunc("PATCH /api/v1/recurring/{id}", s.authed(s.updateRecurring))
	s.mux.HandleFunc("POST /api/v1/recurring/{id}/pause", s.authed(s.pauseRecurring))
	s.mux.HandleFunc("POST /api/v1/recurring/{id}/resume", s.authed(s.resumeRecurring))
	s.mux.HandleFunc("DELETE /api/v1/recurring/{id}", s.authed(s.deleteRecurring))
}

func (s *Server) listSchedules(kind steeple.ScheduleKind) func(http.ResponseWriter, *http.Request, *caller) {
	return func(w http.ResponseWriter, r *http.Request, c *caller) {
		vs, err := s.deps.Schedules.List(r.Context(), c.h, kind)
		key := "scheduled"
		if kind == steeple.ScheduleRecurring {
			key = "recurring"
		}
		respond(s, w, r, http.StatusOK, map[string]any{key: vs}, err)
	}
}

func (s *Server) updateScheduled(w http.ResponseWriter, r *http.Request, c *caller) {
	var req schedule.ScheduledUpdate
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.deps.Schedules.UpdateScheduled(r.Context(), c.h, r.PathValue("id"), req)
	respond(s, w, r, http.StatusOK, v, err)
}

func (s *Server) cancelScheduled(w http.ResponseWriter, r *http.Request, c *caller) {
	err := s.deps.Schedules.CancelScheduled(r.Context(), c.h, r.PathValue("id"))
	respond(s, w, r, http.StatusNoContent, nil, err)
}

func (s *Server) createRecurring(w http.ResponseWriter, r *http.Request, c *caller) {
	if !s.gateOpen(w, r, c) {
		return
	}
	var req schedule.RecurringInput
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.deps.Schedules.CreateRecurring(r.Context(), c.h, c.admin, req)
	respond(s, w, r, http.StatusCreated, v, err)
}

func (s *Server) getRecurring(w http.ResponseWriter, r *http.Request, c *caller) {
	v, err := s.deps.Schedules.Recurring(r.Context(), c.h, r.PathValue("id"))
	respond(s, w, r, http.StatusOK, v, err)
}

func (s *Server) updateRecurring(w http.ResponseWriter, r *http.Request, c *caller) {
	var req schedule.RecurringUpdate
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.deps.Schedules.UpdateRecurring(r.Context(), c.h, r.PathValue("id"), req)
	respond(s, w, r, http.StatusOK, v, err)
}

func (s *Server) pauseRecurring(w http.ResponseWriter, r *http.Request, c *caller) {
	v, err := s.deps.Schedules.PauseRecurring(r.Context(), c.h, r.PathValue("id"))
	respond(s, w, r, http.StatusOK, v, err)
}

func (s *Server) resumeRecurring(w http.ResponseWriter, r *http.Request, c *caller) {
	v, err := s.deps.Schedules.ResumeRecurring(r.Context(), c.h, r.PathValue("id"))
	respond(s, w, r, http.StatusOK, v, err)
}

func (s *Server) deleteRecurring(w http.ResponseWriter, r *http.Request, c *caller) {
	err := s.deps.Schedules.DeleteRecurring(r.Context(), c.h, r.PathValue("id"))
	respond(s, w, r, http.StatusNoContent, nil, err)
}
