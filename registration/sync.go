package registration

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/tenancy"
)

// Sync moves the church's registration as far as the provider's state
// allows, then schedules the next look (or stops looking when nothing
// waits on the provider). Idempotent: every change is conditional on the
// state it leaves.
func (s *Service) Sync(ctx context.Context, h *tenancy.Handle) error {
	r, err := s.store.Registration(ctx, h)
	if steeple.ErrorCode(err) == steeple.ENOTFOUND {
		return s.ten.Registry.UnschedulePoll(ctx, h.TenantID())
	}
	if err != nil {
		return err // looked at again (the poll stays scheduled)
	}
	waiting := false
	if r.Status == steeple.RegBrandPending {
		if waiting, err = s.syncBrand(ctx, h, r); err != nil {
			return err
		}
	}
	if r.Status == steeple.RegCampaignPending {
		if waiting, err = s.syncCampaign(ctx, h, r); err != nil {
			return err
		}
	}
	if r.Status == steeple.RegProvisioned {
		if waiting, err = s.syncNumbers(ctx, h, r); err != nil {
			return err
		}
	}
	if waiting {
		return s.ten.Registry.SchedulePoll(ctx, h.TenantID(), s.cfg.Now().Add(s.cfg.PollEvery))
	}
	return s.ten.Registry.UnschedulePoll(ctx, h.TenantID())
}

// syncBrand: a verified brand gets its campaign; a failed one waits for
// the church to correct it.
func (s *Service) syncBrand(ctx context.Context, h *tenancy.Handle, r *store.Registration) (bool, error) {
	if r.BrandID == "" {
		if waiting, err := s.recoverBrand(ctx, h, r); err != nil || r.BrandID == "" {
			return waiting, err
		}
	}
	b, err := s.client.GetBrand(ctx, r.BrandID)
	if err != nil {
		return false, err
	}
	switch {
	case b.Failed():
		return false, s.move(ctx, h, r, store.RegistrationChange{Status: steeple.RegBrandFailed, Reasons: reasons(b.FailureReasons, "the brand was not verified")})
	case !b.Ready():
		return true, nil
	}
	if h.Tenant().Status != steeple.TenantActive {
		return true, nil // a campaign is billed: not created while the church is suspended
	}
	id, err := s.campaignFor(ctx, h, r.BrandID)
	if err != nil {
		return false, err
	}
	return true, s.move(ctx, h, r, store.RegistrationChange{Status: steeple.RegCampaignPending, CampaignID: id})
}

// recoverBrand finishes a submission that stopped part-way (the process
// died): a brand the registry knows is adopted; with none, a submission
// older than SubmitTimeout is failed, so the church can submit again.
// r.BrandID is set when a brand was adopted.
func (s *Service) recoverBrand(ctx context.Context, h *tenancy.Handle, r *store.Registration) (bool, error) {
	id, err := s.ten.Registry.ProviderObject(ctx, h.TenantID(), KindBrand)
	if err != nil {
		return false, err
	}
	if id != "" {
		if _, err := s.store.AdvanceRegistration(ctx, h, store.RegistrationChange{Status: steeple.RegBrandPending, BrandID: id},
			steeple.RegBrandPending); err != nil {
			return false, err
		}
		r.BrandID = id
		return true, nil
	}
	if s.cfg.Now().Sub(r.SubmittedAt) < s.cfg.SubmitTimeout {
		return true, nil // being submitted
	}
	// The try may have died after the provider created the brand: adopt it.
	b, err := s.client.FindBrand(ctx, h.Tenant().Name, brandReference(h.TenantID()))
	if err != nil {
		return false, err
	}
	if b != nil {
		if err := s.ten.Registry.AddProviderObject(ctx, h.TenantID(), KindBrand, b.BrandID); err != nil {
			return false, err
		}
		if _, err := s.store.AdvanceRegistration(ctx, h, store.RegistrationChange{Status: steeple.RegBrandPending, BrandID: b.BrandID},
			steeple.RegBrandPending); err != nil {
			return false, err
		}
		r.BrandID = b.BrandID
		return true, nil
	}
	return false, s.move(ctx, h, r, store.RegistrationChange{Status: steeple.RegBrandFailed,
		Reasons: []string{"the submission was interrupted before the provider confirmed it; please submit again"}})
}

// campaignFor returns the brand's campaign, creating it unless one was
// created already: recorded in the registry, or made by a try that died
// before recording it (found at the provider by its referenceId, which
// names the church and brand). Creating it twice would register, and bill,
// two campaigns.
func (s *Service) campaignFor(ctx context.Context, h *tenancy.Handle, brandID string) (string, error) {
	id, err := s.ten.Registry.ProviderObject(ctx, h.TenantID(), KindCampaign)
	if err != nil || id != "" {
		return id, err
	}
	req, err := s.campaignRequest(ctx, h, brandID)
	if err != nil {
		return "", err
	}
	existing, err := s.client.ListCampaigns(ctx, brandID)
	if err != nil {
		return "", err
	}
	for _, c := range existing {
		if c.ReferenceID == req.ReferenceID {
			id = c.CampaignID
		}
	}
	if id == "" {
		c, err := s.client.CreateCampaign(ctx, req)
		if err != nil {
			return "", err
		}
		id = c.CampaignID
	}
	return id, s.ten.Registry.AddProviderObject(ctx, h.TenantID(), KindCampaign, id)
}

