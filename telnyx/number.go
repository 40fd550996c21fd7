package telnyx

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Number order and phone number statuses.
const (
	OrderPending = "pending"
	OrderSuccess = "success"
	OrderFailure = "failure"

	NumberPurchasePending = "purchase-pending"
	NumberActive          = "active"
)

// NumberSearch filters GET /available_phone_numbers. Empty fields are left out.
type NumberSearch struct {
	CountryCode             string   // filter[country_code], e.g. "US"
	NationalDestinationCode string   // filter[national_destination_code]: the area code
	Locality                string   // filter[locality]: a city
	AdministrativeArea      string   // filter[administrative_area]: a state, e.g. "IL"
	Contains                string   // filter[phone_number][contains]
	StartsWith              string   // filter[phone_number][starts_with]
	EndsWith                string   // filter[phone_number][ends_with]
	Features                []string // filter[features], sent comma-joined: "sms,mms"
	PhoneNumberType         string   // filter[phone_number_type], e.g. "local", "toll_free"
	Limit                   int      // filter[limit]
}

// Query returns the search as URL query parameters.
func (s NumberSearch) Query() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("filter[country_code]", s.CountryCode)
	set("filter[national_destination_code]", s.NationalDestinationCode)
	set("filter[locality]", s.Locality)
	set("filter[administrative_area]", s.AdministrativeArea)
	set("filter[phone_number][contains]", s.Contains)
	set("filter[phone_number][starts_with]", s.StartsWith)
	set("filter[phone_number][ends_with]", s.EndsWith)
	set("filter[features]", strings.Join(s.Features, ","))
	set("filter[phone_number_type]", s.PhoneNumberType)
	if s.Limit > 0 {
		q.Set("filter[limit]", strconv.Itoa(s.Limit))
	}
	return q
}

// Feature names a capability of a number, e.g. "sms".
type Feature struct {
	Name string `json:"name"`
}

// CostInformation is a number's price; amounts are decimal strings.
type CostInformation struct {
	UpfrontCost string `json:"upfront_cost"`
	MonthlyCost string `json:"monthly_cost"`
	Currency    string `json:"currency"`
}

// RegionInformation is one fact about where a number is, e.g.
// {"region_type":"state","region_name":"IL"}.
type RegionInformation struct {
	RegionType string `json:"region_type"`
	RegionName string `json:"region_name"`
}

// AvailableNumber is a number that can be ordered.
type AvailableNumber struct {
	RecordType        string              `json:"record_type"`
	PhoneNumber       string              `json:"phone_number"`
	Features          []Feature           `json:"features"`
	CostInformation   CostInformation     `json:"cost_information"`
	RegionInformation []RegionInformation `json:"region_information"`
}

