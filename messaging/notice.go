package messaging

import (
	"context"
	"errors"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// SendNotice texts a church's own staff (a reply forwarded to the staff
// mobile) from the church's number preferred (else its first), paced and
// counted like any text. Nothing goes to a phone that opted out. It runs
// on the caller's handle and reports the outcome's status ("sent",
// "skipped", "failed"). Errors: EINVALID when the church has no number,
// EFORBIDDEN when its quota or daily cap is used up.
func (s *Service) SendNotice(ctx context.Context, h *tenancy.Handle, preferred, to, text string) (steeple.RecipientStatus, error) {
	ok, err := s.store.PhoneTextable(ctx, h, to)
	if err != nil || !ok {
		return steeple.RecipientSkipped, err
	}
	from, assigned, err := s.sendingNumber(ctx, h.TenantID(), preferred)
	if err != nil {
		return "", err
	}
	if from == "" {
		return "", steeple.Errorf(steeple.EINVALID, "this church has no phone number to send from")
	}
	if err := s.store.AddSegments(ctx, h, Segments(text).PerMessage, s.cfg.Plans[h.Tenant().Plan].MonthlySegments); err != nil {
		return "", err
	}
	lim, err := s.limits(ctx, h)
	if err != nil {
		return "", err
	}
	var status steeple.RecipientStatus
	out := outgoing{From: from, To: to, Text: text,
		record: func(_ context.Context, _ *tenancy.Handle, u store.RecipientUpdate) error {
			status = u.Status
			return nil
		}}
	hh := &handleHolder{ten: s.ten, id: h.TenantID(), h: h, borrowed: true}
	if err := s.deliver(ctx, hh, out, lim.from(assigned), s.webhookURL(h.TenantID()), true); err != nil {
		var c atCap
		if errors.As(err, &c) {
			return "", &steeple.Error{Code: steeple.EFORBIDDEN, Message: "the church has sent its texts for today", RetryAfter: c.until}
		}
		return "", err
	}
	return status, nil
}
