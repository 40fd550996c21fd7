package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
)

func (h *Handler) routeBroadcast() {
	h.mux.HandleFunc("GET /messages/{id}", h.authed(h.broadcast))
	h.mux.HandleFunc("GET /messages/{id}/progress", h.authed(h.broadcastProgress))
	h.mux.HandleFunc("GET /messages/{id}/recipients.csv", h.authed(h.broadcastCSV))
	h.mux.HandleFunc("POST /messages/{id}/stop", h.authed(h.broadcastStop))
	h.mux.HandleFunc("GET /messages/{id}/duplicate", h.authed(h.broadcastDuplicate))
}

// broadcastStop stops sending, after asking: texts not yet handed to the
// carriers are skipped ("stopped by <admin>"). The page comes back once no
// process will hand another of its texts to the provider.
func (h *Handler) broadcastStop(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	id := r.PathValue("id")
	b, err := h.deps.Store.Broadcast(r.Context(), s.h, id)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		waiting := b.Counts[steeple.RecipientQueued] + b.Counts[steeple.RecipientSending]
		h.confirm(w, r, v, v.T("broadcast.stop.question", "Count", waiting, "N", v.Num(waiting)),
			v.T("broadcast.stop.button"), "/messages/"+id)
		return
	}
	actor, r := actorContext(r, s)
	if _, err := h.deps.Messaging.Stop(r.Context(), s.h, s.admin, actor.IP, id); err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/messages/"+id, http.StatusSeeOther)
}

// broadcastDuplicate opens the compose page filled with what a broadcast
// asked for (text, image, audience); nothing is created until it is sent.
func (h *Handler) broadcastDuplicate(w http.ResponseWriter, r *http.Request, s *session) {
	req, err := h.deps.Messaging.Duplicate(r.Context(), s.h, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, s.view, err)
		return
	}
	q := url.Values{"body": {req.Text}, "audience": {"all"}}
	switch {
	case len(req.Audience.GroupIDs) > 0:
		q.Set("audience", "groups")
		q["group_id"] = req.Audience.GroupIDs
	case len(req.Audience.MemberIDs) > 0:
		q.Set("audience", "members")
		q["member_id"] = req.Audience.MemberIDs
	}
	if len(req.MediaIDs) > 0 {
		q.Set("media_id", req.MediaIDs[0])
	}
	http.Redirect(w, r, "/messages/new?"+q.Encode(), http.StatusSeeOther)
}

// recipientPage is how many recipients the broadcast page lists at once.
const recipientPage = 50

// replyLimit is how many replies the broadcast page shows.
const replyLimit = 10

// broadcastData is one broadcast's page: progress, funnel, failures by
// reason, recipients and replies.
type broadcastData struct {
	B            *store.Broadcast
	Progress     progressData
	Funnel       []funnelRow
	Reasons      []reasonRow
	Recipients   []recipientRow
	Filter       steeple.RecipientStatus
	Statuses     []steeple.RecipientStatus
	Next         string // the next page of recipients ("" on the last)
	Replies      []store.BroadcastReply
	RepliesTotal int
	CanStop      bool   // texts still wait and the broadcast was not stopped
	StoppedBy    string // the name of the admin who stopped it ("" if unknown)
}

// progressData is the live progress fragment. Poll is its hx-trigger; ""
// once nothing is left to send, so the fragment stops polling.
type progressData struct {
	ID      string
	Total   int
	Handled int // texts no longer waiting: sent, delivered, failed, skipped
	Waiting int // queued or being sent
	Pct     int
	Done    bool
	Poll    string
	Counts  map[steeple.RecipientStatus]int
}

// funnelRow is one bar of the delivery funnel (and one row of its table).
type funnelRow struct {
	TextID string
	Class  string
	N      int
	Pct    float64 // of all texts, for the bar's width
	Y      int     // the bar's position in the drawing
}

// reasonRow is one reason texts failed or were skipped, in plain words.
type reasonRow struct {
	Key string // message ids reason.<key>.what and reason.<key>.todo
	N   int
}

// recipientRow is one recipient as the page lists them.
type recipientRow struct {
	MemberID string
	Name     string
	Phone    string
	Status   steeple.RecipientStatus
	Reason   string // the reason key when failed or skipped
	At       *time.Time
}

