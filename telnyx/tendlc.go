package telnyx

// 10DLC: US A2P registration of a brand (the church), a campaign (what it
// texts and how members opt in) and the assignment of each long code to that
// campaign. Carriers filter unregistered 10DLC traffic (finalized error
// 40010), so a number is ready to send only once its assignment is ASSIGNED,
// which needs a campaign in MNO_PROVISIONED, which needs a brand in OK.
//
// Wire notes (TELNYX.md, the telnyx-go v4 types and the 10DLC event
// notification guide):
//   - field names are camelCase, unlike the rest of the API;
//   - answers are the bare object, not {"data": …};
//   - failureReasons is a single string on brands, campaigns and
//     assignments (see FailureReasons);
//   - keywords travel as one comma-separated string without spaces;
//   - timestamps are kept as the strings Telnyx sends, since the 10DLC
//     service does not promise the API's RFC 3339 format.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Brand entity types (BrandRequest.EntityType). A church is NON_PROFIT.
const (
	EntityNonProfit     = "NON_PROFIT"
	EntityPrivateProfit = "PRIVATE_PROFIT"
	EntityPublicProfit  = "PUBLIC_PROFIT"
	EntityGovernment    = "GOVERNMENT"
)

// VerticalNGO is TCR's vertical for non-profit organisations, the one that
// fits a church (BrandRequest.Vertical).
const VerticalNGO = "NGO"

// Brand statuses (Brand.Status).
const (
	BrandStatusOK      = "OK"
	BrandStatusPending = "REGISTRATION_PENDING"
	BrandStatusFailed  = "REGISTRATION_FAILED"
)

// Brand identity statuses (Brand.IdentityStatus).
const (
	IdentityVerified       = "VERIFIED"
	IdentityUnverified     = "UNVERIFIED"
	IdentitySelfDeclared   = "SELF_DECLARED"
	IdentityVettedVerified = "VETTED_VERIFIED"
)

// Campaign use cases (CampaignRequest.Usecase). A church's texts (service
// reminders, event announcements, pastoral care replies) span several TCR
// use cases, so MIXED with SubUsecases such as ACCOUNT_NOTIFICATION and
// CUSTOMER_CARE fits; LOW_VOLUME is the cheaper mixed class for small
// congregations (T-Mobile caps it at 2,000 texts a day). CHARITY is meant for
// fundraising by registered 501(c)(3) charities and is not the default.
const (
	UsecaseMixed               = "MIXED"
	UsecaseLowVolume           = "LOW_VOLUME"
	UsecaseAccountNotification = "ACCOUNT_NOTIFICATION"
	UsecaseCustomerCare        = "CUSTOMER_CARE"
	UsecaseCharity             = "CHARITY"
)

// Campaign statuses (Campaign.CampaignStatus), in lifecycle order, then the
// failures.
const (
	CampaignTCRPending     = "TCR_PENDING"
	CampaignTCRAccepted    = "TCR_ACCEPTED"
	CampaignTelnyxAccepted = "TELNYX_ACCEPTED"
	CampaignMNOPending     = "MNO_PENDING"
	CampaignMNOAccepted    = "MNO_ACCEPTED"
	CampaignMNOProvisioned = "MNO_PROVISIONED" // ready: numbers can be assigned

	CampaignTCRFailed             = "TCR_FAILED"
	CampaignTelnyxFailed          = "TELNYX_FAILED"
	CampaignMNORejected           = "MNO_REJECTED"
	CampaignMNOProvisioningFailed = "MNO_PROVISIONING_FAILED"
	CampaignTCRSuspended          = "TCR_SUSPENDED"
	CampaignTCRExpired            = "TCR_EXPIRED"
)

// Number assignment statuses (NumberCampaign.AssignmentStatus).
const (
	AssignmentPending             = "PENDING_ASSIGNMENT"
	AssignmentAssigned            = "ASSIGNED"
	AssignmentFailed              = "FAILED_ASSIGNMENT"
	AssignmentPendingUnassignment = "PENDING_UNASSIGNMENT"
	AssignmentFailedUnassignment  = "FAILED_UNASSIGNMENT"
)

