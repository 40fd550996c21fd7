// Package registration is a church's 10DLC registration: its brand (the
// church), its campaign (what it texts, how members opt in and out) and
// the assignment of its numbers to that campaign. The state machine lives
// in the church's database; the registry only indexes the provider's brand
// and campaign ids (so webhooks route in O(1)) and lists churches waiting
// on the provider (so the poller opens only those).
//
//	brand_pending ──▶ campaign_pending ──▶ provisioned (numbers assigned)
//	      │                  │
//	      ▼                  ▼
//	brand_failed       campaign_rejected      (correct and resubmit)
//
// Every provider event is a hint: Sync reads the provider's own state and
// moves on from there, so a lost, repeated or out-of-order webhook and the
// poller all lead to the same result.
package registration

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/inbox"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/tenancy"
)

// Provider object kinds in the registry.
const (
	KindBrand    = "brand"
	KindCampaign = "campaign"
)

// Number campaign states in the registry.
const (
	NumberPending  = "pending"
	NumberAssigned = tenancy.CampaignAssigned
	NumberFailed   = "failed"
)

// Config tunes registration.
type Config struct {
	PublicURL string        // where the provider posts 10DLC webhooks
	PollEvery time.Duration // how often a pending registration is looked at
	// SubmitTimeout is how long a submission may go without a brand id
	// before it counts as interrupted (its process died) and may be
	// submitted again.
	SubmitTimeout time.Duration
	// AssignAttempts bounds the tries to assign a number to the campaign;
	// after a failed one the next waits AssignBackoff, doubled each time
	// (at most a day). The provider's reasons stay shown meanwhile.
	AssignAttempts int
	AssignBackoff  time.Duration
	Now            func() time.Time
	// TickEvery is how often registrations due a look are polled (default
	// 1 minute; each is looked at every PollEvery).
	TickEvery time.Duration
}

// withDefaults fills what c leaves zero.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.PublicURL == "" {
		c.PublicURL = d.PublicURL
	}
	if c.PollEvery == 0 {
		c.PollEvery = d.PollEvery
	}
	if c.SubmitTimeout == 0 {
		c.SubmitTimeout = d.SubmitTimeout
	}
	if c.TickEvery == 0 {
		c.TickEvery = d.TickEvery
	}
	if c.AssignAttempts == 0 {
		c.AssignAttempts = d.AssignAttempts
	}
	if c.AssignBackoff == 0 {
		c.AssignBackoff = d.AssignBackoff
	}
	return c
}

// validate names every field that is out of range.
func (c Config) validate() error {
	fields := map[string]string{}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fields["public_url"] = "must be an absolute http(s) URL"
	}
	if c.PollEvery < 0 || c.SubmitTimeout < 0 || c.TickEvery < 0 || c.AssignAttempts < 0 || c.AssignBackoff < 0 {
		fields["durations"] = "may not be negative"
	}
	if len(fields) > 0 {
		return &steeple.Error{Code: steeple.EINVALID, Message: "registration configuration is invalid", Fields: fields}
	}
	return nil
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{PublicURL: "http://127.0.0.1:8080", PollEvery: 10 * time.Minute, SubmitTimeout: 10 * time.Minute, TickEvery: time.Minute,
		AssignAttempts: 5, AssignBackoff: 10 * time.Minute}
}

// Service runs churches' registrations.
type Service struct {
	ten    *tenancy.Tenancy
	store  *store.Store
	client *telnyx.Client
	cfg    Config
	log    *slog.Logger
}

// New returns the service over a queue that is not open yet: it adds the
// poller and its tick (every cfg.TickEvery) to q.
func New(ten *tenancy.Tenancy, st *store.Store, client *telnyx.Client, q *jobs.Queue, cfg Config, log *slog.Logger) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Service{ten: ten, store: st, client: client, cfg: cfg, log: log}
	s.register(q.Workers())
	q.AddPeriodic(s.periodicJobs(cfg.TickEvery)...)
	return s, nil
}

