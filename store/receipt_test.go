package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
)

// sentText is a text handed to the provider, as a receipt finds it.
type sentText struct {
	Status                 steeple.RecipientStatus
	ErrorCode, ErrorDetail string
	SentAt, FinishedAt     *time.Time
}

// receiptTable makes texts of one kind in status "sent" with a provider id,
// and reads them back.
type receiptTable struct {
	name string
	make func(t *testing.T, providerID string) (read func(t *testing.T) sentText)
}

func receiptTables(c *church) []receiptTable {
	ctx := context.Background()
	n := 0
	return []receiptTable{
		{"message_recipients", func(t *testing.T, providerID string) func(t *testing.T) sentText {
			t.Helper()
			n++
			phone := fmt.Sprintf("+1312600%04d", n)
			m := c.member(t, "Recipient", phone, steeple.ConsentOptedIn)
			b := &store.Broadcast{ID: steeple.NewID(), Text: "Picnic on Sunday", MediaURLs: []string{}, Audience: store.Audience{MemberIDs: []string{m.ID}},
				From: c.number, Encoding: "GSM-7", SegmentsPerMessage: 1, Recipients: 1, Chunks: 1, CreatedBy: c.adminID}
			rs := []store.OutgoingRecipient{{Recipient: store.Recipient{MemberID: m.ID, FirstName: m.FirstName, Phone: phone}, Body: b.Text}}
			if err := c.st.CreateBroadcast(ctx, c.h, b, rs, 1, 0); err != nil {
				t.Fatal(err)
			}
			if err := c.st.UpdateRecipient(ctx, c.h, b.ID, m.ID, store.RecipientUpdate{Status: steeple.RecipientSent, ProviderID: providerID}); err != nil {
				t.Fatal(err)
			}
			return func(t *testing.T) sentText {
				t.Helper()
				rs, err := c.st.BroadcastRecipients(ctx, c.h, b.ID)
				if err != nil || len(rs) != 1 {
					t.Fatalf("BroadcastRecipients: %v, %v", rs, err)
				}
				r := rs[0]
				return sentText{r.Status, r.ErrorCode, r.ErrorDetail, r.SentAt, r.FinishedAt}
			}
		}},
		{"conversation_messages", func(t *testing.T, providerID string) func(t *testing.T) sentText {
			t.Helper()
			n++
			res := c.text(t, fmt.Sprintf("+1312700%04d", n), "hello")
			id := steeple.NewID()
			if _, err := c.st.CreateReply(ctx, c.h, res.ConversationID, store.OutboundDraft{ID: id, Body: "hi there",
				Purpose: store.PurposeReply, CreatedBy: c.adminID}); err != nil {
				t.Fatal(err)
			}
			if err := c.st.UpdateConversationMessage(ctx, c.h, id, store.RecipientUpdate{Status: steeple.RecipientSent, ProviderID: providerID}); err != nil {
				t.Fatal(err)
			}
			return func(t *testing.T) sentText {
				t.Helper()
				m, err := c.st.ConversationMessage(ctx, c.h, id)
				if err != nil {
					t.Fatal(err)
				}
				return sentText{m.Status, m.ErrorCode, m.ErrorDetail, m.SentAt, m.FinishedAt}
			}
		}},
	}
}

