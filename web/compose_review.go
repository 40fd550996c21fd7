package web

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/schedule"
	"github.com/steeple-sms/steeple/store"
)

// The review step of composing: what a send will cost and how long it will
// take, then the send itself.

// composeReview checks the form and shows what it will cost; op "send"
// sends, schedules or starts the recurring message, "test" texts the
// admin's own phone first and "savephone" saves that phone (then both
// show the review again).
func (h *Handler) composeReview(w http.ResponseWriter, r *http.Request, s *session, d *composeData, op string) {
	v := s.view
	ctx := r.Context()
	req := composeRequest(v, r.PostForm)
	loc := schedule.Location(s.h)
	rv := &review{When: v.Form.Value("when")}
	var rule schedule.Rule
	switch rv.When {
	case "at":
		at, err := sendAt(v, loc)
		if err != nil {
			v.Form.Errors["send_at"] = fieldErrors(err)["send_at"]
		} else if !at.After(h.deps.Now()) {
			v.Form.Errors["send_at"] = "must be in the future"
		}
		rv.At = at
	case "recurring":
		var err error
		if rule, err = composeRule(v, d); err != nil {
			for k, m := range fieldErrors(err) {
				v.Form.Errors[k] = m
			}
		}
	default:
		rv.When = "now"
	}
	p, err := h.deps.Messaging.Preview(ctx, s.h, req)
	if err != nil {
		if !h.formError(v, err, "body") {
			h.fail(w, r, v, err)
			return
		}
	}
	if len(v.Form.Errors) > 0 {
		if msg, ok := v.Form.Errors["audience"]; ok && len(req.Audience.GroupIDs)+len(req.Audience.MemberIDs) == 0 && !req.Audience.All {
			v.Form.Errors["audience"] = msg
		}
		d.Preview = p
		h.showCompose(w, r, s, http.StatusBadRequest, d)
		return
	}
	d.Preview = p
	switch op {
	case "send":
		h.composeSend(w, r, s, d, req, rv, rule)
		return
	case "test":
		if err := h.composeTestSend(r, s, req, rv); err != nil {
			h.fail(w, r, v, err)
			return
		}
	case "savephone":
		if err := h.composeSavePhone(r, s, rv); err != nil {
			h.fail(w, r, v, err)
			return
		}
	}
	if err := h.fillReview(ctx, s, rv, p); err != nil {
		h.fail(w, r, v, err)
		return
	}
	if rv.When == "recurring" {
		if d.Upcoming, err = h.upcoming(ctx, s, rule, 5); err != nil {
			h.fail(w, r, v, err)
			return
		}
	}
	d.Review = rv
	for k, vals := range r.PostForm {
		if k == "op" || k == "file" || k == "my_phone" {
			continue
		}
		for _, val := range vals {
			d.Fields = append(d.Fields, field{k, val})
		}
	}
	sortFields(d.Fields)
	d.GroupSel, d.MemberSel = boolSet(r.PostForm["group_id"]), boolSet(r.PostForm["member_id"])
	v.TitleID = "review.title"
	v.Data = d
	status := http.StatusOK
	if len(v.Form.Errors) > 0 {
		status = http.StatusBadRequest // "My phone" did not read
	}
	h.render(w, r, status, "compose_review", v)
}

