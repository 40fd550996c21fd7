package web

// What an admin does in a conversation: reply (text, a template, an
// image), close and reopen, mark unread, assign, settle a flag, and add
// an unknown sender as a member. Each action finds the conversation in the
// signed-in church first, so another church's id is a 404 before anything
// else is read or written.

import (
	"net/http"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/members"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/store"
)

// conversationOf finds the request's conversation in the church, or
// answers the 404 page.
func (h *Handler) conversationOf(w http.ResponseWriter, r *http.Request, s *session) *store.Conversation {
	c, err := h.deps.Store.Conversation(r.Context(), s.h, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, s.view, err)
		return nil
	}
	return c
}

// conversationReply handles the reply box: op=send sends, op=template puts
// the chosen template in the box (app.js does that without a round trip),
// op=upload keeps an image, op=noimage drops it.
func (h *Handler) conversationReply(w http.ResponseWriter, r *http.Request, s *session) {
	c := h.conversationOf(w, r, s)
	if c == nil {
		return
	}
	ctx := r.Context()
	v := s.view
	f := r.PostForm
	for _, k := range []string{"body", "media_id", "template_id"} {
		v.Form.Values[k] = f.Get(k)
	}
	if img, _ := ctx.Value(imageKey{}).(*composeImage); img != nil {
		if img.err != nil {
			if !h.formError(v, img.err, "file") {
				h.fail(w, r, v, img.err)
				return
			}
			h.showConversation(w, r, s, c, http.StatusBadRequest, "")
			return
		}
		if img.u != nil {
			u, err := h.deps.Messaging.SaveMedia(ctx, s.h, s.admin, img.u)
			if err != nil {
				h.fail(w, r, v, err)
				return
			}
			v.Form.Values["media_id"] = u.ID
		}
	}
	mediaID := v.Form.Value("media_id")
	if mediaID != "" {
		if !steeple.ValidID(mediaID) {
			h.fail(w, r, v, errNotFound)
			return
		}
		if _, err := h.deps.Messaging.Media(ctx, s.h, mediaID); err != nil {
			h.fail(w, r, v, err) // another church's image: 404
			return
		}
	}
	switch f.Get("op") {
	case "template":
		h.replyTemplate(w, r, s, c)
		return
	case "upload":
		h.showConversation(w, r, s, c, http.StatusOK, "")
		return
	case "noimage":
		v.Form.Values["media_id"] = ""
		h.showConversation(w, r, s, c, http.StatusOK, "")
		return
	}
	req := messaging.ReplyRequest{Text: f.Get("body")}
	if mediaID != "" {
		req.MediaURLs = []string{h.deps.Messaging.MediaLink(s.h.TenantID(), mediaID, h.deps.Now().Add(messaging.MediaLinkTTL))}
	}
	if _, err := h.deps.Inbox.Reply(ctx, s.h, s.admin, c.ID, req); err != nil {
		if steeple.ErrorCode(err) == steeple.ECONFLICT {
			// The contact may not be texted: the page comes back saying so,
			// without the reply box.
			h.showConversation(w, r, s, c, http.StatusConflict, "")
			return
		}
		if h.formError(v, err, "body") {
			if msg, ok := v.Form.Errors["text"]; ok {
				v.Form.Errors["body"] = msg
			}
			h.showConversation(w, r, s, c, http.StatusBadRequest, "")
			return
		}
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/inbox/"+c.ID+"?done=sent#reply", http.StatusSeeOther)
}

// replyTemplate puts a saved template, filled in for the contact, in the
// reply box (appended to what was typed).
func (h *Handler) replyTemplate(w http.ResponseWriter, r *http.Request, s *session, c *store.Conversation) {
	v := s.view
	t, err := h.deps.Members.Template(r.Context(), s.h, v.Form.Value("template_id"))
	if err != nil {
		if steeple.ErrorCode(err) != steeple.ENOTFOUND {
			h.fail(w, r, v, err)
			return
		}
		v.Form.Errors["template_id"] = "choose a template from the list"
		h.showConversation(w, r, s, c, http.StatusBadRequest, "")
		return
	}
	first := ""
	if c.Member != nil {
		first = c.Member.FirstName
	}
	body := v.Form.Value("body")
	if body != "" {
		body += " "
	}
	v.Form.Values["body"] = body + members.Render(t.Body, first, v.Church)
	h.showConversation(w, r, s, c, http.StatusOK, "")
}

func (h *Handler) conversationClose(w http.ResponseWriter, r *http.Request, s *session) {
	h.conversationAct(w, r, s, "closed", func(id string) error {
		_, err := h.deps.Inbox.SetStatus(r.Context(), s.h, id, steeple.ConversationClosed)
		return err
	})
}

func (h *Handler) conversationReopen(w http.ResponseWriter, r *http.Request, s *session) {
	h.conversationAct(w, r, s, "reopened", func(id string) error {
		_, err := h.deps.Inbox.SetStatus(r.Context(), s.h, id, steeple.ConversationOpen)
		return err
	})
}

func (h *Handler) conversationOptOut(w http.ResponseWriter, r *http.Request, s *session) {
	h.conversationAct(w, r, s, "opted_out", func(id string) error {
		_, err := h.deps.Inbox.ConfirmOptOut(r.Context(), s.h, s.admin, client(r).IP, id)
		return err
	})
}

func (h *Handler) conversationDismiss(w http.ResponseWriter, r *http.Request, s *session) {
	h.conversationAct(w, r, s, "dismissed", func(id string) error {
		_, err := h.deps.Inbox.DismissFlag(r.Context(), s.h, s.admin, client(r).IP, id)
		return err
	})
}

func (h *Handler) conversationAssign(w http.ResponseWriter, r *http.Request, s *session) {
	h.conversationAct(w, r, s, "assigned", func(id string) error {
		_, err := h.deps.Inbox.Assign(r.Context(), s.h, s.admin, client(r).IP, id, r.PostForm.Get("admin_id"))
		return err
	})
}

// conversationAct runs one action on the request's conversation (found in
// the church first) and shows the conversation again with a notice.
func (h *Handler) conversationAct(w http.ResponseWriter, r *http.Request, s *session, done string, act func(id string) error) {
	c := h.conversationOf(w, r, s)
	if c == nil {
		return
	}
	if err := act(c.ID); err != nil {
		h.fail(w, r, s.view, err)
		return
	}
	http.Redirect(w, r, "/inbox/"+c.ID+"?done="+done, http.StatusSeeOther)
}

// conversationUnread marks a conversation unread and goes back to the
// inbox (showing the conversation would read it again).
func (h *Handler) conversationUnread(w http.ResponseWriter, r *http.Request, s *session) {
	c := h.conversationOf(w, r, s)
	if c == nil {
		return
	}
	if _, err := h.deps.Inbox.MarkUnread(r.Context(), s.h, c.ID); err != nil {
		h.fail(w, r, s.view, err)
		return
	}
	http.Redirect(w, r, "/inbox?done=unread", http.StatusSeeOther)
}

// conversationMember adds an unknown sender as a member with the phone
// they texted from; consent is recorded only when the box says it was
// collected, as on the member form.
func (h *Handler) conversationMember(w http.ResponseWriter, r *http.Request, s *session) {
	c := h.conversationOf(w, r, s)
	if c == nil {
		return
	}
	v := s.view
	f := r.PostForm
	for _, k := range []string{"first_name", "last_name", "email", "consent", "wording"} {
		v.Form.Values[k] = f.Get(k)
	}
	req := members.MemberRequest{FirstName: f.Get("first_name"), LastName: f.Get("last_name"), Email: f.Get("email")}
	if f.Get("consent") == "yes" {
		req.Consent = &struct {
			OptedIn bool   `json:"opted_in"`
			Wording string `json:"wording"`
		}{true, f.Get("wording")}
	}
	_, r = actorContext(r, s)
	if _, err := h.deps.Members.FromConversation(r.Context(), s.h, c.ID, req); err != nil {
		if h.formError(v, err, "first_name") {
			h.showConversation(w, r, s, c, http.StatusBadRequest, "")
			return
		}
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/inbox/"+c.ID+"?done=member", http.StatusSeeOther)
}