// FailureReasons says why a brand, campaign or assignment failed. Telnyx
// documents failureReasons as one string; it is decoded leniently so a shape
// change does not break polling: a string gives one reason, an array gives one
// per entry (strings, or objects whose "description" is taken), null or ""
// gives none.
type FailureReasons []string

// UnmarshalJSON implements json.Unmarshaler.
func (f *FailureReasons) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = nil
		if s = strings.TrimSpace(s); s != "" {
			*f = FailureReasons{s}
		}
		return nil
	}
	var list []RegistrationReason
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("telnyx: failureReasons: %w", err)
	}
	*f = nil
	for _, r := range list {
		if r.Description != "" {
			*f = append(*f, r.Description)
		}
	}
	return nil
}

// String joins the reasons with "; ".
func (f FailureReasons) String() string { return strings.Join(f, "; ") }

// RegistrationReason is one entry of a 10DLC webhook's reasons[]: the
// offending request fields, when known, and what is wrong. A bare string
// decodes into Description.
type RegistrationReason struct {
	Fields      []string `json:"fields,omitempty"`
	Description string   `json:"description"`
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *RegistrationReason) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*r = RegistrationReason{Description: s}
		return nil
	}
	type plain RegistrationReason // without this method, to avoid recursion
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*r = RegistrationReason(p)
	return nil
}

// BrandRequest registers (POST /10dlc/brand) or resubmits (PUT
// /10dlc/brand/{id}) a brand. EntityType, DisplayName, Country, Email and
// Vertical are required by Telnyx; CreateBrand and UpdateBrand fill
// EntityType (EntityNonProfit), Country ("US") and Vertical (VerticalNGO) when
// they are empty. A NON_PROFIT brand also needs CompanyName (the legal name
// the IRS knows) and EIN to pass vetting.
type BrandRequest struct {
	EntityType  string `json:"entityType"`
	DisplayName string `json:"displayName"`
	CompanyName string `json:"companyName,omitempty"`
	EIN         string `json:"ein,omitempty"`
	Country     string `json:"country"`
	Street      string `json:"street,omitempty"`
	City        string `json:"city,omitempty"`
	State       string `json:"state,omitempty"` // two letters in the US
	PostalCode  string `json:"postalCode,omitempty"`
	Email       string `json:"email"`
	Phone       string `json:"phone,omitempty"` // E.164
	Website     string `json:"website,omitempty"`
	Vertical    string `json:"vertical"`
	// WebhookURL (then WebhookFailoverURL) receives 10dlc.brand.update.
	WebhookURL         string `json:"webhookURL,omitempty"`
	WebhookFailoverURL string `json:"webhookFailoverURL,omitempty"`
}

func (r BrandRequest) withDefaults() BrandRequest {
	if r.EntityType == "" {
		r.EntityType = EntityNonProfit
	}
	if r.Country == "" {
		r.Country = "US"
	}
	if r.Vertical == "" {
		r.Vertical = VerticalNGO
	}
	return r
}

// Brand is a registered 10DLC brand.
type Brand struct {
	BrandID    string `json:"brandId"`    // Telnyx's id: use it in every call
	TCRBrandID string `json:"tcrBrandId"` // the registry's id, e.g. "BBRAND1"; "" until TCR has it
	// Status is BrandStatusPending, BrandStatusOK or BrandStatusFailed.
	Status string `json:"status"`
	// IdentityStatus is IdentityVerified, IdentityUnverified, … once vetted.
	IdentityStatus string         `json:"identityStatus"`
	FailureReasons FailureReasons `json:"failureReasons"`

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
	CreatedAt          string `json:"createdAt"`
	UpdatedAt          string `json:"updatedAt"`
}

// Ready reports whether campaigns may be created for the brand: registered
// (OK) and not left UNVERIFIED by vetting.
func (b *Brand) Ready() bool {
	return b.Status == BrandStatusOK && b.IdentityStatus != IdentityUnverified
}

// Failed reports whether registration failed; fix the data and UpdateBrand.
func (b *Brand) Failed() bool { return b.Status == BrandStatusFailed }

