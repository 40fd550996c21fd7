package web

import (
	"cmp"
	"errors"
	"net/http"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/messaging"
)

// "Send a test to me" on the compose review: the text (and image) go to
// the signed-in admin's own phone only, never to the audience.

// composeTestSend texts the draft to the admin's own phone and notes the
// outcome on the review. Problems the admin can act on (no phone, no
// number, quota or daily cap used up) are shown there; others are returned.
func (h *Handler) composeTestSend(r *http.Request, s *session, req messaging.BroadcastRequest, rv *review) error {
	res, err := h.deps.Messaging.SendTestDraft(r.Context(), s.h, s.admin, client(r).IP, req)
	var e *steeple.Error
	switch {
	case err == nil && res.Status == "sent":
		rv.TestSentTo = res.To
	case err == nil:
		rv.TestProblem = cmp.Or(res.Detail, "the carrier did not take the text")
	case errors.As(err, &e) && e.Code == steeple.EINVALID && e.Fields["phone"] != "":
		// No phone on file: the review offers the field to save one.
	case errors.As(err, &e) && (e.Code == steeple.EINVALID || e.Code == steeple.EFORBIDDEN):
		rv.TestProblem = e.Message
	default:
		return err
	}
	return nil
}

// composeSavePhone saves the admin's own phone from the review ("My
// phone"); a number that does not read is shown beside the field.
func (h *Handler) composeSavePhone(r *http.Request, s *session, rv *review) error {
	v := s.view
	raw := strings.TrimSpace(r.PostForm.Get("my_phone"))
	v.Form.Values["my_phone"] = raw
	if raw == "" {
		v.Form.Errors["my_phone"] = "is required"
		return nil
	}
	if _, err := h.deps.Messaging.SetAdminPhone(r.Context(), s.h, s.admin, client(r).IP, raw); err != nil {
		if fe := fieldErrors(err); fe["phone"] != "" {
			v.Form.Errors["my_phone"] = fe["phone"]
			return nil
		}
		return err
	}
	rv.PhoneSaved = true
	return nil
}
