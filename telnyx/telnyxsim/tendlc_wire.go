package telnyxsim

// The 10DLC wire: request bodies and answers as Telnyx spells them.

import (
	"crypto/rand"
	"strings"
	"time"
)

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
	ReferenceID        string `json:"referenceId"` // the customer's own id for the brand
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

// wireBrandSummary is a brand as GET /10dlc/brand lists it: a summary
// without the data half (no referenceId, no address).
type wireBrandSummary struct {
	BrandID                string  `json:"brandId"`
	TCRBrandID             *string `json:"tcrBrandId"`
	EntityType             string  `json:"entityType"`
	IdentityStatus         *string `json:"identityStatus"`
	CompanyName            string  `json:"companyName"`
	DisplayName            string  `json:"displayName"`
	Email                  string  `json:"email"`
	Website                string  `json:"website"`
	FailureReasons         *string `json:"failureReasons"`
	Status                 string  `json:"status"`
	CreatedAt              string  `json:"createdAt"`
	UpdatedAt              string  `json:"updatedAt"`
	AssignedCampaignsCount int     `json:"assignedCampaingsCount"` // sic, as Telnyx spells it
}

func (b *simBrand) summary(campaigns int) wireBrandSummary {
	return wireBrandSummary{BrandID: b.id, TCRBrandID: strPtr(b.tcrID), EntityType: b.EntityType, IdentityStatus: strPtr(b.identity),
		CompanyName: b.CompanyName, DisplayName: b.DisplayName, Email: b.Email, Website: b.Website,
		FailureReasons: strPtr(strings.Join(b.reasons, "; ")), Status: b.status,
		CreatedAt: telnyxTime(b.created), UpdatedAt: telnyxTime(b.updated), AssignedCampaignsCount: campaigns}
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