// CreateBrand registers a brand (POST /10dlc/brand). It answers at once,
// usually REGISTRATION_PENDING; vetting finishes later (10dlc.brand.update,
// or poll GetBrand). Telnyx charges for each brand created.
func (c *Client) CreateBrand(ctx context.Context, req BrandRequest) (*Brand, error) {
	return call10DLC[Brand](ctx, c, http.MethodPost, "/10dlc/brand", req.withDefaults())
}

// GetBrand reads a brand (GET /10dlc/brand/{brandId}).
func (c *Client) GetBrand(ctx context.Context, brandID string) (*Brand, error) {
	return call10DLC[Brand](ctx, c, http.MethodGet, "/10dlc/brand/"+url.PathEscape(brandID), nil)
}

// UpdateBrand replaces a brand's data (PUT /10dlc/brand/{brandId}). After a
// REGISTRATION_FAILED this is the resubmission: vetting runs again.
func (c *Client) UpdateBrand(ctx context.Context, brandID string, req BrandRequest) (*Brand, error) {
	return call10DLC[Brand](ctx, c, http.MethodPut, "/10dlc/brand/"+url.PathEscape(brandID), req.withDefaults())
}

// CampaignRequest submits a campaign (POST /10dlc/campaignBuilder). Telnyx
// requires BrandID, Usecase and Description; carriers reject campaigns whose
// samples, message flow (how members opt in) or opt-out and help texts are
// missing or vague. After creation only the samples (and webhooks) can be
// changed.
type CampaignRequest struct {
	BrandID string
	// Usecase is a TCR use case, e.g. UsecaseMixed (see its doc for churches).
	Usecase string
	// SubUsecases lists 2 to 5 use cases covered by a MIXED or LOW_VOLUME campaign.
	SubUsecases []string
	Description string
	// SampleMessages are sent as sample1 … sample5: at most five.
	SampleMessages []string
	// MessageFlow describes how members opt in (where, what they agree to).
	MessageFlow   string
	HelpMessage   string
	OptinMessage  string
	OptoutMessage string
	// Keywords are sent comma-separated without spaces, e.g. "STOP,QUIT".
	HelpKeywords   []string
	OptinKeywords  []string
	OptoutKeywords []string
	// EmbeddedLink says texts may contain URLs; EmbeddedLinkSample shows one.
	EmbeddedLink       bool
	EmbeddedLinkSample string
	EmbeddedPhone      bool // texts may contain phone numbers
	NumberPool         bool // more than 49 numbers share the campaign
	AgeGated           bool
	DirectLending      bool
	SubscriberOptin    bool // members opt in before being texted
	SubscriberOptout   bool // the campaign honours opt-out keywords
	SubscriberHelp     bool // the campaign answers help keywords
	TermsAndConditions bool // the sender accepts TCR's terms
	// AutoRenewal is left to Telnyx's default when nil.
	AutoRenewal            *bool
	PrivacyPolicyLink      string
	TermsAndConditionsLink string
	// ReferenceID, when set, must be unique: Telnyx uses it to refuse a
	// duplicate submission, which makes a retried create safe.
	ReferenceID string
	// WebhookURL (then WebhookFailoverURL) receives 10dlc.campaign.update and
	// the 10dlc.phone_number.update events of numbers assigned to the campaign.
	WebhookURL         string
	WebhookFailoverURL string
}

