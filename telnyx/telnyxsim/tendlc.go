package telnyxsim

import (
	"fmt"
	"slices"
	"time"
)

// 10DLC registration: brands, campaigns and number assignments, each moved
// through its lifecycle in the background as ScriptRegistration says, with
// a signed 10dlc.* webhook per transition to the object's webhookURL (then
// webhookFailoverURL). Number events go to the webhooks of the campaign, as
// at Telnyx. Every state is readable through the GET endpoints, so a poller
// sees the same story as a webhook receiver. The wire follows TELNYX.md:
// camelCase fields, bare objects (no {"data": …}), failureReasons as one
// string. In Webhooks, MessageID holds the brand id, campaign id or phone
// number the event is about.

// RegistrationResult says how a 10DLC registration ends.
type RegistrationResult int

// Registration results.
const (
	// Approve: the brand reaches OK (identity VERIFIED), the campaign
	// MNO_PROVISIONED, the assignment ASSIGNED (if the account owns the number
	// and the campaign is provisioned by then).
	Approve RegistrationResult = iota
	// Reject: REGISTRATION_FAILED, a campaign failure (RegistrationOutcome.RejectAt)
	// or FAILED_ASSIGNMENT, with RegistrationOutcome.Reasons.
	Reject
	// Stall: the object stays pending, as when a reviewer never answers.
	Stall
)

// String returns the result's name as /sim/registration/outcome spells it.
func (r RegistrationResult) String() string {
	switch r {
	case Reject:
		return "reject"
	case Stall:
		return "stall"
	default:
		return "approve"
	}
}

// ParseRegistrationResult reads "approve", "reject" or "stall".
func ParseRegistrationResult(s string) (RegistrationResult, error) {
	for _, r := range []RegistrationResult{Approve, Reject, Stall} {
		if s == r.String() {
			return r, nil
		}
	}
	return Approve, fmt.Errorf("telnyxsim: unknown registration result %q", s)
}

// Registration kinds for ScriptRegistration.
const (
	RegistrationBrand      = "brand"
	RegistrationCampaign   = "campaign"
	RegistrationAssignment = "assignment"
)

// DefaultRegistrationDelay is the real time between two registration steps
// when RegistrationOutcome.Delay is zero.
const DefaultRegistrationDelay = 50 * time.Millisecond

// RegistrationOutcome is what happens to the brands, campaigns or number
// assignments submitted (or resubmitted) after it is set.
type RegistrationOutcome struct {
	Result RegistrationResult
	// Reasons explain a Reject (a realistic default when empty).
	Reasons []string
	// Delay is the real time before each step (default
	// DefaultRegistrationDelay). A campaign takes four steps: TCR_ACCEPTED,
	// TELNYX_ACCEPTED, MNO_PENDING, MNO_PROVISIONED; brands and assignments one.
	Delay time.Duration
	// RejectAt is where a campaign is rejected: "TCR_FAILED", "TELNYX_FAILED"
	// (the default) or "MNO_REJECTED". A resubmitted campaign restarts at
	// TCR_ACCEPTED, so a TCR_FAILED setting then rejects at Telnyx review.
	RejectAt string
}

// campaignRejectStages lists the campaign failures in lifecycle order.
var campaignRejectStages = []string{"TCR_FAILED", "TELNYX_FAILED", "MNO_REJECTED"}

