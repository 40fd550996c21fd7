package web

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/members"
	"github.com/steeple-sms/steeple/store"
)

func (h *Handler) routeConversation() {
	h.mux.HandleFunc("GET /inbox/{id}", h.authed(h.conversationPage))
	h.mux.HandleFunc("GET /inbox/{id}/live", h.authed(h.conversationLive))
	h.mux.HandleFunc("POST /inbox/{id}/reply", h.authedCompose(h.conversationReply))
	h.mux.HandleFunc("POST /inbox/{id}/close", h.authed(h.conversationClose))
	h.mux.HandleFunc("POST /inbox/{id}/reopen", h.authed(h.conversationReopen))
	h.mux.HandleFunc("POST /inbox/{id}/unread", h.authed(h.conversationUnread))
	h.mux.HandleFunc("POST /inbox/{id}/assign", h.authed(h.conversationAssign))
	h.mux.HandleFunc("POST /inbox/{id}/opt-out", h.authed(h.conversationOptOut))
	h.mux.HandleFunc("POST /inbox/{id}/dismiss", h.authed(h.conversationDismiss))
	h.mux.HandleFunc("POST /inbox/{id}/member", h.authed(h.conversationMember))
}

// threadPageSize is how many texts a thread shows at once.
const threadPageSize = 50

// conversationData is one conversation's page: the live thread, and the
// forms around it.
type conversationData struct {
	C         *store.Conversation
	Live      threadLiveData
	Admins    []steeple.Admin
	Templates []templateChoice
	// Refusal is why nothing can be sent to the contact ("" when a reply
	// may be sent): the page shows it instead of the reply box.
	Refusal string
	Done    string
}

// templateChoice is a saved template offered in the reply box, already
// filled in for this contact.
type templateChoice struct {
	ID, Name, Text string
}

// threadLiveData is the polled part of a thread: the flag's buttons, the
// texts, and how to ask again.
type threadLiveData struct {
	C        *store.Conversation
	Messages []*store.ConversationMessage // oldest first, as a phone shows them
	Older    string                       // the URL of earlier texts ("" when none)
	URL      string
	Poll     string
}

// IsBroadcast says a thread entry is a broadcast the contact was sent.
func (threadLiveData) IsBroadcast(m *store.ConversationMessage) bool {
	return m.Purpose == store.PurposeBroadcast
}

// IsAutomatic says a thread entry is a text Steeple sent by itself (an
// answer to STOP, HELP, a keyword, a welcome text).
func (threadLiveData) IsAutomatic(m *store.ConversationMessage) bool {
	return m.Direction == store.DirectionOutbound && m.CreatedBy == store.CreatedBySystem
}

// conversationDone are the notices a conversation's page shows after an action.
var conversationDone = map[string]string{"sent": "thread.done.sent", "closed": "thread.done.closed",
	"reopened": "thread.done.reopened", "assigned": "thread.done.assigned", "opted_out": "thread.done.opted_out",
	"dismissed": "thread.done.dismissed", "member": "thread.done.member"}

func (h *Handler) conversationPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	v.TitleID = "thread.title"
	id := r.PathValue("id")
	c, err := h.deps.Store.Conversation(r.Context(), s.h, id)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	// Opening a conversation reads it.
	if c.Unread > 0 && r.URL.Query().Get("cursor") == "" {
		if c, err = h.deps.Inbox.MarkRead(r.Context(), s.h, id); err != nil {
			h.fail(w, r, v, err)
			return
		}
	}
	h.showConversation(w, r, s, c, http.StatusOK, conversationDone[r.URL.Query().Get("done")])
}

// showConversation renders a conversation's page (with the reply form as
// typed, when it comes back with an error).
func (h *Handler) showConversation(w http.ResponseWriter, r *http.Request, s *session, c *store.Conversation, status int, done string) {
	ctx := r.Context()
	v := s.view
	v.TitleID = "thread.title"
	live, err := h.threadLive(r, s, c, "", h.deps.Now())
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d := conversationData{C: c, Live: *live, Done: done}
	if err := h.deps.Store.ConversationTextable(ctx, s.h, c.ID); steeple.ErrorCode(err) == steeple.ECONFLICT {
		d.Refusal = steeple.ErrorMessage(err)
	} else if err != nil {
		h.fail(w, r, v, err)
		return
	}
	if d.Admins, err = h.deps.Store.Admins(ctx, s.h); err != nil {
		h.fail(w, r, v, err)
		return
	}
	ts, err := h.deps.Members.Templates(ctx, s.h)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	first := ""
	if c.Member != nil {
		first = c.Member.FirstName
	}
	for _, t := range ts {
		d.Templates = append(d.Templates, templateChoice{ID: t.ID, Name: t.Name, Text: members.Render(t.Body, first, v.Church)})
	}
	v.Data = d
	h.render(w, r, status, "conversation", v)
}

// threadLive reads the newest texts of a conversation (or those before the
// request's cursor) and the version they show.
func (h *Handler) threadLive(r *http.Request, s *session, c *store.Conversation, version string, since time.Time) (*threadLiveData, error) {
	ctx := r.Context()
	if version == "" {
		ver, err := h.deps.Store.ThreadVersion(ctx, s.h, c.ID)
		if err != nil {
			return nil, err
		}
		version = shortHash(ver)
	}
	cursor := r.URL.Query().Get("cursor")
	t, err := h.deps.Inbox.Get(ctx, s.h, c.ID, cursor, threadPageSize)
	if err != nil {
		return nil, err
	}
	s.view.region = h.phoneRegion(ctx, s.h)
	d := &threadLiveData{C: t.Conversation, Messages: t.Messages}
	slices.Reverse(d.Messages)
	if t.NextCursor != "" {
		d.Older = withQuery("/inbox/"+c.ID, "cursor", t.NextCursor)
	}
	every := livePollSeconds(h.deps.Now().Sub(since))
	d.URL = liveURL("/inbox/"+c.ID+"/live", version, since, every, "cursor", cursor, "o", optedOutMark(t.Conversation))
	d.Poll = "every " + strconv.Itoa(every) + "s"
	return d, nil
}

// optedOutMark is how a thread's URL remembers whether the page showed
// its contact as opted out: when that changes, the whole page reloads so
// the reply box comes or goes.
func optedOutMark(c *store.Conversation) string {
	if c.OptedOut {
		return "1"
	}
	return "0"
}

// conversationLive is a thread's polled fragment: 204 while nothing
// changed, the texts when something did. A thread open on screen is read:
// new texts arriving there are marked read.
func (h *Handler) conversationLive(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	ctx := r.Context()
	id := r.PathValue("id")
	ver, err := h.deps.Store.ThreadVersion(ctx, s.h, id)
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
	c, err := h.deps.Store.Conversation(ctx, s.h, id)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	if c.Unread > 0 && r.URL.Query().Get("cursor") == "" {
		if c, err = h.deps.Inbox.MarkRead(ctx, s.h, id); err != nil {
			h.fail(w, r, v, err)
			return
		}
		if ver, err = h.deps.Store.ThreadVersion(ctx, s.h, id); err != nil {
			h.fail(w, r, v, err)
			return
		}
		version = shortHash(ver)
	}
	if optedOutMark(c) != r.URL.Query().Get("o") && isHTMX(r) {
		// The contact opted out (or back in): the reply box must go (or
		// come back), so the whole page reloads.
		w.Header().Set("HX-Refresh", "true")
	}
	live, err := h.threadLive(r, s, c, version, since)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	v.Data = conversationData{C: c, Live: *live}
	h.renderFragment(w, http.StatusOK, "conversation", "thread-live", v)
}
