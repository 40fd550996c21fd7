package telnyxsim

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// 10DLC registration: brands, campaigns and number assignments, each moved
// through its lifecycle in the background as SetRegistrationOutcome says, with
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

// Registration kinds for SetRegistrationOutcome.
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

// SetRegistrationOutcome sets the outcome for kind (RegistrationBrand,
// RegistrationCampaign or RegistrationAssignment); initially every kind is
// approved. It applies to later submissions and resubmissions, not to those
// already running.
func (s *Sim) SetRegistrationOutcome(kind string, o RegistrationOutcome) error {
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

// SetRegistrationWebhooks turns 10DLC webhooks on (the default) or off. While
// off, registrations still progress and GET shows it, but nothing is posted
// or recorded, as when every delivery is lost: the case a poller must cover.
func (s *Sim) SetRegistrationWebhooks(on bool) {
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

// brandBody is the request of POST and PUT /10dlc/brand and the data half of
// the answer.
type brandBody struct {
	EntityType         string `json:"entityType"`
	DisplayName        string `json:"displayName"`
	CompanyName        string `json:"companyName"`
	EIN                string `json:"ein"`
	Country            string `json:"country"`
	Street             string `json:"street"`
	City               string `json:"city"`
	State              string `json:"state"`
	PostalCode         string `json:"postalCode"`
	Email              string `json:"email"`
	Phone              string `json:"phone"`
	Website            string `json:"website"`
	Vertical           string `json:"vertical"`
	WebhookURL         string `json:"webhookURL"`
	WebhookFailoverURL string `json:"webhookFailoverURL"`
}

type simBrand struct {
	brandBody
	seq, gen, submissions int // gen changes with each submission: older lifecycles stop
	id, tcrID             string
	status, identity      string
	reasons               []string
	created, updated      time.Time
}

// wireBrand is Telnyx's brand object.
type wireBrand struct {
	brandBody
	BrandID           string  `json:"brandId"`
	TCRBrandID        *string `json:"tcrBrandId"`
	Status            string  `json:"status"`
	IdentityStatus    *string `json:"identityStatus"`
	FailureReasons    *string `json:"failureReasons"`
	BrandRelationship string  `json:"brandRelationship"`
	CspID             string  `json:"cspId"`
	Mock              bool    `json:"mock"`
	CreatedAt         string  `json:"createdAt"`
	UpdatedAt         string  `json:"updatedAt"`
}

func (b *simBrand) wire() wireBrand {
	return wireBrand{brandBody: b.brandBody, BrandID: b.id, TCRBrandID: strPtr(b.tcrID), Status: b.status,
		IdentityStatus: strPtr(b.identity), FailureReasons: strPtr(strings.Join(b.reasons, "; ")),
		BrandRelationship: "BASIC_ACCOUNT", CspID: simCspID,
		CreatedAt: telnyxTime(b.created), UpdatedAt: telnyxTime(b.updated)}
}

// campaignBody is the request of POST /10dlc/campaignBuilder and the data
// half of the answer.
type campaignBody struct {
	BrandID                string   `json:"brandId"`
	Usecase                string   `json:"usecase"`
	SubUsecases            []string `json:"subUsecases"`
	Description            string   `json:"description"`
	Sample1                string   `json:"sample1"`
	Sample2                string   `json:"sample2"`
	Sample3                string   `json:"sample3"`
	Sample4                string   `json:"sample4"`
	Sample5                string   `json:"sample5"`
	MessageFlow            string   `json:"messageFlow"`
	HelpMessage            string   `json:"helpMessage"`
	OptinMessage           string   `json:"optinMessage"`
	OptoutMessage          string   `json:"optoutMessage"`
	HelpKeywords           string   `json:"helpKeywords"`
	OptinKeywords          string   `json:"optinKeywords"`
	OptoutKeywords         string   `json:"optoutKeywords"`
	EmbeddedLink           bool     `json:"embeddedLink"`
	EmbeddedLinkSample     string   `json:"embeddedLinkSample"`
	EmbeddedPhone          bool     `json:"embeddedPhone"`
	NumberPool             bool     `json:"numberPool"`
	AgeGated               bool     `json:"ageGated"`
	DirectLending          bool     `json:"directLending"`
	SubscriberOptin        bool     `json:"subscriberOptin"`
	SubscriberOptout       bool     `json:"subscriberOptout"`
	SubscriberHelp         bool     `json:"subscriberHelp"`
	TermsAndConditions     bool     `json:"termsAndConditions"`
	AutoRenewal            *bool    `json:"autoRenewal"`
	PrivacyPolicyLink      string   `json:"privacyPolicyLink"`
	TermsAndConditionsLink string   `json:"termsAndConditionsLink"`
	ReferenceID            string   `json:"referenceId"`
	WebhookURL             string   `json:"webhookURL"`
	WebhookFailoverURL     string   `json:"webhookFailoverURL"`
}

type simCampaign struct {
	campaignBody
	seq, gen, submissions int
	id, tcrID, status     string
	reasons               []string
	created, updated      time.Time
}

// wireCampaign is Telnyx's campaign object.
type wireCampaign struct {
	campaignBody
	CampaignID          string  `json:"campaignId"`
	TCRBrandID          *string `json:"tcrBrandId"`
	TCRCampaignID       *string `json:"tcrCampaignId"`
	BrandDisplayName    string  `json:"brandDisplayName"`
	CampaignStatus      string  `json:"campaignStatus"`
	FailureReasons      *string `json:"failureReasons"`
	Status              string  `json:"status"`
	SubmissionStatus    string  `json:"submissionStatus"`
	CspID               string  `json:"cspId"`
	Mock                bool    `json:"mock"`
	IsTMobileRegistered bool    `json:"isTMobileRegistered"`
	CreateDate          string  `json:"createDate"`
}

type simAssignment struct {
	seq, gen          int
	phone, campaignID string
	status            string
	reasons           []string
	created, updated  time.Time
}

// wireAssignment is Telnyx's phone number campaign object.
type wireAssignment struct {
	PhoneNumber      string  `json:"phoneNumber"`
	CampaignID       string  `json:"campaignId"`
	TelnyxCampaignID string  `json:"telnyxCampaignId"`
	BrandID          string  `json:"brandId"`
	TCRBrandID       *string `json:"tcrBrandId"`
	TCRCampaignID    *string `json:"tcrCampaignId"`
	AssignmentStatus string  `json:"assignmentStatus"`
	FailureReasons   *string `json:"failureReasons"`
	CreatedAt        string  `json:"createdAt"`
	UpdatedAt        string  `json:"updatedAt"`
}

const simCspID = "SIMCSP"

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// newTCRID returns a registry id as TCR writes them: prefix ("B" for brands,
// "C" for campaigns) and six upper-case letters and digits.
func newTCRID(prefix string) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	var b [6]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return prefix + string(b[:])
}

func (s *Sim) routeTenDLC() {
	s.mux.HandleFunc("POST /v2/10dlc/brand", s.api(s.handleCreateBrand))
	s.mux.HandleFunc("GET /v2/10dlc/brand/{id}", s.api(s.handleGetBrand))
	s.mux.HandleFunc("PUT /v2/10dlc/brand/{id}", s.api(s.handleUpdateBrand))
	s.mux.HandleFunc("POST /v2/10dlc/campaignBuilder", s.api(s.handleCreateCampaign))
	s.mux.HandleFunc("GET /v2/10dlc/campaign/{id}", s.api(s.handleGetCampaign))
	s.mux.HandleFunc("PUT /v2/10dlc/campaign/{id}", s.api(s.handleUpdateCampaign))
	s.mux.HandleFunc("POST /v2/10dlc/phone_number_campaigns", s.api(s.handleAssignNumber))
	s.mux.HandleFunc("GET /v2/10dlc/phone_number_campaigns/{phone}", s.api(s.handleGetAssignment))
}

// required answers 422 for the first empty field of fields (name, value
// pairs) and reports whether all were set.
func required(w http.ResponseWriter, fields ...string) bool {
	for i := 0; i+1 < len(fields); i += 2 {
		if strings.TrimSpace(fields[i+1]) == "" {
			writeError(w, http.StatusUnprocessableEntity, "10015", "Bad Request", fields[i]+" is required.", "/"+fields[i])
			return false
		}
	}
	return true
}

var entityTypes = []string{"PRIVATE_PROFIT", "PUBLIC_PROFIT", "NON_PROFIT", "GOVERNMENT", "SOLE_PROPRIETOR"}

func validBrand(w http.ResponseWriter, b brandBody) bool {
	if !required(w, "entityType", b.EntityType, "displayName", b.DisplayName, "country", b.Country,
		"email", b.Email, "vertical", b.Vertical) {
		return false
	}
	if !slices.Contains(entityTypes, b.EntityType) {
		writeError(w, http.StatusUnprocessableEntity, "10015", "Bad Request",
			"entityType must be one of "+strings.Join(entityTypes, ", ")+".", "/entityType")
		return false
	}
	return true
}

func notFound(w http.ResponseWriter, what, id, pointer string) {
	writeError(w, http.StatusNotFound, "10005", "Resource not found", "No "+what+" "+id+".", pointer)
}

func (s *Sim) handleCreateBrand(w http.ResponseWriter, r *http.Request) {
	var req brandBody
	if !decodeBody(w, r, &req) || !validBrand(w, req) {
		return
	}
	s.mu.Lock()
	now := s.clock()
	s.regSeq++
	b := &simBrand{brandBody: req, seq: s.regSeq, id: newUUID(), created: now, updated: now}
	s.brands[b.id] = b
	run := s.submitBrandLocked(b)
	out := b.wire()
	s.mu.Unlock()
	s.launch(run) // before answering, so WaitIdle sees it
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) handleGetBrand(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.brands[r.PathValue("id")]
	if b == nil {
		notFound(w, "brand", r.PathValue("id"), "")
		return
	}
	writeJSON(w, http.StatusOK, b.wire())
}

// handleUpdateBrand replaces the brand's data; a REGISTRATION_FAILED brand is
// vetted again.
func (s *Sim) handleUpdateBrand(w http.ResponseWriter, r *http.Request) {
	var req brandBody
	if !decodeBody(w, r, &req) || !validBrand(w, req) {
		return
	}
	s.mu.Lock()
	b := s.brands[r.PathValue("id")]
	if b == nil {
		s.mu.Unlock()
		notFound(w, "brand", r.PathValue("id"), "")
		return
	}
	b.brandBody, b.updated = req, s.clock()
	var run *registrationRun
	if b.status == "REGISTRATION_FAILED" {
		run = s.submitBrandLocked(b)
	}
	out := b.wire()
	s.mu.Unlock()
	s.launch(run)
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) handleCreateCampaign(w http.ResponseWriter, r *http.Request) {
	var req campaignBody
	if !decodeBody(w, r, &req) ||
		!required(w, "brandId", req.BrandID, "usecase", req.Usecase, "description", req.Description) {
		return
	}
	s.mu.Lock()
	b := s.brands[req.BrandID]
	switch {
	case b == nil:
		s.mu.Unlock()
		notFound(w, "brand", req.BrandID, "/brandId")
		return
	case b.status != "OK":
		s.mu.Unlock()
		writeError(w, http.StatusUnprocessableEntity, "10015", "Brand not registered",
			"Brand "+b.id+" is "+b.status+": a campaign needs a brand in status OK.", "/brandId")
		return
	}
	for _, c := range s.campaigns {
		if req.ReferenceID != "" && c.ReferenceID == req.ReferenceID {
			s.mu.Unlock()
			writeError(w, http.StatusUnprocessableEntity, "10015", "Duplicate referenceId",
				"Campaign "+c.id+" was submitted with referenceId "+req.ReferenceID+".", "/referenceId")
			return
		}
	}
	if req.SubUsecases == nil {
		req.SubUsecases = []string{}
	}
	if req.AutoRenewal == nil {
		on := true
		req.AutoRenewal = &on
	}
	now := s.clock()
	s.regSeq++
	c := &simCampaign{campaignBody: req, seq: s.regSeq, id: newUUID(), created: now, updated: now}
	s.campaigns[c.id] = c
	run := s.submitCampaignLocked(c, "TCR_PENDING")
	out := s.campaignWireLocked(c)
	s.mu.Unlock()
	s.launch(run)
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) campaignWireLocked(c *simCampaign) wireCampaign {
	out := wireCampaign{campaignBody: c.campaignBody, CampaignID: c.id, TCRCampaignID: strPtr(c.tcrID),
		CampaignStatus: c.status, FailureReasons: strPtr(strings.Join(c.reasons, "; ")), Status: "ACTIVE",
		SubmissionStatus: "CREATED", CspID: simCspID, IsTMobileRegistered: c.status == "MNO_PROVISIONED",
		CreateDate: telnyxTime(c.created)}
	if b := s.brands[c.BrandID]; b != nil {
		out.TCRBrandID, out.BrandDisplayName = strPtr(b.tcrID), b.DisplayName
	}
	return out
}

func (s *Sim) handleGetCampaign(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.campaigns[r.PathValue("id")]
	if c == nil {
		notFound(w, "campaign", r.PathValue("id"), "")
		return
	}
	writeJSON(w, http.StatusOK, s.campaignWireLocked(c))
}

// handleUpdateCampaign edits samples and webhooks. As at Telnyx, updating a
// rejected campaign resubmits it: TELNYX_FAILED and MNO_REJECTED go back to
// TCR_ACCEPTED, TCR_FAILED to TCR_PENDING.
func (s *Sim) handleUpdateCampaign(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Sample1            string `json:"sample1"`
		Sample2            string `json:"sample2"`
		Sample3            string `json:"sample3"`
		Sample4            string `json:"sample4"`
		Sample5            string `json:"sample5"`
		WebhookURL         string `json:"webhookURL"`
		WebhookFailoverURL string `json:"webhookFailoverURL"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	c := s.campaigns[r.PathValue("id")]
	if c == nil {
		s.mu.Unlock()
		notFound(w, "campaign", r.PathValue("id"), "")
		return
	}
	setIf(&c.Sample1, req.Sample1)
	setIf(&c.Sample2, req.Sample2)
	setIf(&c.Sample3, req.Sample3)
	setIf(&c.Sample4, req.Sample4)
	setIf(&c.Sample5, req.Sample5)
	setIf(&c.WebhookURL, req.WebhookURL)
	setIf(&c.WebhookFailoverURL, req.WebhookFailoverURL)
	c.updated = s.clock()
	var run *registrationRun
	switch c.status {
	case "TCR_FAILED":
		run = s.submitCampaignLocked(c, "TCR_PENDING")
	case "TELNYX_FAILED", "MNO_REJECTED":
		run = s.submitCampaignLocked(c, "TCR_ACCEPTED")
	}
	out := s.campaignWireLocked(c)
	s.mu.Unlock()
	s.launch(run)
	writeJSON(w, http.StatusOK, out)
}

// setIf sets *dst to v unless v is empty (a field left out of an update).
func setIf(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

func (s *Sim) handleAssignNumber(w http.ResponseWriter, r *http.Request) {
	var req struct {
		PhoneNumber string `json:"phoneNumber"`
		CampaignID  string `json:"campaignId"`
	}
	if !decodeBody(w, r, &req) || !required(w, "phoneNumber", req.PhoneNumber, "campaignId", req.CampaignID) {
		return
	}
	if !isE164(req.PhoneNumber) {
		writeError(w, http.StatusUnprocessableEntity, "10015", "Bad Request",
			"phoneNumber must be in E.164 format.", "/phoneNumber")
		return
	}
	s.mu.Lock()
	if s.campaigns[req.CampaignID] == nil {
		s.mu.Unlock()
		notFound(w, "campaign", req.CampaignID, "/campaignId")
		return
	}
	if a := s.assignments[req.PhoneNumber]; a != nil && a.status != "FAILED_ASSIGNMENT" {
		s.mu.Unlock()
		writeError(w, http.StatusUnprocessableEntity, "10015", "Phone number already assigned",
			req.PhoneNumber+" is "+a.status+" to campaign "+a.campaignID+".", "/phoneNumber")
		return
	}
	now := s.clock()
	s.regSeq++
	a := &simAssignment{seq: s.regSeq, phone: req.PhoneNumber, campaignID: req.CampaignID, created: now, updated: now}
	s.assignments[a.phone] = a
	run := s.submitAssignmentLocked(a)
	out := s.assignmentWireLocked(a)
	s.mu.Unlock()
	s.launch(run)
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) assignmentWireLocked(a *simAssignment) wireAssignment {
	out := wireAssignment{PhoneNumber: a.phone, CampaignID: a.campaignID, TelnyxCampaignID: a.campaignID,
		AssignmentStatus: a.status, FailureReasons: strPtr(strings.Join(a.reasons, "; ")),
		CreatedAt: telnyxTime(a.created), UpdatedAt: telnyxTime(a.updated)}
	if c := s.campaigns[a.campaignID]; c != nil {
		out.BrandID, out.TCRCampaignID = c.BrandID, strPtr(c.tcrID)
		if b := s.brands[c.BrandID]; b != nil {
			out.TCRBrandID = strPtr(b.tcrID)
		}
	}
	return out
}

func (s *Sim) handleGetAssignment(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.assignments[r.PathValue("phone")]
	if a == nil {
		notFound(w, "phone number campaign for", r.PathValue("phone"), "")
		return
	}
	writeJSON(w, http.StatusOK, s.assignmentWireLocked(a))
}

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
