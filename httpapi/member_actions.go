package httpapi

import (
	"context"
	"net/http"

	"github.com/steeple-sms/steeple/members"
)

// routeMemberActions: partial update, consent, bulk actions.
func (s *Server) routeMemberActions() {
	s.mux.HandleFunc("PATCH /api/v1/members/{id}", s.authed(s.patchMember))
	// One pattern for /members/{id}/consent and /members/imports/{id}: the
	// two overlap (/members/imports/consent), which ServeMux refuses.
	s.mux.HandleFunc("GET /api/v1/members/{id}/{action}", s.authed(s.memberPair(s.memberConsent, s.getImport)))
	s.mux.HandleFunc("POST /api/v1/members/{id}/{action}", s.authed(s.memberPair(s.recordConsent, s.runImport)))
	s.mux.HandleFunc("POST /api/v1/members/bulk", s.authed(s.bulkMembers))
}

// routeTemplateTools: the variables, inserting one, and a preview.
func (s *Server) routeTemplateTools() {
	s.mux.HandleFunc("GET /api/v1/templates/variables", s.authed(s.templateVariables))
	s.mux.HandleFunc("POST /api/v1/templates/insert-variable", s.authed(s.insertVariable))
	s.mux.HandleFunc("POST /api/v1/templates/preview", s.authed(s.previewTemplate))
}

// actor is the signed-in admin, for the audit log.
func actor(r *http.Request, c *caller) members.Actor {
	return members.Actor{AdminID: c.admin.ID, IP: clientIP(r)}
}

// actorContext carries the actor to member methods that audit through ctx.
func actorContext(r *http.Request, c *caller) context.Context {
	return members.WithActor(r.Context(), actor(r, c))
}

func (s *Server) patchMember(w http.ResponseWriter, r *http.Request, c *caller) {
	var req members.MemberPatch
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	m, err := s.deps.Members.Patch(actorContext(r, c), c.h, r.PathValue("id"), req)
	respond(s, w, r, http.StatusOK, m, err)
}

func (s *Server) memberConsent(w http.ResponseWriter, r *http.Request, c *caller) {
	m, err := s.deps.Members.Get(r.Context(), c.h, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	history, err := s.deps.Members.ConsentHistory(r.Context(), c.h, m.ID)
	respond(s, w, r, http.StatusOK, map[string]any{"consent": m.Consent, "history": history}, err)
}

func (s *Server) recordConsent(w http.ResponseWriter, r *http.Request, c *caller) {
	var req members.ConsentRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	m, err := s.deps.Members.RecordConsent(r.Context(), c.h, actor(r, c), r.PathValue("id"), req)
	respond(s, w, r, http.StatusOK, m, err)
}

func (s *Server) bulkMembers(w http.ResponseWriter, r *http.Request, c *caller) {
	var req members.BulkRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.deps.Members.Bulk(r.Context(), c.h, actor(r, c), req)
	respond(s, w, r, http.StatusOK, res, err)
}

func (s *Server) templateVariables(w http.ResponseWriter, r *http.Request, _ *caller) {
	writeJSON(w, http.StatusOK, map[string]any{"variables": members.Variables})
}

func (s *Server) insertVariable(w http.ResponseWriter, r *http.Request, _ *caller) {
	var req members.InsertVariableRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := members.InsertVariable(req)
	respond(s, w, r, http.StatusOK, out, err)
}

func (s *Server) previewTemplate(w http.ResponseWriter, r *http.Request, c *caller) {
	var req members.PreviewRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.deps.Members.PreviewTemplate(r.Context(), c.h, req)
	respond(s, w, r, http.StatusOK, p, err)
}

// memberPair routes /members/imports/{id} to imports and
// /members/{id}/consent to consent; anything else is not found.
func (s *Server) memberPair(consent, imports func(http.ResponseWriter, *http.Request, *caller)) func(http.ResponseWriter, *http.Request, *caller) {
	return func(w http.ResponseWriter, r *http.Request, c *caller) {
		switch {
		case r.PathValue("id") == "imports":
			r.SetPathValue("id", r.PathValue("action"))
			imports(w, r, c)
		case r.PathValue("action") == "consent":
			consent(w, r, c)
		default:
			http.NotFound(w, r)
		}
	}
}
