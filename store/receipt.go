package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// Receipt is a delivery receipt for one sent text, named by the
// provider's message id.
type Receipt struct {
	ProviderID string
	// Final is false for "sent" (handed to the carrier) and true for the
	// final outcome.
	Final bool
	// Status is the final outcome: RecipientDelivered, RecipientFailed,
	// or RecipientSent when the carrier never confirmed.
	Status      steeple.RecipientStatus
	ErrorCode   string
	ErrorDetail string
	OccurredAt  time.Time // orders receipts: an older one never undoes a newer
	At          time.Time // when it was sent or finished, by the provider's account
}

// ReceiptResult says what a receipt did.
type ReceiptResult int

// Receipt results.
const (
	ReceiptApplied ReceiptResult = iota
	ReceiptStale                 // a newer receipt was applied already
	ReceiptUnknown               // no text with that provider id
)

// ApplyReceipt applies a receipt to the broadcast recipient or conversation
// message with its provider id, in occurred_at order: each row keeps the
// occurred_at of the last receipt applied, and one conditional UPDATE
// applies only a newer one, so concurrent and out-of-order receipts settle
// on the newest. A "sent" receipt never touches a finished text, and the
// first final receipt applies whatever the time of a "sent" before it
// (a final outcome always outranks "sent"). A receipt that races the send
// worker's own "sent" (the UPDATE misses, the worker commits, the look
// finds the text) is applied, not taken for stale.
func (s *Store) ApplyReceipt(ctx context.Context, h *tenancy.Handle, r Receipt) (ReceiptResult, error) {
	return s.applyReceipt(ctx, h, r)
}

// ApplyReceipts applies receipts that arrived together for one church in
// one transaction: one commit for them all instead of one each (on
// PostgreSQL a flush of its log each). Each is applied as ApplyReceipt
// would, in the order given; their results come in that order. An error
// rolls all of them back.
func (s *Store) ApplyReceipts(ctx context.Context, h *tenancy.Handle, rs []Receipt) ([]ReceiptResult, error) {
	out := make([]ReceiptResult, len(rs))
	err := h.InTx(ctx, func(tx *sql.Tx) error {
		for i, r := range rs {
			res, err := s.applyReceipt(ctx, tx, r)
			if err != nil {
				return err
			}
			out[i] = res
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) applyReceipt(ctx context.Context, h querier, r Receipt) (ReceiptResult, error) {
	for _, table := range []string{"message_recipients", "conversation_messages"} {
		applied, err := s.applyReceiptTo(ctx, h, table, r)
		if err != nil {
			return 0, err
		}
		if applied {
			return ReceiptApplied, nil
		}
		var one int
		err = h.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE provider_id = $1`, r.ProviderID).Scan(&one)
		if err == sql.ErrNoRows {
			continue
		}
		if err != nil {
			return 0, err
		}
		// The text is there now: the send worker may have recorded its id
		// between the UPDATE and this look (the provider reports that fast).
		// From then on only receipts change the row, so one more try tells
		// a receipt that raced the "sent" from a stale one.
		if applied, err = s.applyReceiptTo(ctx, h, table, r); err != nil {
			return 0, err
		}
		if applied {
			return ReceiptApplied, nil
		}
		return ReceiptStale, nil
	}
	return ReceiptUnknown, nil
}

// applyReceiptTo is ApplyReceipt's conditional UPDATE of one table; it
// reports whether a row changed.
func (s *Store) applyReceiptTo(ctx context.Context, h querier, table string, r Receipt) (bool, error) {
	occ := r.OccurredAt.UnixMicro()
	touch := ", updated_at = $1"
	var res sql.Result
	var err error
	if r.Final {
		res, err = h.ExecContext(ctx, `UPDATE `+table+` SET status = $2, error_code = $3, error_detail = $4,
			finished_at = $5, receipt_us = $6`+touch+` WHERE provider_id = $7 AND status IN ('sending', 'sent')
			AND (finished_at IS NULL OR receipt_us <= $6)`,
			s.Now(), r.Status, r.ErrorCode, r.ErrorDetail, r.At.UTC(), occ, r.ProviderID)
	} else {
		res, err = h.ExecContext(ctx, `UPDATE `+table+` SET status = 'sent', sent_at = $2, receipt_us = $3`+touch+`
			WHERE provider_id = $4 AND status IN ('sending', 'sent') AND finished_at IS NULL AND receipt_us < $3`,
			s.Now(), r.At.UTC(), occ, r.ProviderID)
	}
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
