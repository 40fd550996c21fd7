package store

import (
	"context"

	"github.com/steeple-sms/steeple/tenancy"
)

// ReceiptText is what a receipt says about its text besides the
// provider's id: the broadcast its webhook URL names, the phone it went
// to and its body.
type ReceiptText struct {
	MessageID, To, Text string
}

// AdoptReceipt applies a receipt whose provider id no text has to the one
// recipient it can only be for: of broadcast t.MessageID, still `sending`
// with no provider id, its member on phone t.To and its body t.Text. That
// is a text the provider took from a send worker that died before it
// recorded the provider's id: once adopted, the worker's retried job finds
// it sent and does not send it again. With no such recipient, or more than
// one, nothing changes: ReceiptUnknown.
func (s *Store) AdoptReceipt(ctx context.Context, h *tenancy.Handle, r Receipt, t ReceiptText) (ReceiptResult, error) {
	ix := s.phoneIndexes(t.To)
	members, err := queryStrings(ctx, h, `SELECT member_id FROM message_recipients
		WHERE message_id = $1 AND member_id IN (SELECT id FROM members WHERE phone_hash IN ($2, $3))
		AND status = 'sending' AND provider_id IS NULL AND body = $4 LIMIT 2`, t.MessageID, ix.cur, ix.prev, t.Text)
	if err != nil || len(members) != 1 {
		return ReceiptUnknown, err
	}
	// Recorded as the worker would have, then the receipt itself applies.
	now := s.Now()
	res, err := h.ExecContext(ctx, `UPDATE message_recipients SET status = 'sent', provider_id = $1, sent_at = $2, updated_at = $2
		WHERE message_id = $3 AND member_id = $4 AND status = 'sending' AND provider_id IS NULL`,
		r.ProviderID, now, t.MessageID, members[0])
	if err != nil {
		return 0, err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return ReceiptUnknown, err
	}
	return s.ApplyReceipt(ctx, h, r)
}