// broadcast shows where one broadcast's texts went. Another church's id,
// like an id that does not exist, is a 404 page.
func (h *Handler) broadcast(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	v := s.view
	v.TitleID = "broadcast.title"
	id := r.PathValue("id")
	filter := steeple.RecipientStatus(r.URL.Query().Get("status"))
	if filter != "" && !filter.Valid() {
		filter = ""
	}
	b, err := h.deps.Store.Broadcast(ctx, s.h, id)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d := broadcastData{B: b, Filter: filter, Statuses: steeple.RecipientStatuses()}
	d.Progress = h.progress(b)
	d.Funnel = funnel(b)
	d.CanStop = !d.Progress.Done && b.StoppedAt == nil
	if b.StoppedAt != nil && b.StoppedBy != "" {
		a, err := h.deps.Store.Admin(ctx, s.h, b.StoppedBy)
		switch {
		case err == nil:
			d.StoppedBy = a.Name
		case steeple.ErrorCode(err) != steeple.ENOTFOUND: // an admin removed since is not named
			h.fail(w, r, v, err)
			return
		}
	}
	outs, err := h.deps.Store.BroadcastOutcomes(ctx, s.h, id)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d.Reasons = reasons(outs)
	d.Recipients, d.Next, err = h.recipients(r, s, id, filter, r.URL.Query().Get("after"), recipientPage)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	v.region = h.phoneRegion(ctx, s.h)
	d.Replies, d.RepliesTotal, err = h.deps.Store.BroadcastReplies(ctx, s.h, id, b.CreatedAt, replyLimit)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	v.Data = d
	h.render(w, r, http.StatusOK, "broadcast", v)
}