// campaignBody is CampaignRequest as sent.
type campaignBody struct {
	BrandID                string   `json:"brandId"`
	Usecase                string   `json:"usecase"`
	SubUsecases            []string `json:"subUsecases,omitempty"`
	Description            string   `json:"description"`
	Sample1                string   `json:"sample1,omitempty"`
	Sample2                string   `json:"sample2,omitempty"`
	Sample3                string   `json:"sample3,omitempty"`
	Sample4                string   `json:"sample4,omitempty"`
	Sample5                string   `json:"sample5,omitempty"`
	MessageFlow            string   `json:"messageFlow,omitempty"`
	HelpMessage            string   `json:"helpMessage,omitempty"`
	OptinMessage           string   `json:"optinMessage,omitempty"`
	OptoutMessage          string   `json:"optoutMessage,omitempty"`
	HelpKeywords           string   `json:"helpKeywords,omitempty"`
	OptinKeywords          string   `json:"optinKeywords,omitempty"`
	OptoutKeywords         string   `json:"optoutKeywords,omitempty"`
	EmbeddedLink           bool     `json:"embeddedLink"`
	EmbeddedLinkSample     string   `json:"embeddedLinkSample,omitempty"`
	EmbeddedPhone          bool     `json:"embeddedPhone"`
	NumberPool             bool     `json:"numberPool"`
	AgeGated               bool     `json:"ageGated"`
	DirectLending          bool     `json:"directLending"`
	SubscriberOptin        bool     `json:"subscriberOptin"`
	SubscriberOptout       bool     `json:"subscriberOptout"`
	SubscriberHelp         bool     `json:"subscriberHelp"`
	TermsAndConditions     bool     `json:"termsAndConditions"`
	AutoRenewal            *bool    `json:"autoRenewal,omitempty"`
	PrivacyPolicyLink      string   `json:"privacyPolicyLink,omitempty"`
	TermsAndConditionsLink string   `json:"termsAndConditionsLink,omitempty"`
	ReferenceID            string   `json:"referenceId,omitempty"`
	WebhookURL             string   `json:"webhookURL,omitempty"`
	WebhookFailoverURL     string   `json:"webhookFailoverURL,omitempty"`
}

// samples spreads up to five samples over sample1 … sample5.
func samples(in []string) ([5]string, error) {
	var out [5]string
	if len(in) > len(out) {
		return out, fmt.Errorf("telnyx: at most %d sample messages, got %d", len(out), len(in))
	}
	copy(out[:], in)
	return out, nil
}

// CreateCampaign submits a campaign for a brand in status OK
// (POST /10dlc/campaignBuilder). It starts at TCR_PENDING and moves through
// TCR, Telnyx and carrier review (10dlc.campaign.update, or poll
// GetCampaign). Telnyx charges three months of the campaign fee up front.
func (c *Client) CreateCampaign(ctx context.Context, req CampaignRequest) (*Campaign, error) {
	s, err := samples(req.SampleMessages)
	if err != nil {
		return nil, err
	}
	body := campaignBody{
		BrandID: req.BrandID, Usecase: req.Usecase, SubUsecases: req.SubUsecases, Description: req.Description,
		Sample1: s[0], Sample2: s[1], Sample3: s[2], Sample4: s[3], Sample5: s[4],
		MessageFlow: req.MessageFlow, HelpMessage: req.HelpMessage,
		OptinMessage: req.OptinMessage, OptoutMessage: req.OptoutMessage,
		HelpKeywords:   strings.Join(req.HelpKeywords, ","),
		OptinKeywords:  strings.Join(req.OptinKeywords, ","),
		OptoutKeywords: strings.Join(req.OptoutKeywords, ","),
		EmbeddedLink:   req.EmbeddedLink, EmbeddedLinkSample: req.EmbeddedLinkSample, EmbeddedPhone: req.EmbeddedPhone,
		NumberPool: req.NumberPool, AgeGated: req.AgeGated, DirectLending: req.DirectLending,
		SubscriberOptin: req.SubscriberOptin, SubscriberOptout: req.SubscriberOptout, SubscriberHelp: req.SubscriberHelp,
		TermsAndConditions: req.TermsAndConditions, AutoRenewal: req.AutoRenewal,
		PrivacyPolicyLink: req.PrivacyPolicyLink, TermsAndConditionsLink: req.TermsAndConditionsLink,
		ReferenceID: req.ReferenceID, WebhookURL: req.WebhookURL, WebhookFailoverURL: req.WebhookFailoverURL,
	}
	return call10DLC[Campaign](ctx, c, http.MethodPost, "/10dlc/campaignBuilder", body)
}