func (s *Service) webhookURL() string {
	return strings.TrimRight(s.cfg.PublicURL, "/") + "/webhooks/telnyx"
}

// Status is a registration as the API shows it.
type Status struct {
	*store.Registration
	Numbers []*tenancy.Number `json:"numbers"`
}

// Get returns the church's registration; a church that never submitted one
// has status "not_submitted".
func (s *Service) Get(ctx context.Context, h *tenancy.Handle) (*Status, error) {
	r, err := s.store.Registration(ctx, h)
	if steeple.ErrorCode(err) == steeple.ENOTFOUND {
		r, err = &store.Registration{Status: "not_submitted", Reasons: []string{}}, nil
	}
	if err != nil {
		return nil, err
	}
	ns, err := s.ten.Registry.ChurchNumbers(ctx, h.TenantID())
	if err != nil {
		return nil, err
	}
	return &Status{Registration: r, Numbers: ns}, nil
}

var (
	einPattern   = regexp.MustCompile(`^[0-9]{2}-?[0-9]{7}$`)
	statePattern = regexp.MustCompile(`^[A-Z]{2}$`)
	zipPattern   = regexp.MustCompile(`^[0-9]{5}(-[0-9]{4})?$`)
)

// SubmitRequest is the brand an admin submits: the wire form, decoded by
// httpapi and turned into the stored profile by validate (the stored form
// keeps only the EIN's last four digits for showing; a client cannot set
// them).
type SubmitRequest struct {
	LegalName    string `json:"legal_name"`
	EIN          string `json:"ein"`
	Street       string `json:"street"`
	City         string `json:"city"`
	State        string `json:"state"`
	PostalCode   string `json:"postal_code"`
	Website      string `json:"website"`
	ContactEmail string `json:"contact_email"`
	ContactPhone string `json:"contact_phone"`
	// EINLast4 is accepted and ignored: a profile read back may be sent
	// again as it was shown.
	EINLast4 string `json:"ein_last4,omitempty"`
}

// Check validates a brand without submitting it (pages check each field as
// it is typed). Errors: EINVALID naming the fields.
func Check(r SubmitRequest) error {
	_, err := validate(r)
	return err
}

// validate checks and normalises a submitted brand into the profile to store.
func validate(r SubmitRequest) (store.BrandProfile, error) {
	p := store.BrandProfile{LegalName: r.LegalName, EIN: r.EIN, Street: r.Street, City: r.City, State: r.State,
		PostalCode: r.PostalCode, Website: r.Website, ContactEmail: r.ContactEmail, ContactPhone: r.ContactPhone}
	fe := map[string]string{}
	trim := func(v *string) { *v = strings.Join(strings.Fields(*v), " ") }
	for _, v := range []*string{&p.LegalName, &p.EIN, &p.Street, &p.City, &p.State, &p.PostalCode, &p.Website, &p.ContactEmail, &p.ContactPhone} {
		trim(v)
	}
	required := map[string]string{"legal_name": p.LegalName, "street": p.Street, "city": p.City}
	for k, v := range required {
		if v == "" {
			fe[k] = "is required"
		} else if len([]rune(v)) > 100 {
			fe[k] = "must be at most 100 characters"
		}
	}
	if !einPattern.MatchString(p.EIN) {
		fe["ein"] = "must be the 9-digit EIN, e.g. 12-3456789"
	}
	p.EIN = strings.ReplaceAll(p.EIN, "-", "")
	if len(p.EIN) == 9 {
		p.EINLast4 = p.EIN[5:]
	}
	if p.State = strings.ToUpper(p.State); !statePattern.MatchString(p.State) {
		fe["state"] = "must be the 2-letter state code"
	}
	if !zipPattern.MatchString(p.PostalCode) {
		fe["postal_code"] = "must be a US ZIP code"
	}
	if p.Website != "" {
		if u, err := url.Parse(p.Website); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fe["website"] = "must be an http(s) URL"
		}
	}
	var err error
	if p.ContactEmail, err = steeple.NormalizeEmail("contact_email", p.ContactEmail); err != nil {
		fe["contact_email"] = steeple.FieldMessage(err, "contact_email")
	}
	if p.ContactPhone, err = steeple.NormalizePhone("contact_phone", p.ContactPhone, "US"); err != nil {
		fe["contact_phone"] = steeple.FieldMessage(err, "contact_phone")
	}
	if len(fe) > 0 {
		return p, &steeple.Error{Code: steeple.EINVALID, Message: "some fields are invalid", Fields: fe}
	}
	return p, nil
}

