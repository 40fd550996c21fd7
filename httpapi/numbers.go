package httpapi

import (
	"net/http"
	"sync"

	"github.com/steeple-sms/steeple/numbers"
)

func (s *Server) routeNumbers() {
	s.mux.HandleFunc("GET /api/v1/numbers/available", s.authed(s.manager(s.availableNumbers)))
	s.mux.HandleFunc("GET /api/v1/numbers", s.authed(s.manager(s.listNumbers)))
	s.mux.HandleFunc("POST /api/v1/numbers", s.authed(s.manager(s.orderNumber)))
	s.mux.HandleFunc("DELETE /api/v1/numbers/{number}", s.authed(s.manager(s.releaseNumber)))
	s.mux.HandleFunc("POST /api/v1/numbers/{number}/restore", s.authed(s.manager(s.restoreNumber)))
}

func (s *Server) availableNumbers(w http.ResponseWriter, r *http.Request, c *caller) {
	q := r.URL.Query()
	ns, err := s.deps.Numbers.Search(r.Context(), numbers.AvailableQuery{AreaCode: q.Get("area_code"), Locality: q.Get("locality"),
		Contains: q.Get("contains")})
	respond(s, w, r, http.StatusOK, map[string]any{"numbers": ns}, err)
}

func (s *Server) listNumbers(w http.ResponseWriter, r *http.Request, c *caller) {
	ns, err := s.deps.Numbers.List(r.Context(), c.h.TenantID())
	respond(s, w, r, http.StatusOK, ns, err)
}

func (s *Server) orderNumber(w http.ResponseWriter, r *http.Request, c *caller) {
	var req struct {
		Number string `json:"number"`
	}
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	// The check and the order are one step per church in this process, so
	// two orders at once cannot both pass the one-number limit.
	mu, _ := s.orderLocks.LoadOrStore(c.h.TenantID(), &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	if err := s.deps.Auth.CheckNumberOrder(r.Context(), c.h); err != nil {
		s.fail(w, r, err)
		return
	}
	o, err := s.deps.Numbers.OrderAs(r.Context(), c.h, numbers.Actor{AdminID: c.admin.ID, IP: clientIP(r)}, req.Number)
	respond(s, w, r, http.StatusAccepted, map[string]any{"order": o}, err)
}

func (s *Server) releaseNumber(w http.ResponseWriter, r *http.Request, c *caller) {
	n, err := s.deps.Numbers.ReleaseAs(r.Context(), c.h, numbers.Actor{AdminID: c.admin.ID, IP: clientIP(r)}, r.PathValue("number"))
	respond(s, w, r, http.StatusOK, n, err)
}

func (s *Server) restoreNumber(w http.ResponseWriter, r *http.Request, c *caller) {
	n, err := s.deps.Numbers.RestoreAs(r.Context(), c.h, numbers.Actor{AdminID: c.admin.ID, IP: clientIP(r)}, r.PathValue("number"))
	respond(s, w, r, http.StatusOK, n, err)
}