// syncCampaign: a provisioned campaign raises the church's limits and gets
// its numbers; a rejected one waits for a resubmission.
func (s *Service) syncCampaign(ctx context.Context, h *tenancy.Handle, r *store.Registration) (bool, error) {
	if r.CampaignID == "" {
		return true, nil
	}
	c, err := s.client.GetCampaign(ctx, r.CampaignID)
	if err != nil {
		return false, err
	}
	switch {
	case c.Failed():
		return false, s.move(ctx, h, r, store.RegistrationChange{Status: steeple.RegCampaignRejected,
			Reasons: reasons(c.FailureReasons, "the campaign was rejected ("+c.CampaignStatus+")")})
	case !c.Ready():
		return true, nil
	}
	return true, s.move(ctx, h, r, store.RegistrationChange{Status: steeple.RegProvisioned})
}

// syncNumbers assigns the church's numbers to its campaign and follows
// each assignment until it is settled. A number the provider refuses does
// not hold up the others: they are all tried, then the first error is
// returned (and the refused one tried again later).
func (s *Service) syncNumbers(ctx context.Context, h *tenancy.Handle, r *store.Registration) (bool, error) {
	ns, err := s.ten.Registry.ChurchNumbers(ctx, h.TenantID())
	if err != nil {
		return false, err
	}
	waiting := false
	var firstErr error
	for _, n := range ns {
		if n.State != steeple.NumberActive {
			continue
		}
		var nc *telnyx.NumberCampaign
		switch n.CampaignState {
		case "":
			nc, err = s.client.AssignNumberToCampaign(ctx, n.E164, r.CampaignID)
		case NumberPending:
			nc, err = s.client.GetNumberCampaign(ctx, n.E164)
		case NumberFailed:
			// Tried again with backoff, a bounded number of times.
			if n.CampaignAttempts >= s.cfg.AssignAttempts {
				continue
			}
			if n.CampaignRetryAt != nil && s.cfg.Now().Before(*n.CampaignRetryAt) {
				waiting = true
				continue
			}
			nc, err = s.client.AssignNumberToCampaign(ctx, n.E164, r.CampaignID)
		default:
			continue
		}
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		state, why := NumberPending, n.CampaignReasons // a retry keeps the last failure's reasons shown
		switch {
		case nc.Ready():
			state, why = NumberAssigned, ""
		case nc.AssignmentStatus == telnyx.AssignmentFailed:
			why = strings.Join(reasons(nc.FailureReasons, "the provider did not assign the number"), "; ")
			tries := n.CampaignAttempts + 1
			var retryAt *time.Time
			if tries < s.cfg.AssignAttempts {
				at := s.cfg.Now().Add(assignBackoff(s.cfg.AssignBackoff, tries))
				retryAt, waiting = &at, true
				why += fmt.Sprintf(" (try %d of %d; trying again after %s)", tries, s.cfg.AssignAttempts, at.UTC().Format(time.RFC3339))
			} else {
				why += fmt.Sprintf(" (try %d of %d; no more automatic tries)", tries, s.cfg.AssignAttempts)
			}
			s.log.Warn("10DLC number assignment failed", "tenant", h.TenantID(), "number", n.E164, "reasons", why)
			if err := s.ten.Registry.FailCampaignAssignment(ctx, h.TenantID(), n.E164, why, retryAt, n.CampaignAttempts); err != nil {
				return false, err
			}
			continue
		default:
			waiting = true
		}
		if err := s.ten.Registry.SetCampaignState(ctx, h.TenantID(), n.E164, state, why); err != nil {
			return false, err
		}
	}
	return waiting, firstErr
}

// move applies a change to r, from r's status.
func (s *Service) move(ctx context.Context, h *tenancy.Handle, r *store.Registration, c store.RegistrationChange) error {
	ok, err := s.store.AdvanceRegistration(ctx, h, c, r.Status)
	if err != nil || !ok {
		return err
	}
	r.Status = c.Status
	if c.CampaignID != "" {
		r.CampaignID = c.CampaignID
	}
	r.Reasons = c.Reasons
	return nil
}

// reasons are the provider's, or a fallback when it gave none.
func reasons(given telnyx.FailureReasons, fallback string) []string {
	if len(given) == 0 {
		return []string{fallback}
	}
	return []string(given)
}

// assignBackoff is the wait after the tries-th failed assignment: base,
// doubled for each further try, at most a day.
func assignBackoff(base time.Duration, tries int) time.Duration {
	d := base
	for i := 1; i < tries && d < 24*time.Hour; i++ {
		d *= 2
	}
	return min(d, 24*time.Hour)
}