// Submit registers the church's brand, or resubmits after a failure: a
// failed brand is corrected and vetted again; a rejected campaign is
// submitted again. Errors: EINVALID, ECONFLICT while a registration is
// under way or done, EUNAVAILABLE when the provider does not answer.
// The submission is recorded in the church's audit log as the admin's.
func (s *Service) Submit(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, ip string, in SubmitRequest) (*Status, error) {
	st, err := s.submit(ctx, h, in)
	if err != nil {
		return nil, err
	}
	return st, s.store.Audit(ctx, h, store.AuditEntry{ActorID: admin.ID, Action: "registration.submitted", IP: ip, Detail: string(st.Status)})
}

func (s *Service) submit(ctx context.Context, h *tenancy.Handle, in SubmitRequest) (*Status, error) {
	p, err := validate(in)
	if err != nil {
		return nil, err
	}
	prev, err := s.store.Registration(ctx, h)
	if err != nil && steeple.ErrorCode(err) != steeple.ENOTFOUND {
		return nil, err
	}
	next := steeple.RegBrandPending
	if prev != nil && prev.Status == steeple.RegCampaignRejected {
		next = steeple.RegCampaignPending
	}
	if err := s.store.SubmitRegistration(ctx, h, p, next, steeple.RegBrandFailed, steeple.RegCampaignRejected); err != nil {
		return nil, err
	}
	// The poller looks before the provider is called: if this process dies
	// part-way, Sync finishes or fails the submission (recoverBrand).
	if err := s.ten.Registry.SchedulePoll(ctx, h.TenantID(), s.cfg.Now().Add(s.cfg.PollEvery)); err != nil {
		return nil, err
	}
	if err := s.submitToProvider(ctx, h, prev, p); err != nil {
		// Back to where it was, with the reason: the church may try again.
		back := steeple.RegBrandFailed
		if next == steeple.RegCampaignPending {
			back = steeple.RegCampaignRejected
		}
		if _, aerr := s.store.AdvanceRegistration(ctx, h, store.RegistrationChange{Status: back,
			Reasons: []string{"could not be submitted: " + err.Error()}}, next); aerr != nil {
			return nil, aerr
		}
		var refused *telnyx.Error
		if errors.As(err, &refused) && (refused.Status == http.StatusBadRequest || refused.Status == http.StatusConflict ||
			refused.Status == http.StatusUnprocessableEntity) {
			return nil, &steeple.Error{Code: steeple.EINVALID, Message: "the provider refused the registration: " +
				strings.TrimSpace(refused.Title+" "+refused.Detail), Err: err}
		}
		return nil, &steeple.Error{Code: steeple.EUNAVAILABLE, Message: "the registration could not reach the provider; try again", Err: err}
	}
	// A webhook that came before the new brand was recorded found nothing
	// to route to or move, and the brand sends only one: look once now
	// (the provider's state already shows what that webhook said).
	if err := s.Sync(ctx, h); err != nil {
		s.log.Warn("registration: first look failed; the poller will look again", "tenant", h.TenantID(), "err", err)
	}
	return s.Get(ctx, h)
}