// Campaign is a submitted 10DLC campaign. Telnyx exposes no throughput class
// here; carriers derive it from the brand's vetting score.
type Campaign struct {
	CampaignID    string `json:"campaignId"` // Telnyx's id (a UUID): use it in every call
	BrandID       string `json:"brandId"`
	TCRBrandID    string `json:"tcrBrandId"`
	TCRCampaignID string `json:"tcrCampaignId"` // e.g. "C6X6M95"; "" until TCR accepts it
	// CampaignStatus is one of the Campaign* status constants.
	CampaignStatus string         `json:"campaignStatus"`
	FailureReasons FailureReasons `json:"failureReasons"`
	// Status is the subscription: "ACTIVE" or "EXPIRED".
	Status string `json:"status"`

	Usecase            string   `json:"usecase"`
	SubUsecases        []string `json:"subUsecases"`
	Description        string   `json:"description"`
	Sample1            string   `json:"sample1"`
	Sample2            string   `json:"sample2"`
	Sample3            string   `json:"sample3"`
	Sample4            string   `json:"sample4"`
	Sample5            string   `json:"sample5"`
	MessageFlow        string   `json:"messageFlow"`
	HelpMessage        string   `json:"helpMessage"`
	OptinMessage       string   `json:"optinMessage"`
	OptoutMessage      string   `json:"optoutMessage"`
	HelpKeywords       string   `json:"helpKeywords"` // comma-separated, as sent
	OptinKeywords      string   `json:"optinKeywords"`
	OptoutKeywords     string   `json:"optoutKeywords"`
	EmbeddedLink       bool     `json:"embeddedLink"`
	NumberPool         bool     `json:"numberPool"`
	SubscriberOptin    bool     `json:"subscriberOptin"`
	SubscriberOptout   bool     `json:"subscriberOptout"`
	SubscriberHelp     bool     `json:"subscriberHelp"`
	WebhookURL         string   `json:"webhookURL"`
	WebhookFailoverURL string   `json:"webhookFailoverURL"`
	CreateDate         string   `json:"createDate"`
}

// SampleMessages returns the non-empty samples in order.
func (c *Campaign) SampleMessages() []string {
	return nonEmptyStrings(c.Sample1, c.Sample2, c.Sample3, c.Sample4, c.Sample5)
}

// Ready reports whether numbers can be assigned: MNO_PROVISIONED.
func (c *Campaign) Ready() bool { return c.CampaignStatus == CampaignMNOProvisioned }

// Failed reports whether the campaign was rejected or suspended. TELNYX_FAILED
// and MNO_REJECTED can be resubmitted with UpdateCampaign.
func (c *Campaign) Failed() bool {
	switch c.CampaignStatus {
	case CampaignTCRFailed, CampaignTelnyxFailed, CampaignMNORejected, CampaignMNOProvisioningFailed,
		CampaignTCRSuspended, CampaignTCRExpired:
		return true
	}
	return false
}

// GetCampaign reads a campaign (GET /10dlc/campaign/{campaignId}).
func (c *Client) GetCampaign(ctx context.Context, campaignID string) (*Campaign, error) {
	return call10DLC[Campaign](ctx, c, http.MethodGet, "/10dlc/campaign/"+url.PathEscape(campaignID), nil)
}

// CampaignUpdate changes what Telnyx lets change after submission. Empty
// fields are left as they are.
type CampaignUpdate struct {
	SampleMessages     []string // replaces sample1 … sample(n)
	WebhookURL         string
	WebhookFailoverURL string
}

type campaignUpdateBody struct {
	Sample1            string `json:"sample1,omitempty"`
	Sample2            string `json:"sample2,omitempty"`
	Sample3            string `json:"sample3,omitempty"`
	Sample4            string `json:"sample4,omitempty"`
	Sample5            string `json:"sample5,omitempty"`
	WebhookURL         string `json:"webhookURL,omitempty"`
	WebhookFailoverURL string `json:"webhookFailoverURL,omitempty"`
}

// UpdateCampaign edits a campaign (PUT /10dlc/campaign/{campaignId}). For a
// campaign Telnyx rejected (TELNYX_FAILED, MNO_REJECTED) this is the
// resubmission: Telnyx resets it to TCR_ACCEPTED and reviews it again.
func (c *Client) UpdateCampaign(ctx context.Context, campaignID string, u CampaignUpdate) (*Campaign, error) {
	s, err := samples(u.SampleMessages)
	if err != nil {
		return nil, err
	}
	body := campaignUpdateBody{Sample1: s[0], Sample2: s[1], Sample3: s[2], Sample4: s[3], Sample5: s[4],
		WebhookURL: u.WebhookURL, WebhookFailoverURL: u.WebhookFailoverURL}
	return call10DLC[Campaign](ctx, c, http.MethodPut, "/10dlc/campaign/"+url.PathEscape(campaignID), body)
}

