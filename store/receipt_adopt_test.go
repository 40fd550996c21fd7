package store_test

import (
	"context"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
)

// A receipt for a text whose send worker died before recording the
// provider's id is adopted by the one recipient it can only be for, so the
// retried job does not send it again; anything less certain is left
// unknown.
func TestAdoptReceipt(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c := openChurch(t, s)
		ctx := context.Background()
		// broadcast sends text to the members and claims each (status
		// sending, no provider id): a worker that died mid-call.
		broadcast := func(t *testing.T, text string, ms ...*steeple.Member) string {
			t.Helper()
			ids := make([]string, len(ms))
			rs := make([]store.OutgoingRecipient, len(ms))
			for i, m := range ms {
				ids[i] = m.ID
				rs[i] = store.OutgoingRecipient{Recipient: store.Recipient{MemberID: m.ID, FirstName: m.FirstName, Phone: m.Phone}, Body: text}
			}
			br := &store.Broadcast{ID: steeple.NewID(), Text: text, MediaURLs: []string{}, Audience: store.Audience{MemberIDs: ids},
				From: c.number, Encoding: "GSM-7", SegmentsPerMessage: 1, Recipients: len(ms), Chunks: 1, CreatedBy: c.adminID}
			if err := c.st.CreateBroadcast(ctx, c.h, br, rs, 1, 0); err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				if ok, err := c.st.ClaimHandOff(ctx, c.h, br.ID, m.ID); err != nil || !ok {
					t.Fatalf("claim: %v %v", ok, err)
				}
			}
			return br.ID
		}
		status := func(t *testing.T, messageID, memberID string) steeple.RecipientStatus {
			t.Helper()
			rs, err := c.st.BroadcastRecipients(ctx, c.h, messageID)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				if r.MemberID == memberID {
					return r.Status
				}
			}
			t.Fatalf("no recipient %s", memberID)
			return ""
		}
		adopt := func(t *testing.T, broadcast, id, to, text string, want store.ReceiptResult) {
			t.Helper()
			got, err := c.st.AdoptReceipt(ctx, c.h, store.Receipt{ProviderID: id, OccurredAt: s.Clock.Now(), At: s.Clock.Now()},
				store.ReceiptText{MessageID: broadcast, To: to, Text: text})
			if err != nil || got != want {
				t.Fatalf("AdoptReceipt(%s to %s %q) = %v, %v; want %v", id, to, text, got, err, want)
			}
		}

		ann := c.member(t, "Ann", "+13126010001", steeple.ConsentOptedIn)
		ben := c.member(t, "Ben", "+13126010002", steeple.ConsentOptedIn)
		picnic := broadcast(t, "Picnic on Sunday", ann, ben)
		choir := broadcast(t, "Picnic on Sunday", ann) // the same words, another broadcast

		adopt(t, picnic, "p-wrong-text", ann.Phone, "Picnic on Saturday", store.ReceiptUnknown)
		adopt(t, picnic, "p-stranger", "+13126010999", "Picnic on Sunday", store.ReceiptUnknown)
		adopt(t, steeple.NewID(), "p-other-broadcast", ann.Phone, "Picnic on Sunday", store.ReceiptUnknown)
		if a, b := status(t, picnic, ann.ID), status(t, choir, ann.ID); a != steeple.RecipientSending || b != steeple.RecipientSending {
			t.Fatalf("Ann after receipts not hers: %s, %s; want sending", a, b)
		}
		adopt(t, picnic, "p-ann", ann.Phone, "Picnic on Sunday", store.ReceiptApplied)
		if st := status(t, choir, ann.ID); st != steeple.RecipientSending {
			t.Fatalf("Ann's recipient of the other broadcast after the picnic's receipt: %s; want sending", st)
		}
		if st := status(t, picnic, ann.ID); st != steeple.RecipientSent {
			t.Fatalf("Ann after her receipt: %s; want sent", st)
		}
		if p, err := c.st.PendingRecipients(ctx, c.h, picnic, 0); err != nil || len(p) != 1 || p[0].MemberID != ben.ID {
			t.Fatalf("pending after Ann's receipt was adopted: %+v, %v; want Ben alone", p, err)
		}
		// Her next receipt finds the text by its id, as for any text.
		if got, err := c.st.ApplyReceipt(ctx, c.h, store.Receipt{ProviderID: "p-ann", Final: true, Status: steeple.RecipientDelivered,
			OccurredAt: s.Clock.Now().Add(1), At: s.Clock.Now()}); err != nil || got != store.ReceiptApplied {
			t.Fatalf("delivered after adoption: %v, %v", got, err)
		}
		// A text adopted once is not adopted again.
		adopt(t, picnic, "p-ann-again", ann.Phone, "Picnic on Sunday", store.ReceiptUnknown)

		// Two members of one household on one phone in one broadcast (the
		// audience keeps one, but a broadcast made before a phone was
		// shared may hold both): which one the provider took cannot be
		// told, so neither is marked.
		cy := c.member(t, "Cy", "+13126010003", steeple.ConsentOptedIn)
		dee := c.member(t, "Dee", "+13126010004", steeple.ConsentOptedIn)
		supper := broadcast(t, "Supper at six", cy, dee)
		if _, err := c.h.ExecContext(ctx, `UPDATE members SET phone_hash = (SELECT phone_hash FROM members WHERE id = $1) WHERE id = $2`,
			cy.ID, dee.ID); err != nil {
			t.Fatal(err)
		}
		adopt(t, supper, "p-cy", cy.Phone, "Supper at six", store.ReceiptUnknown)
		if a, b := status(t, supper, cy.ID), status(t, supper, dee.ID); a != steeple.RecipientSending || b != steeple.RecipientSending {
			t.Fatalf("a household's two recipients after an ambiguous receipt: %s, %s; want both sending", a, b)
		}
	})
}