// submitToProvider creates the brand, or resubmits what failed.
func (s *Service) submitToProvider(ctx context.Context, h *tenancy.Handle, prev *store.Registration, p store.BrandProfile) error {
	req := s.brandRequest(h.TenantID(), h.Tenant().Name, p)
	switch {
	case prev != nil && prev.Status == steeple.RegCampaignRejected && prev.CampaignID != "":
		_, err := s.client.UpdateCampaign(ctx, prev.CampaignID, telnyx.CampaignUpdate{SampleMessages: sampleMessages(h.Tenant().Name),
			WebhookURL: s.webhookURL()})
		return err
	case prev != nil && prev.BrandID != "":
		_, err := s.client.UpdateBrand(ctx, prev.BrandID, req)
		return err
	}
	// A brand created by an earlier try that died before recording it is
	// taken over, not created again: each brand is billed.
	b, err := s.client.FindBrand(ctx, req.DisplayName, req.ReferenceID)
	switch {
	case err != nil:
		return err
	case b != nil && b.Failed():
		if b, err = s.client.UpdateBrand(ctx, b.BrandID, req); err != nil {
			return err
		}
	case b == nil:
		if b, err = s.client.CreateBrand(ctx, req); err != nil {
			return err
		}
	}
	if err := s.ten.Registry.AddProviderObject(ctx, h.TenantID(), KindBrand, b.BrandID); err != nil {
		return err
	}
	_, err = s.store.AdvanceRegistration(ctx, h, store.RegistrationChange{Status: steeple.RegBrandPending, BrandID: b.BrandID},
		steeple.RegBrandPending)
	return err
}

// brandReference is the church's own id for its brand at the provider.
func brandReference(tenantID string) string { return "steeple-" + tenantID }

func (s *Service) brandRequest(tenantID, church string, p store.BrandProfile) telnyx.BrandRequest {
	return telnyx.BrandRequest{ReferenceID: brandReference(tenantID), EntityType: telnyx.EntityNonProfit, DisplayName: church, CompanyName: p.LegalName, EIN: p.EIN,
		Country: "US", Street: p.Street, City: p.City, State: p.State, PostalCode: p.PostalCode, Email: p.ContactEmail,
		Phone: p.ContactPhone, Website: p.Website, Vertical: telnyx.VerticalNGO, WebhookURL: s.webhookURL()}
}

// sampleMessages are what the church's texts look like, for carriers.
func sampleMessages(church string) []string {
	return []string{
		church + ": Service moves to 11am this Sunday. See you there! Reply STOP to opt out.",
		church + ": Hi Ann, the youth retreat sign-up closes Friday. Reply HELP for help, STOP to opt out.",
		church + ": Thank you for texting us. A pastor will call you back today.",
	}
}

// campaignRequest describes the church's texting so that it matches what
// Steeple does: opt-in recorded with its wording or by START, STOP and
// HELP keywords answered as the inbox answers them.
func (s *Service) campaignRequest(ctx context.Context, h *tenancy.Handle, brandID string) (telnyx.CampaignRequest, error) {
	church := h.Tenant().Name
	contact, err := s.store.Setting(ctx, h, steeple.SettingHelpContact)
	if err != nil {
		return telnyx.CampaignRequest{}, err
	}
	return telnyx.CampaignRequest{
		BrandID: brandID, Usecase: telnyx.UsecaseMixed,
		SubUsecases: []string{telnyx.UsecaseAccountNotification, telnyx.UsecaseCustomerCare},
		Description: fmt.Sprintf("%s sends its members service announcements, event reminders and replies to their texts. "+
			"Only members who agreed to receive texts are texted.", church),
		SampleMessages: sampleMessages(church),
		MessageFlow: "Members opt in when they give their mobile number to " + church + " on a membership or event form that " +
			"says they will receive texts (the wording is recorded with their consent), or by texting START to the church's number.",
		HelpMessage: inbox.HelpAnswer(church, contact), OptinMessage: inbox.StartAnswer(church), OptoutMessage: inbox.StopAnswer(church),
		HelpKeywords: inbox.HelpKeywords(), OptinKeywords: inbox.StartKeywords(), OptoutKeywords: inbox.StopKeywords(),
		EmbeddedLink: true, EmbeddedLinkSample: "https://example.org/events", SubscriberOptin: true, SubscriberOptout: true,
		SubscriberHelp: true, TermsAndConditions: true,
		ReferenceID: "steeple-" + h.TenantID() + "-" + brandID, WebhookURL: s.webhookURL(),
	}, nil
}