func TestApplyReceipt(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c := openChurch(t, s)
		ctx := context.Background()
		t0 := time.Date(2026, 3, 1, 15, 4, 5, 123456000, time.UTC)
		at := func(d time.Duration) time.Time { return t0.Add(d) }
		apply := func(t *testing.T, r store.Receipt, want store.ReceiptResult) {
			t.Helper()
			got, err := c.st.ApplyReceipt(ctx, c.h, r)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("ApplyReceipt(%+v) = %v; want %v", r, got, want)
			}
		}
		sent := func(id string, occ time.Duration) store.Receipt {
			return store.Receipt{ProviderID: id, OccurredAt: at(occ), At: at(occ)}
		}
		final := func(id string, status steeple.RecipientStatus, occ time.Duration) store.Receipt {
			return store.Receipt{ProviderID: id, Final: true, Status: status, OccurredAt: at(occ), At: at(occ)}
		}
		same := func(a *time.Time, b time.Time) bool { return a != nil && a.Equal(b) }

		for _, tb := range receiptTables(c) {
			t.Run(tb.name, func(t *testing.T) {
				pid := func(name string) string { return tb.name + "-" + name }

				t.Run("sent then delivered", func(t *testing.T) {
					read := tb.make(t, pid("a"))
					apply(t, sent(pid("a"), time.Second), store.ReceiptApplied)
					if got := read(t); got.Status != steeple.RecipientSent || !same(got.SentAt, at(time.Second)) || got.FinishedAt != nil {
						t.Fatalf("after sent: %+v", got)
					}
					apply(t, final(pid("a"), steeple.RecipientDelivered, 3*time.Second), store.ReceiptApplied)
					if got := read(t); got.Status != steeple.RecipientDelivered || !same(got.FinishedAt, at(3*time.Second)) ||
						!same(got.SentAt, at(time.Second)) || got.ErrorCode != "" {
						t.Fatalf("after delivered: %+v", got)
					}
				})

				t.Run("delivered then an older sent", func(t *testing.T) {
					read := tb.make(t, pid("b"))
					apply(t, final(pid("b"), steeple.RecipientDelivered, 3*time.Second), store.ReceiptApplied)
					apply(t, sent(pid("b"), time.Second), store.ReceiptStale)
					if got := read(t); got.Status != steeple.RecipientDelivered || !same(got.FinishedAt, at(3*time.Second)) {
						t.Fatalf("%+v", got)
					}
				})

				t.Run("delivered then a sent of the same instant", func(t *testing.T) {
					read := tb.make(t, pid("c"))
					apply(t, final(pid("c"), steeple.RecipientDelivered, 2*time.Second), store.ReceiptApplied)
					apply(t, sent(pid("c"), 2*time.Second), store.ReceiptStale)
					if got := read(t); got.Status != steeple.RecipientDelivered {
						t.Fatalf("%+v", got)
					}
				})

				t.Run("delivered then a newer sent", func(t *testing.T) {
					read := tb.make(t, pid("c2"))
					apply(t, final(pid("c2"), steeple.RecipientDelivered, 2*time.Second), store.ReceiptApplied)
					apply(t, sent(pid("c2"), 5*time.Second), store.ReceiptStale)
					if got := read(t); got.Status != steeple.RecipientDelivered || got.FinishedAt == nil {
						t.Fatalf("%+v", got)
					}
				})

				t.Run("sent and final of the same instant", func(t *testing.T) {
					read := tb.make(t, pid("c3"))
					apply(t, sent(pid("c3"), 2*time.Second), store.ReceiptApplied)
					apply(t, final(pid("c3"), steeple.RecipientDelivered, 2*time.Second), store.ReceiptApplied)
					if got := read(t); got.Status != steeple.RecipientDelivered {
						t.Fatalf("%+v", got)
					}
				})

				t.Run("failure keeps its error", func(t *testing.T) {
					read := tb.make(t, pid("d"))
					r := final(pid("d"), steeple.RecipientFailed, 4*time.Second)
					r.ErrorCode, r.ErrorDetail = "40008", "Undeliverable: carrier rejected"
					apply(t, r, store.ReceiptApplied)
					if got := read(t); got.Status != steeple.RecipientFailed || got.ErrorCode != "40008" ||
						got.ErrorDetail != "Undeliverable: carrier rejected" || !same(got.FinishedAt, at(4*time.Second)) {
						t.Fatalf("%+v", got)
					}
				})

				t.Run("an older final after a final", func(t *testing.T) {
					read := tb.make(t, pid("e"))
					apply(t, final(pid("e"), steeple.RecipientDelivered, 5*time.Second), store.ReceiptApplied)
					r := final(pid("e"), steeple.RecipientFailed, 4*time.Second)
					r.ErrorCode, r.ErrorDetail = "40008", "late"
					apply(t, r, store.ReceiptStale)
					if got := read(t); got.Status != steeple.RecipientDelivered || got.ErrorCode != "" || !same(got.FinishedAt, at(5*time.Second)) {
						t.Fatalf("%+v", got)
					}
				})

				t.Run("an older sent after a sent", func(t *testing.T) {
					read := tb.make(t, pid("f"))
					apply(t, sent(pid("f"), 5*time.Second), store.ReceiptApplied)
					apply(t, sent(pid("f"), 4*time.Second), store.ReceiptStale)
					if got := read(t); got.Status != steeple.RecipientSent || !same(got.SentAt, at(5*time.Second)) {
						t.Fatalf("%+v", got)
					}
				})

				t.Run("unconfirmed, then delivered later", func(t *testing.T) {
					// The carrier never confirmed (final "sent"), then did.
					read := tb.make(t, pid("g"))
					r := final(pid("g"), steeple.RecipientSent, 5*time.Second)
					r.ErrorDetail = "the carrier did not confirm delivery"
					apply(t, r, store.ReceiptApplied)
					if got := read(t); got.Status != steeple.RecipientSent || got.FinishedAt == nil {
						t.Fatalf("%+v", got)
					}
					apply(t, sent(pid("g"), 6*time.Second), store.ReceiptStale)
					apply(t, final(pid("g"), steeple.RecipientDelivered, 7*time.Second), store.ReceiptApplied)
					if got := read(t); got.Status != steeple.RecipientDelivered || got.ErrorDetail != "" {
						t.Fatalf("%+v", got)
					}
				})
			})
		}

		t.Run("unknown provider id", func(t *testing.T) {
			apply(t, sent("nobody-sent-this", time.Second), store.ReceiptUnknown)
			apply(t, final("nobody-sent-this", steeple.RecipientDelivered, time.Second), store.ReceiptUnknown)
		})

		// Receipts that came together are applied in one transaction, each
		// as alone: a final outcome before an older "sent" of the same text
		// stays, a broadcast's text and a conversation's are both found,
		// and an unknown id is said so.
		t.Run("together", func(t *testing.T) {
			tables := receiptTables(c)
			readA := tables[0].make(t, "together-a")
			readB := tables[1].make(t, "together-b")
			got, err := c.st.ApplyReceipts(ctx, c.h, []store.Receipt{
				final("together-a", steeple.RecipientDelivered, 3*time.Second),
				sent("together-a", time.Second),
				sent("together-b", time.Second),
				final("together-b", steeple.RecipientFailed, 2*time.Second),
				sent("nobody-sent-this-either", time.Second),
			})
			if err != nil {
				t.Fatal(err)
			}
			want := []store.ReceiptResult{store.ReceiptApplied, store.ReceiptStale, store.ReceiptApplied, store.ReceiptApplied, store.ReceiptUnknown}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("ApplyReceipts = %v; want %v", got, want)
			}
			if a := readA(t); a.Status != steeple.RecipientDelivered || !same(a.FinishedAt, at(3*time.Second)) {
				t.Fatalf("the broadcast's text: %+v", a)
			}
			if b := readB(t); b.Status != steeple.RecipientFailed || !same(b.SentAt, at(time.Second)) || !same(b.FinishedAt, at(2*time.Second)) {
				t.Fatalf("the conversation's text: %+v", b)
			}
		})
	})
}
