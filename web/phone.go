package web

import (
	"context"
	"github.com/steeple-sms/steeple"

	"github.com/nyaruka/phonenumbers"

	"github.com/steeple-sms/steeple/members"
	"github.com/steeple-sms/steeple/tenancy"
)

// formatPhone shows a stored (E.164) number the way people of the church's
// region write it: "(312) 555-0142" for a US church, and with its country
// code ("+44 20 7946 0018") when it is from elsewhere. A number that does
// not parse is shown as stored.
func formatPhone(e164, region string) string {
	if region == "" {
		region = members.DefaultRegion
	}
	n, err := phonenumbers.Parse(e164, region)
	if err != nil {
		return e164
	}
	if int(n.GetCountryCode()) == phonenumbers.GetCountryCodeForRegion(region) {
		return phonenumbers.Format(n, phonenumbers.NATIONAL)
	}
	return phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
}

// phoneRegion is the church's region for showing numbers (the default when
// unset or unreadable: a number shown with its country code is still right).
func (h *Handler) phoneRegion(ctx context.Context, th *tenancy.Handle) string {
	r, err := h.deps.Store.Setting(ctx, th, steeple.SettingPhoneRegion)
	if err != nil || r == "" {
		return members.DefaultRegion
	}
	return r
}

// Phone is a member's number in the church's local format.
// Pages that did not read the church's region show numbers as a US church would.
func (v *view) Phone(e164 string) string {
	region := v.region
	if region == "" {
		region = members.DefaultRegion
	}
	return formatPhone(e164, region)
}