// broadcastProgress is the polled fragment: one broadcast's counts, two
// small queries on the church's database.
func (h *Handler) broadcastProgress(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	v.TitleID = "broadcast.title"
	b, err := h.deps.Store.Broadcast(r.Context(), s.h, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d := broadcastData{B: b, Progress: h.progress(b), Funnel: funnel(b)}
	if d.Progress.Done && isHTMX(r) {
		// The page was polling: reload it once so its failures, recipients
		// and replies show the finished broadcast. It comes back without
		// the trigger, so polling stops.
		w.Header().Set("HX-Refresh", "true")
	}
	v.Data = d
	h.renderFragment(w, http.StatusOK, "broadcast", "progress", v)
}

// progress summarises a broadcast's counts and chooses how often to poll:
// every 2 s at first, less often as the work ages, not at all once done.
func (h *Handler) progress(b *store.Broadcast) progressData {
	p := progressData{ID: b.ID, Total: b.Recipients, Counts: b.Counts}
	p.Waiting = b.Counts[steeple.RecipientQueued] + b.Counts[steeple.RecipientSending]
	p.Handled = b.Recipients - p.Waiting
	if b.Recipients > 0 {
		p.Pct = p.Handled * 100 / b.Recipients
	}
	p.Done = p.Waiting == 0
	if !p.Done {
		p.Poll = fmt.Sprintf("every %ds [document.visibilityState=='visible']", pollSeconds(h.deps.Now().Sub(b.CreatedAt)))
	}
	return p
}

// pollSeconds is how often the progress fragment polls for work of an age.
func pollSeconds(age time.Duration) int {
	switch {
	case age < 2*time.Minute:
		return 2
	case age < 10*time.Minute:
		return 5
	case age < time.Hour:
		return 15
	}
	return 60
}

// funnel is the delivery funnel: all texts, handed to the carrier,
// delivered; beside them failed, skipped and still waiting.
func funnel(b *store.Broadcast) []funnelRow {
	c := b.Counts
	rows := []funnelRow{
		{TextID: "funnel.queued", Class: "bar-all", N: b.Recipients},
		{TextID: "funnel.sent", Class: "bar-sent", N: c[steeple.RecipientSent] + c[steeple.RecipientDelivered]},
		{TextID: "funnel.delivered", Class: "bar-ok", N: c[steeple.RecipientDelivered]},
		{TextID: "funnel.failed", Class: "bar-bad", N: c[steeple.RecipientFailed]},
		{TextID: "funnel.skipped", Class: "bar-skip", N: c[steeple.RecipientSkipped]},
		{TextID: "funnel.waiting", Class: "bar-wait", N: c[steeple.RecipientQueued] + c[steeple.RecipientSending]},
	}
	for i := range rows {
		if b.Recipients > 0 {
			rows[i].Pct = float64(rows[i].N*1000/b.Recipients) / 10
		}
		rows[i].Y = i * funnelStep
	}
	return rows
}

// funnelStep is the height of one funnel bar with its label, in pixels.
const funnelStep = 44

// FunnelHeight is the funnel drawing's height in pixels.
func (d broadcastData) FunnelHeight() int { return len(d.Funnel) * funnelStep }

// reasonOf sorts one failed or skipped outcome into a plain-language
// reason, from the provider's error code (see TELNYX.md) or the detail
// Steeple recorded.
func reasonOf(status steeple.RecipientStatus, code, detail string) string {
	switch code {
	case "40310", "40001":
		return "landline"
	case "40002", "40003", "40004", "40322":
		return "blocked"
	case "40300":
		return "carrier_optout"
	case "40005", "40006", "40008":
		return "unreachable"
	case "40010":
		return "unregistered"
	case "40333":
		return "spend_limit"
	}
	switch {
	case strings.HasPrefix(detail, "stopped by"):
		return "stopped"
	case strings.HasPrefix(detail, "member opted out"):
		return "opted_out"
	case strings.HasPrefix(detail, "opted out at the provider"):
		return "carrier_optout"
	case strings.HasPrefix(detail, "invalid number"):
		return "landline"
	case strings.HasPrefix(detail, "the church has no number"):
		return "no_number"
	case strings.HasPrefix(detail, "provider kept failing"):
		return "provider"
	}
	if status == steeple.RecipientSkipped {
		return "opted_out"
	}
	return "other"
}

// reasons groups failed and skipped texts by reason, most first.
func reasons(outs []store.OutcomeCount) []reasonRow {
	idx := map[string]int{}
	var rows []reasonRow
	for _, o := range outs {
		k := reasonOf(o.Status, o.ErrorCode, o.ErrorDetail)
		if i, ok := idx[k]; ok {
			rows[i].N += o.N
			continue
		}
		idx[k] = len(rows)
		rows = append(rows, reasonRow{Key: k, N: o.N})
	}
	for i := 1; i < len(rows); i++ {
		for j := i; j > 0 && rows[j-1].N < rows[j].N; j-- {
			rows[j-1], rows[j] = rows[j], rows[j-1]
		}
	}
	return rows
}

// recipients lists a page of a broadcast's recipients (name and phone)
// of one status ("": all) after a member id, and the next page's cursor.
func (h *Handler) recipients(r *http.Request, s *session, id string, status steeple.RecipientStatus, after string, limit int) ([]recipientRow, string, error) {
	rs, next, err := h.deps.Messaging.Recipients(r.Context(), s.h, id, store.RecipientFilter{Status: status, After: after, Limit: limit})
	if err != nil {
		return nil, "", err
	}
	out := make([]recipientRow, 0, len(rs))
	for _, x := range rs {
		row := recipientRow{MemberID: x.MemberID, Name: strings.TrimSpace(x.FirstName + " " + x.LastName), Phone: x.Phone,
			Status: x.Status, At: x.FinishedAt}
		if row.At == nil {
			row.At = x.SentAt
		}
		if x.Status == steeple.RecipientFailed || x.Status == steeple.RecipientSkipped {
			row.Reason = reasonOf(x.Status, x.ErrorCode, x.ErrorDetail)
		}
		out = append(out, row)
	}
	return out, next, nil
}

// broadcastCSV downloads the recipients (of one status, if asked). The
// answer is buffered and written after the church's handle is released.
func (h *Handler) broadcastCSV(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	status := steeple.RecipientStatus(r.URL.Query().Get("status"))
	if status != "" {
		if _, err := steeple.ParseRecipientStatus(string(status)); err != nil {
			h.fail(w, r, v, err)
			return
		}
	}
	id := r.PathValue("id")
	if _, err := h.deps.Store.Broadcast(r.Context(), s.h, id); err != nil {
		h.fail(w, r, v, err)
		return
	}
	body, err := h.deps.Messaging.RecipientsCSV(r.Context(), s.h, id, status)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/csv; charset=utf-8")
	hd.Set("Content-Disposition", `attachment; filename="recipients-`+id+`.csv"`)
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

func trimFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// statusCount is a status (or reason) with how many it counts.
type statusCount struct {
	Status string
	N      int
}
