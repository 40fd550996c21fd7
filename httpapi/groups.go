package httpapi

import (
	"net/http"

	"github.com/steeple-sms/steeple/members"
)

func (s *Server) routeGroups() {
	s.mux.HandleFunc("GET /api/v1/groups", s.authed(s.listGroups))
	s.mux.HandleFunc("POST /api/v1/groups", s.authed(s.createGroup))
	s.mux.HandleFunc("GET /api/v1/groups/{id}", s.authed(s.getGroup))
	s.mux.HandleFunc("PATCH /api/v1/groups/{id}", s.authed(s.renameGroup))
	s.mux.HandleFunc("DELETE /api/v1/groups/{id}", s.authed(s.deleteGroup))
	s.mux.HandleFunc("GET /api/v1/groups/{id}/members", s.authed(s.groupMembers))
	s.mux.HandleFunc("POST /api/v1/groups/{id}/members", s.authed(s.addGroupMembers))
	s.mux.HandleFunc("DELETE /api/v1/groups/{id}/members/{member_id}", s.authed(s.removeGroupMember))
	s.routeTemplateTools()
	s.mux.HandleFunc("GET /api/v1/templates", s.authed(s.listTemplates))
	s.mux.HandleFunc("POST /api/v1/templates", s.authed(s.createTemplate))
	s.mux.HandleFunc("GET /api/v1/templates/{id}", s.authed(s.getTemplate))
	s.mux.HandleFunc("PUT /api/v1/templates/{id}", s.authed(s.updateTemplate))
	s.mux.HandleFunc("DELETE /api/v1/templates/{id}", s.authed(s.deleteTemplate))
}

type nameRequest struct {
	Name string `json:"name"`
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request, c *caller) {
	gs, err := s.deps.Members.Groups(r.Context(), c.h)
	respond(s, w, r, http.StatusOK, map[string]any{"groups": gs}, err)
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request, c *caller) {
	var req nameRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	g, err := s.deps.Members.CreateGroup(r.Context(), c.h, req.Name)
	respond(s, w, r, http.StatusCreated, g, err)
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request, c *caller) {
	g, err := s.deps.Members.Group(r.Context(), c.h, r.PathValue("id"))
	respond(s, w, r, http.StatusOK, g, err)
}

func (s *Server) renameGroup(w http.ResponseWriter, r *http.Request, c *caller) {
	var req nameRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	g, err := s.deps.Members.RenameGroup(r.Context(), c.h, r.PathValue("id"), req.Name)
	respond(s, w, r, http.StatusOK, g, err)
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request, c *caller) {
	respond(s, w, r, http.StatusNoContent, nil, s.deps.Members.DeleteGroup(r.Context(), c.h, r.PathValue("id")))
}

func (s *Server) groupMembers(w http.ResponseWriter, r *http.Request, c *caller) {
	ms, err := s.deps.Members.GroupMembers(r.Context(), c.h, r.PathValue("id"))
	respond(s, w, r, http.StatusOK, map[string]any{"members": ms}, err)
}

func (s *Server) addGroupMembers(w http.ResponseWriter, r *http.Request, c *caller) {
	var req struct {
		MemberIDs []string `json:"member_ids"`
	}
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	respond(s, w, r, http.StatusNoContent, nil, s.deps.Members.AddToGroup(r.Context(), c.h, r.PathValue("id"), req.MemberIDs))
}

func (s *Server) removeGroupMember(w http.ResponseWriter, r *http.Request, c *caller) {
	err := s.deps.Members.RemoveFromGroup(r.Context(), c.h, r.PathValue("id"), []string{r.PathValue("member_id")})
	respond(s, w, r, http.StatusNoContent, nil, err)
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request, c *caller) {
	ts, err := s.deps.Members.Templates(r.Context(), c.h)
	respond(s, w, r, http.StatusOK, map[string]any{"templates": ts}, err)
}

func (s *Server) createTemplate(w http.ResponseWriter, r *http.Request, c *caller) {
	var req members.TemplateRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := s.deps.Members.CreateTemplate(r.Context(), c.h, req)
	respond(s, w, r, http.StatusCreated, t, err)
}

func (s *Server) getTemplate(w http.ResponseWriter, r *http.Request, c *caller) {
	t, err := s.deps.Members.Template(r.Context(), c.h, r.PathValue("id"))
	respond(s, w, r, http.StatusOK, t, err)
}

func (s *Server) updateTemplate(w http.ResponseWriter, r *http.Request, c *caller) {
	var req members.TemplateRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := s.deps.Members.UpdateTemplate(r.Context(), c.h, r.PathValue("id"), req)
	respond(s, w, r, http.StatusOK, t, err)
}

func (s *Server) deleteTemplate(w http.ResponseWriter, r *http.Request, c *caller) {
	respond(s, w, r, http.StatusNoContent, nil, s.deps.Members.DeleteTemplate(r.Context(), c.h, r.PathValue("id")))
}

// respond writes v with status, or err through the error mapping.
func respond(s *Server, w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	switch {
	case err != nil:
		s.fail(w, r, err)
	case status == http.StatusNoContent:
		w.WriteHeader(status)
	default:
		writeJSON(w, status, v)
	}
}
