package telnyxsim

// 10DLC lifecycles run in the background, with a webhook per transition.

import (
	"slices"
	"strings"
	"time"
)

// registrationRun is a lifecycle to run in the background: step is called
// under s.mu after each delay and returns the webhook to post, if any, and
// whether another step follows.
type registrationRun struct {
	delay time.Duration
	step  func() (hook *registrationHook, more bool)
}

type registrationHook struct {
	urls      []string
	eventType string
	objectID  string // brand id, campaign id or phone number
	payload   map[string]any
}

// launch starts run (nil: nothing to do) in the background, tracked by
// begin/done so WaitIdle covers it, and stopped by Close.
func (s *Sim) launch(run *registrationRun) {
	if run == nil {
		return
	}
	s.begin()
	go func() {
		defer s.done()
		for more := true; more; {
			t := time.NewTimer(run.delay)
			select {
			case <-t.C:
			case <-s.ctx.Done():
				t.Stop()
				return
			}
			var hook *registrationHook
			s.mu.Lock()
			hook, more = run.step()
			off := s.regHooksOff
			s.mu.Unlock()
			if hook == nil || off || len(hook.urls) == 0 {
				continue
			}
			if err := s.deliver(s.ctx, hook.urls, hook.eventType, hook.objectID, hook.payload); err != nil {
				s.log.Warn("telnyxsim: 10DLC webhook not delivered", "event", hook.eventType, "id", hook.objectID, "err", err)
			}
		}
	}()
}

// outcomeForLocked returns kind's outcome with its defaults filled in.
func (s *Sim) outcomeForLocked(kind string, defaultReason string) RegistrationOutcome {
	o := s.regOutcomes[kind]
	if o.Delay <= 0 {
		o.Delay = DefaultRegistrationDelay
	}
	if len(o.Reasons) == 0 {
		o.Reasons = []string{defaultReason}
	}
	if o.RejectAt == "" {
		o.RejectAt = "TELNYX_FAILED"
	}
	o.Reasons = slices.Clone(o.Reasons)
	return o
}

// reasonObjects renders reasons as webhook reasons[] entries.
func reasonObjects(reasons []string) []map[string]any {
	out := []map[string]any{}
	for _, r := range reasons {
		out = append(out, map[string]any{"fields": []string{}, "description": r})
	}
	return out
}

// submitBrandLocked (re)starts vetting: REGISTRATION_PENDING, then OK or
// REGISTRATION_FAILED.
func (s *Sim) submitBrandLocked(b *simBrand) *registrationRun {
	b.gen++
	b.submissions++
	b.status, b.identity, b.reasons = "REGISTRATION_PENDING", "", nil
	o := s.outcomeForLocked(RegistrationBrand, "EIN does not match the IRS record for the legal company name.")
	if o.Result == Stall {
		return nil
	}
	gen := b.gen
	return &registrationRun{delay: o.Delay, step: func() (*registrationHook, bool) {
		if s.brands[b.id] != b || b.gen != gen {
			return nil, false // reset or resubmitted since
		}
		b.updated = s.clock()
		hook := &registrationHook{urls: nonEmpty(b.WebhookURL, b.WebhookFailoverURL), eventType: "10dlc.brand.update", objectID: b.id}
		if o.Result == Reject {
			b.status, b.identity, b.reasons = "REGISTRATION_FAILED", "UNVERIFIED", o.Reasons
			hook.payload = map[string]any{"brandId": b.id, "status": "failed", "type": "REGISTRATION",
				"reasons": reasonObjects(o.Reasons)}
			return hook, false
		}
		if b.tcrID == "" {
			b.tcrID = newTCRID("B")
		}
		b.status, b.identity = "OK", "VERIFIED"
		// identityStatus is not in Telnyx's documented example; it saves
		// Steeple a GET and the client treats it as optional.
		hook.payload = map[string]any{"brandId": b.id, "tcrBrandId": b.tcrID, "brandName": b.DisplayName,
			"type": "TCR_BRAND_UPDATE", "eventType": "BRAND_ADD", "status": "success",
			"description": "Brand " + b.tcrID + " is added", "identityStatus": b.identity}
		return hook, false
	}}
}