// NumberCampaign is a phone number's assignment to a campaign.
type NumberCampaign struct {
	PhoneNumber string `json:"phoneNumber"` // E.164
	// CampaignID is the Telnyx campaign id (the TCR id for shared campaigns).
	CampaignID       string `json:"campaignId"`
	TelnyxCampaignID string `json:"telnyxCampaignId"`
	BrandID          string `json:"brandId"`
	TCRBrandID       string `json:"tcrBrandId"`
	TCRCampaignID    string `json:"tcrCampaignId"`
	// AssignmentStatus is one of the Assignment* constants.
	AssignmentStatus string `json:"assignmentStatus"`
	// FailureReasons is set for FAILED_ASSIGNMENT and FAILED_UNASSIGNMENT.
	FailureReasons FailureReasons `json:"failureReasons"`
	CreatedAt      string         `json:"createdAt"`
	UpdatedAt      string         `json:"updatedAt"`
}

// Ready reports whether the number may send A2P traffic: ASSIGNED.
func (n *NumberCampaign) Ready() bool { return n.AssignmentStatus == AssignmentAssigned }

// AssignNumberToCampaign links an owned number to a provisioned campaign
// (POST /10dlc/phone_number_campaigns). It starts PENDING_ASSIGNMENT; the
// result arrives as 10dlc.phone_number.update on the campaign's webhooks, or
// poll GetNumberCampaign.
func (c *Client) AssignNumberToCampaign(ctx context.Context, phoneNumber, campaignID string) (*NumberCampaign, error) {
	body := struct {
		PhoneNumber string `json:"phoneNumber"`
		CampaignID  string `json:"campaignId"`
	}{phoneNumber, campaignID}
	return call10DLC[NumberCampaign](ctx, c, http.MethodPost, "/10dlc/phone_number_campaigns", body)
}

// GetNumberCampaign reads a number's assignment
// (GET /10dlc/phone_number_campaigns/{phoneNumber}).
func (c *Client) GetNumberCampaign(ctx context.Context, phoneNumber string) (*NumberCampaign, error) {
	return call10DLC[NumberCampaign](ctx, c, http.MethodGet, "/10dlc/phone_number_campaigns/"+url.PathEscape(phoneNumber), nil)
}

// Payload types of 10DLC webhook events (the payload's "type").
const (
	// Brand events.
	BrandEventRegistration         = "REGISTRATION" // failures, with reasons
	BrandEventTCRUpdate            = "TCR_BRAND_UPDATE"
	BrandEventRevet                = "REVET"
	BrandEventOrderExternalVetting = "ORDER_EXTERNAL_VETTING"

	// Campaign events.
	CampaignEventRegistration = "REGISTRATION"  // TCR refused it, with reasons
	CampaignEventTCR          = "TCR_EVENT"     // EventType says which, e.g. CAMPAIGN_ADD
	CampaignEventTelnyxReview = "TELNYX_REVIEW" // Status ACCEPTED or REJECTED
	CampaignEventMNOReview    = "MNO_REVIEW"    // Status ACCEPTED or REJECTED
	CampaignEventTelnyx       = "TELNYX_EVENT"  // e.g. Status DORMANT
	CampaignEventVerified     = "VERIFIED"      // reached MNO_PROVISIONED

	// Phone number events.
	NumberEventAssignment   = "ASSIGNMENT"
	NumberEventDeletion     = "DELETION"
	NumberEventStatusUpdate = "STATUS_UPDATE" // Status ADDED, DELETED, PENDING or FAILED
)

