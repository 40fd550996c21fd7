package web

import (
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/steeple-sms/steeple/inbox"
	"github.com/steeple-sms/steeple/store"
)

func (h *Handler) routeInbox() {
	h.mux.HandleFunc("GET /inbox", h.authed(h.inboxPage))
	h.mux.HandleFunc("GET /inbox/live", h.authed(h.inboxLive))
	h.routeConversation()
	h.routePretendPhone()
}

// inboxPageSize is how many conversations the inbox lists at once.
const inboxPageSize = 50

// inboxTabs are the inbox's filters in the order the page offers them;
// "open" (every open conversation, those needing someone first) is the
// default.
var inboxTabs = []store.ConversationFilter{store.FilterOpen, store.FilterNeedsReply, store.FilterUnread,
	store.FilterFlagged, store.FilterOptedOut, store.FilterClosed}

// inboxData is the inbox page: filter tabs, search, and the live list.
type inboxData struct {
	Filter string
	Q      string
	Tabs   []store.ConversationFilter
	Live   inboxLiveData
	Phone  *pretendPhoneData // the pretend phone, only on the simulator
	Done   string
}

// inboxLiveData is the polled part of the inbox: the rows and how to ask
// for them again.
type inboxLiveData struct {
	Rows []*store.Conversation
	Next string // the next page's URL ("" on the last)
	// URL is the fragment's own URL with the version it shows; Poll its
	// hx-trigger.
	URL  string
	Poll string
}

// TabURL is the inbox with one filter (and the search kept).
func (d inboxData) TabURL(f store.ConversationFilter) string {
	return withQuery("/inbox", "filter", tabValue(f), "q", d.Q)
}

// tabValue is how a filter is written in the inbox's URL ("" for the default).
func tabValue(f store.ConversationFilter) string {
	if f == store.FilterOpen {
		return ""
	}
	return string(f)
}

// inboxQuery reads the filter, search and page of an inbox request; an
// unknown filter shows the default list rather than an error page.
func inboxQuery(r *http.Request) inbox.ListQuery {
	q := r.URL.Query()
	lq := inbox.ListQuery{Filter: q.Get("filter"), Search: strings.TrimSpace(q.Get("q")), Cursor: q.Get("cursor"), Limit: inboxPageSize}
	known := lq.Filter == ""
	for _, f := range store.ConversationFilters {
		known = known || string(f) == lq.Filter
	}
	if !known {
		lq.Filter = ""
	}
	if r := []rune(lq.Search); len(r) > 100 {
		lq.Search = string(r[:100])
	}
	return lq
}

func (h *Handler) inboxPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	v.TitleID = "inbox.title"
	lq := inboxQuery(r)
	d := inboxData{Filter: lq.Filter, Q: lq.Search, Tabs: inboxTabs}
	if r.URL.Query().Get("done") == "unread" {
		d.Done = "inbox.done.unread"
	}
	v.Form.Values["q"] = lq.Search
	live, err := h.inboxList(r, s, lq, "", h.deps.Now())
	if err != nil {
		if h.formError(v, err, "q") {
			// A search that is neither a name nor a phone: said beside the box.
			v.Data = d
			h.render(w, r, http.StatusBadRequest, "inbox", v)
			return
		}
		h.fail(w, r, v, err)
		return
	}
	d.Live = *live
	d.Phone = h.pretendPhone(r, s)
	v.Data = d
	h.render(w, r, http.StatusOK, "inbox", v)
}

// inboxList reads one page of the inbox and the version it shows.
func (h *Handler) inboxList(r *http.Request, s *session, lq inbox.ListQuery, version string, since time.Time) (*inboxLiveData, error) {
	ctx := r.Context()
	if version == "" {
		ver, err := h.deps.Store.InboxVersion(ctx, s.h)
		if err != nil {
			return nil, err
		}
		version = shortHash(ver)
	}
	rows, next, err := h.deps.Inbox.List(ctx, s.h, lq)
	if err != nil {
		return nil, err
	}
	s.view.region = h.phoneRegion(ctx, s.h)
	d := &inboxLiveData{Rows: rows}
	if next != "" {
		d.Next = withQuery("/inbox", "filter", lq.Filter, "q", lq.Search, "cursor", next)
	}
	every := livePollSeconds(h.deps.Now().Sub(since))
	d.URL = liveURL("/inbox/live", version, since, every, "filter", lq.Filter, "q", lq.Search, "cursor", lq.Cursor)
	d.Poll = "every " + strconv.Itoa(every) + "s"
	return d, nil
}

// inboxLive is the inbox's polled fragment. It answers 204 (htmx leaves
// the list alone) while nothing changed: one aggregate query besides the
// session's own. The church's handle is held only for this request.
func (h *Handler) inboxLive(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	ver, err := h.deps.Store.InboxVersion(r.Context(), s.h)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	version := shortHash(ver)
	since, unchanged := pollState(r, version, h.deps.Now())
	if unchanged {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	live, err := h.inboxList(r, s, inboxQuery(r), version, since)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	v.Data = inboxData{Live: *live}
	h.renderFragment(w, http.StatusOK, "inbox", "inbox-live", v)
}

// livePollSeconds is how often an open inbox or thread asks for changes:
// every second while texts are coming in, every 2 s after a quiet minute,
// so a new text still shows within 2 s. Hidden tabs do not poll (app.js).
func livePollSeconds(idle time.Duration) int {
	if idle < time.Minute {
		return 1
	}
	return 2
}

// pollState reads a polled fragment's URL: since is when what it shows
// last changed (now if it changed since), and unchanged says nothing
// changed and the polling pace stays the same, so a 204 will do.
func pollState(r *http.Request, version string, now time.Time) (since time.Time, unchanged bool) {
	q := r.URL.Query()
	if q.Get("v") != version {
		return now, false
	}
	secs, err := strconv.ParseInt(q.Get("since"), 10, 64)
	if err != nil {
		return now, false
	}
	since = time.Unix(secs, 0)
	return since, strconv.Itoa(livePollSeconds(now.Sub(since))) == q.Get("every")
}

// liveURL is a polled fragment's URL: its path and parameters with the
// version shown, when it last changed and how often it polls.
func liveURL(path, version string, since time.Time, every int, kv ...string) string {
	kv = append(kv, "v", version, "since", strconv.FormatInt(since.Unix(), 10), "every", strconv.Itoa(every))
	return withQuery(path, kv...)
}

// shortHash keeps a version token short and URL-safe.
func shortHash(s string) string {
	f := fnv.New64a()
	_, _ = f.Write([]byte(s))
	return strconv.FormatUint(f.Sum64(), 36)
}

// Contact names a conversation's contact: the member's name, or the
// phone in the church's format for an unknown contact.
func (v *view) Contact(c *store.Conversation) string {
	if c.Member != nil {
		if n := strings.TrimSpace(c.Member.FirstName + " " + c.Member.LastName); n != "" {
			return n
		}
	}
	return v.Phone(c.Phone)
}
