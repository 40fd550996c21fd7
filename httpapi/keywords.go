package httpapi

import (
	"net/http"

	"github.com/steeple-sms/steeple/inbox"
)

func (s *Server) routeKeywords() {
	s.mux.HandleFunc("GET /api/v1/keywords", s.authed(s.listKeywords))
	s.mux.HandleFunc("POST /api/v1/keywords", s.authed(s.createKeyword))
	s.mux.HandleFunc("GET /api/v1/keywords/{id}", s.authed(s.getKeyword))
	s.mux.HandleFunc("PUT /api/v1/keywords/{id}", s.authed(s.updateKeyword))
	s.mux.HandleFunc("DELETE /api/v1/keywords/{id}", s.authed(s.deleteKeyword))
}

func (s *Server) listKeywords(w http.ResponseWriter, r *http.Request, c *caller) {
	ks, err := s.deps.Inbox.Keywords(r.Context(), c.h)
	respond(s, w, r, http.StatusOK, map[string]any{"keywords": ks}, err)
}

func (s *Server) createKeyword(w http.ResponseWriter, r *http.Request, c *caller) {
	var req inbox.KeywordRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	k, err := s.deps.Inbox.CreateKeyword(r.Context(), c.h, c.admin, req, clientIP(r))
	respond(s, w, r, http.StatusCreated, k, err)
}

func (s *Server) getKeyword(w http.ResponseWriter, r *http.Request, c *caller) {
	k, err := s.deps.Inbox.Keyword(r.Context(), c.h, r.PathValue("id"))
	respond(s, w, r, http.StatusOK, k, err)
}

func (s *Server) updateKeyword(w http.ResponseWriter, r *http.Request, c *caller) {
	var req inbox.KeywordRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	k, err := s.deps.Inbox.UpdateKeyword(r.Context(), c.h, c.admin, r.PathValue("id"), req, clientIP(r))
	respond(s, w, r, http.StatusOK, k, err)
}

func (s *Server) deleteKeyword(w http.ResponseWriter, r *http.Request, c *caller) {
	err := s.deps.Inbox.DeleteKeyword(r.Context(), c.h, c.admin, r.PathValue("id"), clientIP(r))
	respond(s, w, r, http.StatusNoContent, nil, err)
}
