package telnyx

// 10DLC campaigns (what a church texts and how members opt in) and the
// assignment of each number to its campaign. See tendlc.go for wire notes.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

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
	ReferenceID        string   `json:"referenceId"`
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

// campaignList is the answer of GET /10dlc/campaign.
type campaignList struct {
	Records      []Campaign `json:"records"`
	Page         int        `json:"page"`
	TotalRecords int        `json:"totalRecords"`
}

// ListCampaigns returns the campaigns of a brand (GET /10dlc/campaign), at
// most 500: a church has one. Used to find a campaign whose creation was
// not recorded (by its referenceId).
func (c *Client) ListCampaigns(ctx context.Context, brandID string) ([]Campaign, error) {
	q := url.Values{"brandId": {brandID}, "page": {"1"}, "recordsPerPage": {"500"}}
	l, err := call10DLC[campaignList](ctx, c, http.MethodGet, "/10dlc/campaign?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	return l.Records, nil
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
