package members

import (
	"fmt"

	"github.com/nyaruka/phonenumbers"

	"github.com/steeple-sms/steeple"
)

// nanpTextable are the regions of country code +1 that a US or Canadian
// long code texts as domestic numbers; the rest of +1 (the Caribbean) is
// international texting, which a long code does not do.
var nanpTextable = map[string]bool{"US": true, "CA": true, "PR": true, "VI": true, "GU": true, "AS": true, "MP": true}

// Reasons a member's phone cannot be texted.
const (
	// ReasonPhoneRejected: the provider rejected the number (40310).
	ReasonPhoneRejected = "the carrier rejected this number"
)

// NotTextable says why the church's number (a long code of the church's
// phone region) cannot text phone, or "" when it can. A number of another
// country is kept (the member may be abroad for a while) but not texted.
func NotTextable(e164, region string) string {
	n, err := phonenumbers.Parse(e164, region)
	if err != nil {
		return "is not a valid phone number"
	}
	churchCode := phonenumbers.GetCountryCodeForRegion(region)
	numRegion := phonenumbers.GetRegionCodeForNumber(n)
	outside := int(n.GetCountryCode()) != churchCode ||
		(churchCode == 1 && nanpTextable[region] && !nanpTextable[numRegion])
	if !outside {
		return ""
	}
	where := fmt.Sprintf("+%d", n.GetCountryCode())
	if numRegion != "" && numRegion != "ZZ" {
		where += " (" + numRegion + ")"
	}
	return fmt.Sprintf("outside the church's phone region (%s): a %s number cannot be texted from the church's number", region, where)
}

// markTextable sets whether each member's phone can be texted, and why not.
func markTextable(region string, ms ...*steeple.Member) {
	for _, m := range ms {
		if m == nil {
			continue
		}
		m.NotTextableReason = NotTextable(m.Phone, region)
		if m.NotTextableReason == "" && m.PhoneInvalid {
			m.NotTextableReason = ReasonPhoneRejected
		}
		m.Textable = m.NotTextableReason == ""
	}
}
