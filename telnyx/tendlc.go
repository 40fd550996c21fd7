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
	"net/http"
	"net/url"
	"strings"
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
	// ReferenceID is the caller's own id for the brand: FindBrand finds a
	// brand whose creation was not recorded by it.
	ReferenceID string `json:"referenceId,omitempty"`
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
	ReferenceID        string `json:"referenceId"`
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

// BrandSummary is a brand as GET /10dlc/brand lists it (no referenceId,
// no address: GetBrand has those).
type BrandSummary struct {
	BrandID     string `json:"brandId"`
	TCRBrandID  string `json:"tcrBrandId"`
	DisplayName string `json:"displayName"`
	Status      string `json:"status"`
	CreatedAt   string `json:"createdAt"`
}

type brandList struct {
	Records      []BrandSummary `json:"records"`
	Page         int            `json:"page"`
	TotalRecords int            `json:"totalRecords"`
}

// ListBrands lists the account's brands with this display name (GET
// /10dlc/brand?displayName=…), newest first, at most 500.
func (c *Client) ListBrands(ctx context.Context, displayName string) ([]BrandSummary, error) {
	q := url.Values{"displayName": {displayName}, "page": {"1"}, "recordsPerPage": {"500"}}
	l, err := call10DLC[brandList](ctx, c, http.MethodGet, "/10dlc/brand?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	return l.Records, nil
}

// FindBrand returns the brand created with this referenceId and display
// name, or nil if there is none. Telnyx filters the list by display name
// only and lists no referenceId, so each candidate is read (a church has
// one or two). Creating a brand is billed: look before creating again.
func (c *Client) FindBrand(ctx context.Context, displayName, referenceID string) (*Brand, error) {
	list, err := c.ListBrands(ctx, displayName)
	if err != nil {
		return nil, err
	}
	for _, sum := range list {
		b, err := c.GetBrand(ctx, sum.BrandID)
		if err != nil {
			return nil, err
		}
		if b.ReferenceID == referenceID {
			return b, nil
		}
	}
	return nil, nil
}

// call10DLC is call for the 10DLC endpoints, whose answers are the bare
// object. An answer wrapped as {"data": {…}} is unwrapped too, so the client
// keeps working if Telnyx aligns these endpoints with the rest of the API.
func call10DLC[T any](ctx context.Context, c *Client, method, path string, in any) (*T, error) {
	raw, err := c.do(ctx, method, path, nil, in)
	if err != nil {
		return nil, err
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
