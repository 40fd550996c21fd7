package messaging

import (
	"context"
	"errors"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/members"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// TestResult is the outcome of a test text.
type TestResult struct {
	To         string                  `json:"to"`
	From       string                  `json:"from"`
	Text       string                  `json:"text"`
	Status     steeple.RecipientStatus `json:"status"`
	ProviderID string                  `json:"provider_id,omitempty"`
	Detail     string                  `json:"detail,omitempty"`
}

// SendTest texts a broadcast's text, rendered for the admin, to the admin's
// own phone only, paced and counted like any text (quota, daily cap). It
// runs on the caller's handle. Errors: ENOTFOUND, EINVALID when the admin
// has no phone, EFORBIDDEN when the quota is used up.
func (s *Service) SendTest(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, ip, id string) (*TestResult, error) {
	b, err := s.store.Broadcast(ctx, h, id)
	if err != nil {
		return nil, err
	}
	return s.sendTest(ctx, h, admin, ip, b.ID, b.Text, b.MediaURLs, b.From)
}

// SendTestDraft is SendTest for a text not sent yet (the compose review's
// "Send a test to me"): its text or template and its images, from the
// church's first sending number. The audience is not looked at: nobody
// but the admin gets it. Errors: EINVALID naming the text, media or
// phone field, ENOTFOUND for another church's image, EFORBIDDEN as SendTest.
func (s *Service) SendTestDraft(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, ip string, r BroadcastRequest) (*TestResult, error) {
	fe := map[string]string{}
	text, err := s.checkContent(ctx, h, r, fe)
	if err != nil {
		return nil, err
	}
	if len(fe) > 0 {
		return nil, &steeple.Error{Code: steeple.EINVALID, Message: "some fields are invalid", Fields: fe}
	}
	media, err := s.mediaLinks(ctx, h, r)
	if err != nil {
		return nil, err
	}
	return s.sendTest(ctx, h, admin, ip, "draft", text, media, "")
}

// sendTest renders text for the admin and hands it to the provider for the
// admin's own phone, from the preferred number if it may still send.
func (s *Service) sendTest(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, ip, target, text string, media []string, preferred string) (*TestResult, error) {
	to, err := s.store.AdminPhone(ctx, h, admin.ID)
	if err != nil {
		return nil, err
	}
	if to == "" {
		return nil, steeple.FieldError("phone", "set your own phone first (PATCH /api/v1/me with {\"phone\": …}): a test goes only to you")
	}
	from, assigned, err := s.sendingNumber(ctx, h.TenantID(), preferred)
	if err != nil {
		return nil, err
	}
	if from == "" {
		return nil, steeple.Errorf(steeple.EINVALID, "this church has no phone number to send from yet")
	}
	first, _, _ := strings.Cut(strings.TrimSpace(admin.Name), " ")
	body := members.Render(text, first, h.Tenant().Name)
	segments := Segments(body).PerMessage
	if segments > MaxSegments {
		return nil, steeple.FieldError("text", "is too long: it needs more than 10 segments")
	}
	if len(media) > 0 {
		segments = 1
	}
	if err := s.store.AddSegments(ctx, h, segments, s.cfg.Plans[h.Tenant().Plan].MonthlySegments); err != nil {
		return nil, err
	}
	lim, err := s.limits(ctx, h)
	if err != nil {
		return nil, err
	}
	res := &TestResult{To: to, From: from, Text: body}
	out := outgoing{From: from, To: to, Text: body, MediaURLs: media,
		record: func(_ context.Context, _ *tenancy.Handle, u store.RecipientUpdate) error {
			res.Status, res.ProviderID, res.Detail = u.Status, u.ProviderID, u.ErrorDetail
			return nil
		}}
	hh := &handleHolder{ten: s.ten, id: h.TenantID(), h: h, borrowed: true}
	if err := s.deliver(ctx, hh, out, lim.from(assigned), s.webhookURL(h.TenantID()), true); err != nil {
		var c atCap
		if errors.As(err, &c) {
			return nil, &steeple.Error{Code: steeple.EFORBIDDEN, Message: "the church has sent its texts for today; try again tomorrow",
				RetryAfter: c.until}
		}
		return nil, err
	}
	if err := s.store.Audit(ctx, h, store.AuditEntry{ActorID: admin.ID, Action: "message.test_sent", Target: target, IP: ip,
		Detail: "status: " + string(res.Status)}); err != nil {
		return nil, err
	}
	return res, nil
}

// AdminPhone is the signed-in admin's own phone ("" when none is set).
func (s *Service) AdminPhone(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin) (string, error) {
	return s.store.AdminPhone(ctx, h, admin.ID)
}

// SetAdminPhone sets the admin's own phone (national numbers read in the
// church's region), or clears it with "". It is stored sealed; the audit
// log records the change, never the number. Errors: EINVALID naming phone.
func (s *Service) SetAdminPhone(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, ip, raw string) (string, error) {
	phone := ""
	if strings.TrimSpace(raw) != "" {
		region, err := s.store.Setting(ctx, h, steeple.SettingPhoneRegion)
		if err != nil {
			return "", err
		}
		if region == "" {
			region = members.DefaultRegion
		}
		p, err := steeple.NormalizePhone("phone", raw, region)
		if err != nil {
			return "", err
		}
		phone = p
	}
	if err := s.store.SetAdminPhone(ctx, h, admin.ID, phone); err != nil {
		return "", err
	}
	detail := "phone set"
	if phone == "" {
		detail = "phone cleared"
	}
	return phone, s.store.Audit(ctx, h, store.AuditEntry{ActorID: admin.ID, Action: "admin.phone", Target: admin.ID, IP: ip, Detail: detail})
}