func boolSet(ids []string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// fillReview counts the cost against the month's quota, the time at the
// sending limit, the daily cap and quiet hours.
func (h *Handler) fillReview(ctx context.Context, s *session, rv *review, p *messaging.Preview) error {
	rv.Recipients, rv.Parts = p.Recipients, p.TotalSegments
	nums, err := h.deps.Tenancy.Registry.SendingNumbers(ctx, s.h.TenantID())
	if err != nil {
		return err
	}
	if rv.MyPhone, err = h.deps.Messaging.AdminPhone(ctx, s.h, s.admin); err != nil {
		return err
	}
	if len(nums) > 0 {
		rv.From = nums[0]
	}
	now := h.deps.Now()
	loc := schedule.Location(s.h)
	ov, err := h.deps.Store.Overview(ctx, s.h, now)
	if err != nil {
		return err
	}
	rv.QuotaUsed = ov.SegmentsThisMonth
	rv.Quota = h.deps.Plans[s.h.Tenant().Plan].MonthlySegments
	rv.QuotaAfter = rv.QuotaUsed + rv.Parts
	rv.OverQuota = rv.Quota > 0 && rv.QuotaAfter > rv.Quota
	rate := h.deps.Limits.UnregisteredRate
	if h.deps.Registration != nil {
		if reg, err := h.deps.Registration.Get(ctx, s.h); err == nil && reg.Status == steeple.RegProvisioned {
			rate = h.deps.Limits.RegisteredRate
		}
	}
	secs := 0.0
	if rate > 0 {
		secs = float64(rv.Recipients) / rate
	}
	rv.Duration = humanDuration(time.Duration(math.Ceil(secs)) * time.Second)
	start := now
	if rv.When == "at" {
		start = rv.At
	}
	if rv.When != "recurring" {
		capN, sent, err := h.deps.Messaging.DailyCapToday(ctx, s.h, start)
		if err != nil {
			return err
		}
		if rv.When == "at" && start.In(loc).Format(time.DateOnly) != now.In(loc).Format(time.DateOnly) {
			sent = 0 // another day: its cap starts afresh
		}
		rv.CapToday, rv.CapLeft = capN, max(0, capN-sent)
		end := start.Add(time.Duration(secs * float64(time.Second)))
		midnight := time.Date(start.In(loc).Year(), start.In(loc).Month(), start.In(loc).Day()+1, 0, 0, 0, 0, loc)
		rv.NotToday = (capN > 0 && rv.Recipients > rv.CapLeft) || end.After(midnight)
		q, err := h.deps.Schedules.QuietHours(ctx, s.h)
		if err != nil {
			return err
		}
		rv.QuietStart, rv.QuietEnd = q.Start, q.End
		rv.Quiet = !q.Release(start, loc).Equal(start) || !q.Release(end, loc).Equal(end) || end.Sub(start) > 12*time.Hour
	}
	return nil
}

// humanDuration says a duration in round words.
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(max(1, int(d.Seconds()))) + " s"
	case d < time.Hour:
		return strconv.Itoa(int(math.Ceil(d.Minutes()))) + " min"
	default:
		h := int(d.Hours())
		m := int(math.Ceil(d.Minutes())) - h*60
		if m == 0 {
			return strconv.Itoa(h) + " h"
		}
		return strconv.Itoa(h) + " h " + strconv.Itoa(m) + " min"
	}
}

// composeSend sends now (to the broadcast's page), at a time or on a rule
// (to the schedules).
func (h *Handler) composeSend(w http.ResponseWriter, r *http.Request, s *session, d *composeData, req messaging.BroadcastRequest, rv *review, rule schedule.Rule) {
	v := s.view
	ctx := r.Context()
	var err error
	switch rv.When {
	case "now":
		var b *store.Broadcast
		if b, err = h.deps.Messaging.Create(ctx, s.h, s.admin, req); err == nil {
			http.Redirect(w, r, "/messages/"+b.ID, http.StatusSeeOther)
			return
		}
	case "at":
		if _, err = h.deps.Schedules.ScheduleBroadcast(ctx, s.h, s.admin, schedule.Message{BroadcastRequest: req}, rv.At); err == nil {
			http.Redirect(w, r, "/schedules?done=scheduled", http.StatusSeeOther)
			return
		}
	case "recurring":
		name := strings.TrimSpace(v.Form.Value("name"))
		if name == "" {
			name = truncate(req.Text, 60)
		}
		if _, err = h.deps.Schedules.CreateRecurring(ctx, s.h, s.admin, schedule.RecurringInput{Name: name, Rule: rule,
			Message: schedule.Message{BroadcastRequest: req}}); err == nil {
			http.Redirect(w, r, "/schedules?done=recurring", http.StatusSeeOther)
			return
		}
	}
	if fe := fieldErrors(err); fe != nil {
		for k, m := range fe {
			v.Form.Errors[k] = m
		}
		h.showCompose(w, r, s, http.StatusBadRequest, d)
		return
	}
	var e *steeple.Error
	if errors.As(err, &e) && (e.Code == steeple.EINVALID || e.Code == steeple.EFORBIDDEN) {
		d.Notice = e.Message // e.g. no number yet, email not verified
		h.showCompose(w, r, s, http.StatusBadRequest, d)
		return
	}
	h.fail(w, r, v, err)
}
