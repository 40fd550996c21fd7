package telnyx

// 10DLC webhook events: brand, campaign and number-assignment updates.

import "strings"

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