// ScriptRegistration sets the outcome for kind (RegistrationBrand,
// RegistrationCampaign or RegistrationAssignment); initially every kind is
// approved. It applies to later submissions and resubmissions, not to those
// already running.
func (s *Sim) ScriptRegistration(kind string, o RegistrationOutcome) error {
	switch kind {
	case RegistrationBrand, RegistrationAssignment:
	case RegistrationCampaign:
		if o.RejectAt != "" && !slices.Contains(campaignRejectStages, o.RejectAt) {
			return fmt.Errorf("telnyxsim: RejectAt %q: want one of %v", o.RejectAt, campaignRejectStages)
		}
	default:
		return fmt.Errorf("telnyxsim: unknown registration kind %q (brand, campaign or assignment)", kind)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regOutcomes[kind] = o
	return nil
}

// SendRegistrationWebhooks turns 10DLC webhooks on (the default) or off. While
// off, registrations still progress and GET shows it, but nothing is posted
// or recorded, as when every delivery is lost: the case a poller must cover.
func (s *Sim) SendRegistrationWebhooks(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regHooksOff = !on
}

// Brand is a 10DLC brand as the simulator holds it.
type Brand struct {
	BrandID            string    `json:"brand_id"`
	TCRBrandID         string    `json:"tcr_brand_id,omitempty"`
	DisplayName        string    `json:"display_name"`
	EntityType         string    `json:"entity_type"`
	Status             string    `json:"status"` // REGISTRATION_PENDING, OK or REGISTRATION_FAILED
	IdentityStatus     string    `json:"identity_status,omitempty"`
	FailureReasons     []string  `json:"failure_reasons,omitempty"`
	WebhookURL         string    `json:"webhook_url,omitempty"`
	WebhookFailoverURL string    `json:"webhook_failover_url,omitempty"`
	Submissions        int       `json:"submissions"` // 1, plus one per resubmission
	CreatedAt          time.Time `json:"created_at"`  // sim clock
}

// Campaign is a 10DLC campaign as the simulator holds it.
type Campaign struct {
	CampaignID         string    `json:"campaign_id"`
	BrandID            string    `json:"brand_id"`
	TCRCampaignID      string    `json:"tcr_campaign_id,omitempty"`
	Usecase            string    `json:"usecase"`
	CampaignStatus     string    `json:"campaign_status"`
	FailureReasons     []string  `json:"failure_reasons,omitempty"`
	WebhookURL         string    `json:"webhook_url,omitempty"`
	WebhookFailoverURL string    `json:"webhook_failover_url,omitempty"`
	Submissions        int       `json:"submissions"`
	CreatedAt          time.Time `json:"created_at"`
}

// NumberAssignment is a phone number's assignment to a campaign.
type NumberAssignment struct {
	PhoneNumber      string    `json:"phone_number"`
	CampaignID       string    `json:"campaign_id"`
	AssignmentStatus string    `json:"assignment_status"` // PENDING_ASSIGNMENT, ASSIGNED or FAILED_ASSIGNMENT
	FailureReasons   []string  `json:"failure_reasons,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
}

// Brands returns the brands, oldest first.
func (s *Sim) Brands() []Brand {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Brand
	for _, b := range sortedBySeq(s.brands, func(b *simBrand) int { return b.seq }) {
		out = append(out, Brand{BrandID: b.id, TCRBrandID: b.tcrID, DisplayName: b.DisplayName, EntityType: b.EntityType,
			Status: b.status, IdentityStatus: b.identity, FailureReasons: slices.Clone(b.reasons),
			WebhookURL: b.WebhookURL, WebhookFailoverURL: b.WebhookFailoverURL, Submissions: b.submissions, CreatedAt: b.created})
	}
	return out
}

// Campaigns returns the campaigns, oldest first.
func (s *Sim) Campaigns() []Campaign {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Campaign
	for _, c := range sortedBySeq(s.campaigns, func(c *simCampaign) int { return c.seq }) {
		out = append(out, Campaign{CampaignID: c.id, BrandID: c.BrandID, TCRCampaignID: c.tcrID, Usecase: c.Usecase,
			CampaignStatus: c.status, FailureReasons: slices.Clone(c.reasons), WebhookURL: c.WebhookURL,
			WebhookFailoverURL: c.WebhookFailoverURL, Submissions: c.submissions, CreatedAt: c.created})
	}
	return out
}

// Assignments returns the number assignments, oldest first.
func (s *Sim) Assignments() []NumberAssignment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []NumberAssignment
	for _, a := range sortedBySeq(s.assignments, func(a *simAssignment) int { return a.seq }) {
		out = append(out, NumberAssignment{PhoneNumber: a.phone, CampaignID: a.campaignID, AssignmentStatus: a.status,
			FailureReasons: slices.Clone(a.reasons), CreatedAt: a.created})
	}
	return out
}

func sortedBySeq[T any](m map[string]*T, seq func(*T) int) []*T {
	out := make([]*T, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b *T) int { return seq(a) - seq(b) })
	return out
}

// tenDLCState is the simulated registry. It is guarded by Sim.mu.
type tenDLCState struct {
	brands      map[string]*simBrand      // by brandId
	campaigns   map[string]*simCampaign   // by campaignId
	assignments map[string]*simAssignment // by phone number
	regOutcomes map[string]RegistrationOutcome
	regHooksOff bool
	regSeq      int
}

func newTenDLCState() tenDLCState {
	return tenDLCState{brands: map[string]*simBrand{}, campaigns: map[string]*simCampaign{},
		assignments: map[string]*simAssignment{}, regOutcomes: map[string]RegistrationOutcome{}}
}