// submitCampaignLocked (re)starts review at status from: TCR_PENDING →
// TCR_ACCEPTED → TELNYX_ACCEPTED → MNO_PENDING → MNO_PROVISIONED, or a failure
// at the outcome's RejectAt stage.
func (s *Sim) submitCampaignLocked(c *simCampaign, from string) *registrationRun {
	c.gen++
	c.submissions++
	c.status, c.reasons = from, nil
	o := s.outcomeForLocked(RegistrationCampaign, "Sample messages do not include opt-out language (Reply STOP to opt out).")
	if o.Result == Stall {
		return nil
	}
	gen := c.gen
	rejectAt := slices.Index(campaignRejectStages, o.RejectAt)
	// rejectHere reports whether review stage (an index into
	// campaignRejectStages) rejects the campaign.
	rejectHere := func(stage int) bool { return o.Result == Reject && stage >= rejectAt }
	return &registrationRun{delay: o.Delay, step: func() (*registrationHook, bool) {
		if s.campaigns[c.id] != c || c.gen != gen {
			return nil, false
		}
		c.updated = s.clock()
		hook := &registrationHook{urls: nonEmpty(c.WebhookURL, c.WebhookFailoverURL), eventType: "10dlc.campaign.update", objectID: c.id}
		p := map[string]any{"campaignId": c.id}
		hook.payload = p
		fail := func(status, hookType, hookStatus string) (*registrationHook, bool) {
			c.status, c.reasons = status, o.Reasons
			p["type"], p["status"] = hookType, hookStatus
			if hookType == "REGISTRATION" {
				p["reasons"] = reasonObjects(o.Reasons)
			} else {
				p["description"] = strings.Join(o.Reasons, "; ")
			}
			return hook, false
		}
		switch c.status {
		case "TCR_PENDING":
			if rejectHere(0) {
				return fail("TCR_FAILED", "REGISTRATION", "failed")
			}
			if c.tcrID == "" {
				c.tcrID = newTCRID("C")
			}
			c.status = "TCR_ACCEPTED"
			p["type"], p["eventType"] = "TCR_EVENT", "CAMPAIGN_ADD"
			p["description"] = "Campaign " + c.tcrID + " successfully added to TCR"
			return hook, true
		case "TCR_ACCEPTED":
			if rejectHere(1) {
				return fail("TELNYX_FAILED", "TELNYX_REVIEW", "REJECTED")
			}
			c.status = "TELNYX_ACCEPTED"
			p["type"], p["status"], p["description"] = "TELNYX_REVIEW", "ACCEPTED", c.tcrID+" approved by Telnyx"
			return hook, true
		case "TELNYX_ACCEPTED":
			c.status = "MNO_PENDING"
			p["type"], p["eventType"] = "TCR_EVENT", "MNO_CAMPAIGN_OPERATION_REVIEW"
			p["description"] = "Campaign " + c.tcrID + " is under MNO review"
			return hook, true
		case "MNO_PENDING":
			if rejectHere(2) {
				return fail("MNO_REJECTED", "MNO_REVIEW", "REJECTED")
			}
			c.status = "MNO_PROVISIONED"
			p["type"], p["brandId"], p["cspId"] = "VERIFIED", c.BrandID, simCspID
			p["createdDate"], p["isTMobileRegistered"] = telnyxTime(c.created), true
			return hook, false
		}
		return nil, false
	}}
}

// submitAssignmentLocked starts an assignment: PENDING_ASSIGNMENT, then
// ASSIGNED if the account owns the number and the campaign is provisioned at
// that moment, else FAILED_ASSIGNMENT.
func (s *Sim) submitAssignmentLocked(a *simAssignment) *registrationRun {
	a.gen++
	a.status, a.reasons = "PENDING_ASSIGNMENT", nil
	o := s.outcomeForLocked(RegistrationAssignment, "The carrier refused the number assignment.")
	if o.Result == Stall {
		return nil
	}
	gen := a.gen
	return &registrationRun{delay: o.Delay, step: func() (*registrationHook, bool) {
		if s.assignments[a.phone] != a || a.gen != gen {
			return nil, false
		}
		a.updated = s.clock()
		c := s.campaigns[a.campaignID]
		var reasons []string
		switch {
		case o.Result == Reject:
			reasons = o.Reasons
		case s.numberByPhoneLocked(a.phone) == nil:
			reasons = []string{"Phone number " + a.phone + " is not in your account."}
		case c == nil || c.status != "MNO_PROVISIONED":
			status := "deleted"
			if c != nil {
				status = c.status
			}
			reasons = []string{"Campaign " + a.campaignID + " is not provisioned (status " + status + ")."}
		}
		p := map[string]any{"campaignId": a.campaignID, "phoneNumber": a.phone, "type": "ASSIGNMENT",
			"status": "success", "reasons": []string{}}
		if reasons != nil {
			a.status, a.reasons = "FAILED_ASSIGNMENT", reasons
			p["status"], p["reasons"] = "failed", reasons
		} else {
			a.status = "ASSIGNED"
		}
		hook := &registrationHook{eventType: "10dlc.phone_number.update", objectID: a.phone, payload: p}
		if c != nil {
			hook.urls = nonEmpty(c.WebhookURL, c.WebhookFailoverURL)
		}
		return hook, false
	}}
}
