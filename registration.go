package steeple

// RegistrationStatus is where a church's 10DLC registration (brand, then
// campaign) stands.
type RegistrationStatus string

// Registration statuses: the 10DLC state machine of one church.
const (
	RegBrandPending     RegistrationStatus = "brand_pending"     // brand submitted, being vetted
	RegBrandFailed      RegistrationStatus = "brand_failed"      // vetting failed: correct and resubmit
	RegCampaignPending  RegistrationStatus = "campaign_pending"  // brand verified, campaign under review
	RegCampaignRejected RegistrationStatus = "campaign_rejected" // campaign refused: resubmit
	RegProvisioned      RegistrationStatus = "provisioned"       // campaign live: numbers assigned, limits raised
)
