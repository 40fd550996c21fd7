package web

import (
	"net/http"
	"strconv"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
)

func (h *Handler) routeBroadcast() {
	h.mux.HandleFunc("GET /messages/{id}", h.authed(h.broadcast))
}

// broadcastData is one broadcast's delivery summary.
type broadcastData struct {
	B      *store.Broadcast
	Counts []statusCount
}

type statusCount struct {
	Status string
	N      int
}

// broadcast shows where one broadcast's texts went. Another church's id,
// like an id that does not exist, is a 404 page.
func (h *Handler) broadcast(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	v.TitleID = "broadcast.title"
	id := r.PathValue("id")
	if !steeple.ValidID(id) {
		h.fail(w, r, v, errNotFound)
		return
	}
	b, _, err := h.deps.Messaging.Get(r.Context(), s.h, id)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d := broadcastData{B: b}
	for _, st := range []string{"queued", "sending", "sent", "delivered", "failed", "skipped"} {
		d.Counts = append(d.Counts, statusCount{st, b.Counts[st]})
	}
	v.Data = d
	h.render(w, r, http.StatusOK, "broadcast", v)
}

func trimFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
