package httpapi

import (
	"net/http"

	"github.com/steeple-sms/steeple/auth"
)

func (s *Server) routeChurch() {
	s.mux.HandleFunc("PUT /api/v1/church", s.authed(s.updateChurch))
}

// updateChurch renames the church or changes its timezone ({"name","timezone"}).
func (s *Server) updateChurch(w http.ResponseWriter, r *http.Request, c *caller) {
	var req auth.ChurchProfile
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := s.deps.Auth.UpdateChurch(r.Context(), c.h, c.admin, req, clientIP(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": t.ID, "name": t.Name, "timezone": t.Timezone})
}