// BrandUpdatePayload is the payload of a 10dlc.brand.update event.
type BrandUpdatePayload struct {
	BrandID    string `json:"brandId"`
	TCRBrandID string `json:"tcrBrandId,omitempty"`
	BrandName  string `json:"brandName,omitempty"`
	Type       string `json:"type"` // BrandEventRegistration, BrandEventTCRUpdate, …
	// EventType is TCR's event for TCR_BRAND_UPDATE, e.g. "BRAND_ADD".
	EventType string `json:"eventType,omitempty"`
	// Status is the event's outcome, "success" or "failed", not the brand's
	// status: GetBrand has that.
	Status string `json:"status"`
	// IdentityStatus is not in Telnyx's documented examples; when present it
	// is the brand's identityStatus. GetBrand is authoritative.
	IdentityStatus string               `json:"identityStatus,omitempty"`
	Description    string               `json:"description,omitempty"`
	Reasons        []RegistrationReason `json:"reasons,omitempty"`
}

// Failed reports whether the event reports a failure.
func (p *BrandUpdatePayload) Failed() bool { return strings.EqualFold(p.Status, "failed") }

// CampaignUpdatePayload is the payload of a 10dlc.campaign.update event.
// CampaignID is the Telnyx UUID (the TCR id appears in Description).
type CampaignUpdatePayload struct {
	CampaignID string `json:"campaignId"`
	BrandID    string `json:"brandId,omitempty"` // on some types, e.g. VERIFIED
	Type       string `json:"type"`              // CampaignEventTelnyxReview, …
	// EventType is TCR's event for TCR_EVENT, e.g. "CAMPAIGN_ADD".
	EventType string `json:"eventType,omitempty"`
	// Status is "ACCEPTED" or "REJECTED" for reviews, "failed" for
	// REGISTRATION, "DORMANT" for a suspension; empty for other types.
	Status string `json:"status,omitempty"`
	// Description carries the reason of a review rejection.
	Description         string               `json:"description,omitempty"`
	Reasons             []RegistrationReason `json:"reasons,omitempty"`
	CspID               string               `json:"cspId,omitempty"`
	CreatedDate         string               `json:"createdDate,omitempty"`
	IsTMobileRegistered bool                 `json:"isTMobileRegistered,omitempty"`
}

// Provisioned reports whether the campaign reached MNO_PROVISIONED.
func (p *CampaignUpdatePayload) Provisioned() bool { return p.Type == CampaignEventVerified }

// Rejected reports whether the event rejects or suspends the campaign.
func (p *CampaignUpdatePayload) Rejected() bool {
	return strings.EqualFold(p.Status, "REJECTED") || strings.EqualFold(p.Status, "failed") ||
		strings.EqualFold(p.Status, "DORMANT")
}

// NumberUpdatePayload is the payload of a 10dlc.phone_number.update event.
// It goes to the webhooks of the campaign the number is assigned to.
type NumberUpdatePayload struct {
	PhoneNumber   string `json:"phoneNumber"` // E.164
	CampaignID    string `json:"campaignId"`
	TCRCampaignID string `json:"tcrCampaignId,omitempty"`
	Type          string `json:"type"` // NumberEventAssignment, …
	// Status is "success" or "failed" for ASSIGNMENT and DELETION; ADDED,
	// DELETED, PENDING or FAILED for STATUS_UPDATE.
	Status  string               `json:"status"`
	Reasons []RegistrationReason `json:"reasons,omitempty"`
}

// Failed reports whether the event reports a failure.
func (p *NumberUpdatePayload) Failed() bool { return strings.EqualFold(p.Status, "failed") }

// call10DLC is call for the 10DLC endpoints, whose answers are the bare
// object. An answer wrapped as {"data": {…}} is unwrapped too, so the client
// keeps working if Telnyx aligns these endpoints with the rest of the API.
func call10DLC[T any](ctx context.Context, c *Client, method, path string, in any) (*T, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("telnyx: encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, body)
	if err != nil {
		return nil, fmt.Errorf("telnyx: %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err // network errors and timeouts as is: see Retryable
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, decodeError(resp, raw, time.Now())
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, fmt.Errorf("telnyx: decode %s %s answer: %w", method, path, err)
	}
	if data, ok := top["data"]; ok && len(top) == 1 && bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		raw = data
	}
	var out T
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("telnyx: decode %s %s answer: %w", method, path, err)
	}
	return &out, nil
}

func nonEmptyStrings(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
