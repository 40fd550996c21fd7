package messaging

import (
	"context"
	"net/url"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/tenancy"
)

// ApplyReceipt applies a message.sent or message.finalized event to the
// church's broadcast recipient or conversation message.
func (s *Service) ApplyReceipt(ctx context.Context, h *tenancy.Handle, eventType string, occurred time.Time, p *telnyx.MessagePayload) (store.ReceiptResult, error) {
	return s.store.ApplyReceipt(ctx, h, receiptOf(eventType, occurred, p))
}

// ReceiptEvent is one message.sent or message.finalized event.
type ReceiptEvent struct {
	Type     string
	Occurred time.Time
	Payload  *telnyx.MessagePayload
}

// ApplyReceipts applies receipts that arrived together for one church in
// one transaction (see store.ApplyReceipts); the results come in their
// order.
func (s *Service) ApplyReceipts(ctx context.Context, h *tenancy.Handle, evs []ReceiptEvent) ([]store.ReceiptResult, error) {
	rs := make([]store.Receipt, len(evs))
	for i, ev := range evs {
		rs[i] = receiptOf(ev.Type, ev.Occurred, ev.Payload)
	}
	return s.store.ApplyReceipts(ctx, h, rs)
}

// AdoptReceipt applies a receipt whose id no text has to the broadcast
// recipient it can only be for, one whose send worker died between the
// provider's answer and its record (see store.AdoptReceipt).
func (s *Service) AdoptReceipt(ctx context.Context, h *tenancy.Handle, eventType string, occurred time.Time, p *telnyx.MessagePayload) (store.ReceiptResult, error) {
	broadcast := broadcastInURL(p.WebhookURL)
	if broadcast == "" || len(p.To) == 0 {
		// Only a broadcast's texts are adopted: a test send, a notice or a
		// conversation's text names none, and its receipt is never taken
		// for a recipient's.
		return store.ReceiptUnknown, nil
	}
	return s.store.AdoptReceipt(ctx, h, receiptOf(eventType, occurred, p),
		store.ReceiptText{MessageID: broadcast, To: p.To[0].PhoneNumber, Text: p.Text})
}

// broadcastInURL returns the broadcast a webhook URL names (the provider
// signs the URL as part of the payload), or "".
func broadcastInURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if id := u.Query().Get(broadcastParam); steeple.ValidID(id) {
		return id
	}
	return ""
}

// receiptOf reads a message.sent or message.finalized event.
func receiptOf(eventType string, occurred time.Time, p *telnyx.MessagePayload) store.Receipt {
	r := store.Receipt{ProviderID: p.ID, OccurredAt: occurred, At: occurred}
	if eventType == telnyx.EventMessageFinalized {
		r.Final = true
		if p.CompletedAt != nil {
			r.At = *p.CompletedAt
		}
		switch p.Status() {
		case telnyx.StatusDelivered:
			r.Status = steeple.RecipientDelivered
		case telnyx.StatusDeliveryUnconfirmed:
			r.Status, r.ErrorDetail = steeple.RecipientSent, "the carrier did not confirm delivery"
		default: // sending_failed, delivery_failed, expired
			r.Status, r.ErrorDetail = steeple.RecipientFailed, p.Status()
		}
		if len(p.Errors) > 0 {
			e := p.Errors[0]
			r.ErrorCode, r.ErrorDetail = e.Code, e.Title
			if e.Detail != "" {
				r.ErrorDetail += ": " + e.Detail
			}
		}
	} else if p.SentAt != nil {
		r.At = *p.SentAt
	}
	return r
}
