package web

import (
	"net/http"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/schedule"
	"github.com/steeple-sms/steeple/store"
)

func (h *Handler) routeMessages() {
	h.mux.HandleFunc("GET /messages", h.authed(h.messages))
}

// messagesShown is how many sent broadcasts the list shows.
const messagesShown = 50

// sentRow is one sent broadcast in the list.
type sentRow struct {
	ID         string
	Text       string
	CreatedAt  time.Time
	Recipients int
	Delivered  int
	Failed     int
	Skipped    int
	Waiting    int
	RatePct    int // delivered out of texts handed to the carrier
	Sent       int // handed to the carrier (sent, delivered or failed)
}

// laterRow is one scheduled or recurring message.
type laterRow struct {
	ID     string
	Name   string
	Text   string
	Status string
	NextAt *time.Time
	Rule   *schedule.Rule
}

// messagesData is the messages list with its tabs.
type messagesData struct {
	Tab   string
	Tabs  []string
	Sent  []sentRow
	Later []laterRow
}

// messages lists sent, scheduled and recurring messages, one tab each.
func (h *Handler) messages(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	v := s.view
	v.TitleID = "messages.title"
	d := messagesData{Tab: r.URL.Query().Get("tab"), Tabs: []string{"sent", "scheduled", "recurring"}}
	switch d.Tab {
	case "scheduled", "recurring":
		kind := steeple.ScheduleOnce
		if d.Tab == "recurring" {
			kind = steeple.ScheduleRecurring
		}
		if h.deps.Schedules != nil {
			vs, err := h.deps.Schedules.List(ctx, s.h, kind)
			if err != nil {
				h.fail(w, r, v, err)
				return
			}
			for _, x := range vs {
				row := laterRow{ID: x.ID, Name: x.Name, Text: x.Message.Text, Status: string(x.Status), NextAt: x.NextAt, Rule: x.Rule}
				if row.NextAt == nil && x.Status == steeple.ScheduleActive {
					row.NextAt = x.SendAt
				}
				d.Later = append(d.Later, row)
			}
		}
	default:
		d.Tab = "sent"
		bs, err := h.deps.Messaging.List(ctx, s.h, messagesShown)
		if err != nil {
			h.fail(w, r, v, err)
			return
		}
		for _, b := range bs { // counts come with the list, in one query
			d.Sent = append(d.Sent, sentRowOf(b))
		}
	}
	v.Data = d
	h.render(w, r, http.StatusOK, "messages", v)
}

func sentRowOf(b *store.Broadcast) sentRow {
	c := b.Counts
	row := sentRow{ID: b.ID, Text: b.Text, CreatedAt: b.CreatedAt, Recipients: b.Recipients,
		Delivered: c[steeple.RecipientDelivered], Failed: c[steeple.RecipientFailed], Skipped: c[steeple.RecipientSkipped],
		Waiting: c[steeple.RecipientQueued] + c[steeple.RecipientSending]}
	row.Sent = c[steeple.RecipientSent] + row.Delivered + row.Failed
	if row.Sent > 0 {
		row.RatePct = (row.Delivered*200 + row.Sent) / (2 * row.Sent) // rounded
	}
	return row
}
