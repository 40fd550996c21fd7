package web

// The pretend phone: on the built-in Telnyx simulator, an admin texts the
// church's number as a member would (a reply, STOP, a keyword) and sees
// what that phone got back, so a church can try the inbox and keywords
// before buying service. Nothing here exists with real Telnyx.

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/inbox"
	"github.com/steeple-sms/steeple/members"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

func (h *Handler) routePretendPhone() {
	h.mux.HandleFunc("POST /inbox/phone", h.authed(h.pretendPhoneSend))
	h.mux.HandleFunc("GET /inbox/phone", h.authed(h.pretendPhoneLive))
}

// pretendPhoneData is the panel: the phone pretending, the church's
// number it texts, and what it received from the church (newest last).
type pretendPhoneData struct {
	Phone    string // as typed or E.164
	Number   string // the church's number ("" when it has none yet)
	Received []telnyxsim.SentMessage
	URL      string // the polled list's own URL
	Poll     string
}

// pretendPhoneDefault is the phone the panel offers first: a number no
// real phone has (555-01xx is reserved for fiction).
const pretendPhoneDefault = "+13125550199"

// pretendPhone is the panel for the inbox page, nil without the simulator.
func (h *Handler) pretendPhone(r *http.Request, s *session) *pretendPhoneData {
	if h.deps.Sim == nil {
		return nil
	}
	phone := r.URL.Query().Get("phone")
	if phone == "" {
		phone = pretendPhoneDefault
	}
	if s.view.Form.Values["phone"] == "" {
		s.view.Form.Values["phone"] = phone
	}
	return h.pretendPhoneState(r, s, phone)
}

// pretendPhoneState reads what phone received from the church's numbers.
func (h *Handler) pretendPhoneState(r *http.Request, s *session, phone string) *pretendPhoneData {
	d := &pretendPhoneData{Phone: phone, Number: h.firstNumber(r, s)}
	e164, err := steeple.NormalizePhone("phone", phone, h.phoneRegion(r.Context(), s.h))
	if err == nil {
		ns, err := h.deps.Numbers.List(r.Context(), s.h.TenantID())
		ours := map[string]bool{}
		if err == nil {
			for _, n := range ns.Numbers {
				ours[n.E164] = true
			}
		}
		for _, m := range h.deps.Sim.Messages() {
			if m.To == e164 && ours[m.From] {
				d.Received = append(d.Received, m)
			}
		}
	}
	d.URL = withQuery("/inbox/phone", "phone", phone, "n", strconv.Itoa(len(d.Received)))
	d.Poll = "every 2s"
	return d
}

// pretendPhoneLive is the panel's polled list of texts received: 204
// while the count is the same (the simulator's record, no church query).
func (h *Handler) pretendPhoneLive(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	if h.deps.Sim == nil {
		h.fail(w, r, v, errNotFound)
		return
	}
	d := h.pretendPhoneState(r, s, r.URL.Query().Get("phone"))
	if strconv.Itoa(len(d.Received)) == r.URL.Query().Get("n") {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	v.Data = inboxData{Phone: d}
	h.renderFragment(w, http.StatusOK, "inbox", "pretend-received", v)
}

// pretendPhoneSend has the simulator deliver a text from the pretend phone
// to the church's number as an inbound webhook. The webhook is delivered
// after this request has released the church's database (the webhook
// needs it too); the inbox and the panel show the outcome as they poll.
func (h *Handler) pretendPhoneSend(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	if h.deps.Sim == nil {
		h.fail(w, r, v, errNotFound)
		return
	}
	v.TitleID = "inbox.title"
	phone, text := strings.TrimSpace(r.PostForm.Get("phone")), strings.TrimSpace(r.PostForm.Get("text"))
	v.Form.Values["phone"], v.Form.Values["text"] = phone, text
	number := h.firstNumber(r, s)
	region := h.phoneRegion(r.Context(), s.h)
	if region == "" {
		region = members.DefaultRegion
	}
	e164, err := steeple.NormalizePhone("phone", phone, region)
	switch {
	case err != nil:
		h.formError(v, err, "phone")
	case text == "":
		v.Form.Errors["text"] = "is required"
	case number == "":
		v.Form.Errors["text"] = "the church has no number yet" // the page says so in place of the form
	}
	if len(v.Form.Errors) > 0 {
		d := inboxData{Tabs: inboxTabs}
		live, err := h.inboxList(r, s, inbox.ListQuery{Limit: inboxPageSize}, "", h.deps.Now())
		if err != nil {
			h.fail(w, r, v, err)
			return
		}
		d.Live, d.Phone = *live, h.pretendPhoneState(r, s, phone)
		v.Data = d
		h.render(w, r, http.StatusBadRequest, "inbox", v)
		return
	}
	msg := telnyxsim.InboundMessage{From: e164, To: number, Text: text, WebhookURL: h.deps.WebhookURL}
	sim, log := h.deps.Sim, h.deps.Logger
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := sim.Inbound(ctx, msg); err != nil {
			log.Warn("pretend phone: the simulator did not deliver the text", "err", err)
		}
	}()
	http.Redirect(w, r, withQuery("/inbox", "phone", phone)+"#pretend-phone", http.StatusSeeOther)
}