// CampaignText is what Steeple tells carriers about the church's texting:
// the campaign it submits once the brand is verified.
type CampaignText struct {
	Description    string
	SampleMessages []string
	MessageFlow    string // how members opt in
	HelpMessage    string
	OptoutMessage  string
}

// Campaign returns the church's campaign as it is (or will be) submitted.
func (s *Service) Campaign(ctx context.Context, h *tenancy.Handle) (CampaignText, error) {
	c, err := s.campaignRequest(ctx, h, "")
	if err != nil {
		return CampaignText{}, err
	}
	return CampaignText{Description: c.Description, SampleMessages: c.SampleMessages, MessageFlow: c.MessageFlow,
		HelpMessage: c.HelpMessage, OptoutMessage: c.OptoutMessage}, nil
}

// PollArgs is the periodic job looking at registrations waiting on the
// provider (for webhooks that never came).
type PollArgs struct{}

// Kind names the job.
func (PollArgs) Kind() string { return "registration_poll" }

// InsertOpts keeps one at a time.
func (PollArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: time.Minute}}
}

type pollWorker struct {
	river.WorkerDefaults[PollArgs]
	svc *Service
}

func (w *pollWorker) Work(ctx context.Context, _ *river.Job[PollArgs]) error {
	_, err := w.svc.PollDue(ctx)
	return err
}

// register adds the poller.
func (s *Service) register(w *river.Workers) { river.AddWorker(w, &pollWorker{svc: s}) }

// periodicJobs run the poller every interval.
func (s *Service) periodicJobs(interval time.Duration) []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return PollArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})}
}

// PollDue syncs every church whose registration is due a look. Its cost
// is the number of such churches. It returns how many it looked at.
func (s *Service) PollDue(ctx context.Context) (int, error) {
	due, err := s.ten.Registry.DuePolls(ctx, s.cfg.Now(), 100)
	if err != nil {
		return 0, err
	}
	for _, id := range due {
		if err := s.SyncChurch(ctx, id); err != nil {
			s.log.Warn("registration poll", "tenant", id, "err", err)
			// Looked at again next round, not at once.
			if err := s.ten.Registry.SchedulePoll(ctx, id, s.cfg.Now().Add(s.cfg.PollEvery)); err != nil {
				return 0, err
			}
		}
	}
	return len(due), nil
}

// SyncChurch syncs one church by id (webhooks and the poller).
func (s *Service) SyncChurch(ctx context.Context, tenantID string) error {
	// A suspended church's registration still follows the provider (it
	// sends nothing meanwhile), so it is where it should be when resumed.
	h, err := s.ten.Manager.AcquireToRecord(ctx, tenantID)
	if steeple.ErrorCode(err) == steeple.ENOTFOUND {
		return s.ten.Registry.UnschedulePoll(ctx, tenantID)
	}
	if err != nil {
		return err
	}
	defer h.Release()
	return s.Sync(ctx, h)
}

// NumberAdded assigns a church's new number to its campaign, if it has a
// provisioned one.
func (s *Service) NumberAdded(ctx context.Context, tenantID, _ string) {
	if err := s.SyncChurch(ctx, tenantID); err != nil {
		s.log.Warn("registration: new number not assigned yet; the poller will", "tenant", tenantID, "err", err)
		_ = s.ten.Registry.SchedulePoll(ctx, tenantID, s.cfg.Now().Add(s.cfg.PollEvery))
	}
}
