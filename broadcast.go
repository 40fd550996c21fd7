package steeple

import "strings"

// RecipientStatus is where one outgoing text stands: a broadcast's text to
// one member, or an outbound conversation message. A text moves forward
// only: from queued or sending to sent, then to a final status. Broadcasts
// have no status of their own; they count their recipients by this one.
type RecipientStatus string

// Recipient statuses, in the order a text moves through them.
const (
	RecipientQueued    RecipientStatus = "queued"    // waiting for its send job
	RecipientSending   RecipientStatus = "sending"   // handed to the provider, no answer yet
	RecipientSent      RecipientStatus = "sent"      // accepted by the provider, delivery not confirmed
	RecipientDelivered RecipientStatus = "delivered" // the carrier confirmed delivery
	RecipientFailed    RecipientStatus = "failed"    // the provider or carrier refused it
	RecipientSkipped   RecipientStatus = "skipped"   // never sent (opted out, stopped, no number)
)

// MessageReceived is the status of an inbound conversation message;
// outbound ones move through the recipient statuses.
const MessageReceived RecipientStatus = "received"

// RecipientStatuses returns every recipient status, in the order a text
// moves through them (the statuses a recipients list may be filtered by).
func RecipientStatuses() []RecipientStatus {
	return []RecipientStatus{RecipientQueued, RecipientSending, RecipientSent, RecipientDelivered, RecipientFailed, RecipientSkipped}
}

// Valid reports whether s is one of the recipient statuses.
func (s RecipientStatus) Valid() bool {
	for _, v := range RecipientStatuses() {
		if v == s {
			return true
		}
	}
	return false
}

// ParseRecipientStatus returns s as a recipient status. Errors: EINVALID
// naming the field "status" when s is not one.
func ParseRecipientStatus(s string) (RecipientStatus, error) {
	st := RecipientStatus(s)
	if !st.Valid() {
		names := make([]string, 0, 6)
		for _, v := range RecipientStatuses() {
			names = append(names, string(v))
		}
		return "", FieldError("status", "must be one of "+strings.Join(names, ", "))
	}
	return st, nil
}
