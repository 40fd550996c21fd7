package telnyx

import (
	"context"
	"net/http"
	"time"
)

// MessagingProfileRequest creates a messaging profile (POST /messaging_profiles).
type MessagingProfileRequest struct {
	Name string `json:"name"`
	// WhitelistedDestinations lists the countries the profile may text, e.g. ["US"].
	WhitelistedDestinations []string `json:"whitelisted_destinations"`
	WebhookURL              string   `json:"webhook_url,omitempty"`
	WebhookFailoverURL      string   `json:"webhook_failover_url,omitempty"`
	// WebhookAPIVersion is "2" when left empty.
	WebhookAPIVersion string `json:"webhook_api_version"`
	// Enabled is left to Telnyx's default (true) when nil.
	Enabled *bool `json:"enabled,omitempty"`
}

// MessagingProfile groups numbers that share webhooks and opt-out rules.
type MessagingProfile struct {
	ID                      string    `json:"id"`
	RecordType              string    `json:"record_type"`
	Name                    string    `json:"name"`
	Enabled                 bool      `json:"enabled"`
	WebhookURL              string    `json:"webhook_url"`
	WebhookFailoverURL      string    `json:"webhook_failover_url"`
	WebhookAPIVersion       string    `json:"webhook_api_version"`
	WhitelistedDestinations []string  `json:"whitelisted_destinations"`
	CreatedAt               time.Time `json:"created_at"`
	UpdatedAt               time.Time `json:"updated_at"`
}

// CreateMessagingProfile creates a messaging profile.
func (c *Client) CreateMessagingProfile(ctx context.Context, req MessagingProfileRequest) (*MessagingProfile, error) {
	if req.WebhookAPIVersion == "" {
		req.WebhookAPIVersion = "2"
	}
	if req.WhitelistedDestinations == nil {
		req.WhitelistedDestinations = []string{}
	}
	p, err := call[MessagingProfile](ctx, c, http.MethodPost, "/messaging_profiles", nil, req)
	if err != nil {
		return nil, err
	}
	return &p, nil
}