// HasFeature reports whether the number lists the named feature.
func (n AvailableNumber) HasFeature(name string) bool {
	for _, f := range n.Features {
		if strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// Region returns the region_name for regionType ("state", "rate_center",
// "country_code", …), or "".
func (n AvailableNumber) Region(regionType string) string {
	for _, r := range n.RegionInformation {
		if r.RegionType == regionType {
			return r.RegionName
		}
	}
	return ""
}

// SearchNumbers lists numbers available to order (GET /available_phone_numbers).
func (c *Client) SearchNumbers(ctx context.Context, s NumberSearch) ([]AvailableNumber, error) {
	return call[[]AvailableNumber](ctx, c, http.MethodGet, "/available_phone_numbers", s.Query(), nil)
}

// NumberOrderRequest orders numbers (POST /number_orders).
type NumberOrderRequest struct {
	PhoneNumbers       []string // E.164 numbers from SearchNumbers
	MessagingProfileID string
	CustomerReference  string
}

type orderedPhoneNumber struct {
	PhoneNumber string `json:"phone_number"`
}

type numberOrderBody struct {
	PhoneNumbers       []orderedPhoneNumber `json:"phone_numbers"`
	MessagingProfileID string               `json:"messaging_profile_id,omitempty"`
	CustomerReference  string               `json:"customer_reference,omitempty"`
}

// NumberOrderPhoneNumber is one number in an order. Its ID belongs to the
// order line, not to the phone number: find the number's own ID with
// ListNumbers before updating or releasing it.
type NumberOrderPhoneNumber struct {
	ID          string `json:"id"`
	RecordType  string `json:"record_type"`
	PhoneNumber string `json:"phone_number"`
	Status      string `json:"status"`
}

// NumberOrder is a number order: Status is OrderPending, OrderSuccess or
// OrderFailure.
type NumberOrder struct {
	ID                 string                   `json:"id"`
	RecordType         string                   `json:"record_type"`
	Status             string                   `json:"status"`
	PhoneNumbers       []NumberOrderPhoneNumber `json:"phone_numbers"`
	MessagingProfileID string                   `json:"messaging_profile_id"`
	CustomerReference  string                   `json:"customer_reference"`
	CreatedAt          time.Time                `json:"created_at"`
}

// OrderNumbers places a number order (POST /number_orders). The order usually
// starts pending; poll GetNumberOrder until it succeeds or fails.
func (c *Client) OrderNumbers(ctx context.Context, req NumberOrderRequest) (*NumberOrder, error) {
	body := numberOrderBody{MessagingProfileID: req.MessagingProfileID, CustomerReference: req.CustomerReference}
	for _, n := range req.PhoneNumbers {
		body.PhoneNumbers = append(body.PhoneNumbers, orderedPhoneNumber{PhoneNumber: n})
	}
	o, err := call[NumberOrder](ctx, c, http.MethodPost, "/number_orders", nil, body)
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// GetNumberOrder reads a number order (GET /number_orders/{id}).
func (c *Client) GetNumberOrder(ctx context.Context, id string) (*NumberOrder, error) {
	o, err := call[NumberOrder](ctx, c, http.MethodGet, "/number_orders/"+url.PathEscape(id), nil, nil)
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// PhoneNumber is a number the account owns.
type PhoneNumber struct {
	ID                 string    `json:"id"`
	RecordType         string    `json:"record_type"`
	PhoneNumber        string    `json:"phone_number"`
	Status             string    `json:"status"` // NumberPurchasePending, NumberActive, …
	MessagingProfileID string    `json:"messaging_profile_id"`
	CustomerReference  string    `json:"customer_reference,omitempty"`
	CreatedAt          time.Time `json:"created_at"`
}

// ListNumbers lists owned numbers (GET /phone_numbers), filtered by
// filter[phone_number] when filterPhoneNumber is not empty.
func (c *Client) ListNumbers(ctx context.Context, filterPhoneNumber string) ([]PhoneNumber, error) {
	q := url.Values{}
	if filterPhoneNumber != "" {
		q.Set("filter[phone_number]", filterPhoneNumber)
	}
	return call[[]PhoneNumber](ctx, c, http.MethodGet, "/phone_numbers", q, nil)
}

// UpdateNumberMessaging assigns the number with phone-number id to a messaging
// profile (PATCH /phone_numbers/{id}/messaging); "" removes the assignment.
func (c *Client) UpdateNumberMessaging(ctx context.Context, id, profileID string) (*PhoneNumber, error) {
	body := struct {
		MessagingProfileID string `json:"messaging_profile_id"`
	}{profileID}
	n, err := call[PhoneNumber](ctx, c, http.MethodPatch, "/phone_numbers/"+url.PathEscape(id)+"/messaging", nil, body)
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// ReleaseNumber gives a number back (DELETE /phone_numbers/{id}); id is the
// phone-number id, not the order id.
func (c *Client) ReleaseNumber(ctx context.Context, id string) error {
	_, err := call[PhoneNumber](ctx, c, http.MethodDelete, "/phone_numbers/"+url.PathEscape(id), nil, nil)
	return err
}
