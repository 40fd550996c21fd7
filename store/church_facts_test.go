package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
)

// ChurchFacts counts members, this month's texts and parts (not last
// month's) and measures the church's database, on both backends.
func TestChurchFacts(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c := openChurch(t, s)
		ctx := context.Background()
		send := func(phone string, segments int) {
			t.Helper()
			m := c.member(t, "Ann", phone, steeple.ConsentOptedIn)
			bc := &store.Broadcast{ID: steeple.NewID(), Text: "Picnic", MediaURLs: []string{}, Audience: store.Audience{MemberIDs: []string{m.ID}},
				From: c.number, Encoding: "GSM-7", SegmentsPerMessage: segments, Recipients: 1, Chunks: 1, CreatedBy: c.adminID}
			rs := []store.OutgoingRecipient{{Recipient: store.Recipient{MemberID: m.ID, FirstName: m.FirstName, Phone: phone}, Body: bc.Text}}
			if err := c.st.CreateBroadcast(ctx, c.h, bc, rs, segments, 0); err != nil {
				t.Fatal(err)
			}
			if err := c.st.UpdateRecipient(ctx, c.h, bc.ID, m.ID, store.RecipientUpdate{Status: steeple.RecipientSent, ProviderID: "p-" + bc.ID}); err != nil {
				t.Fatal(err)
			}
		}
		s.Clock.Set(time.Date(2026, 2, 20, 12, 0, 0, 0, time.UTC))
		send("+13126000001", 3) // last month
		s.Clock.Set(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))
		send("+13126000002", 2)
		c.member(t, "Bo", "+13126000003", steeple.ConsentOptedIn) // a member never texted

		f, err := c.st.ChurchFacts(ctx, c.h)
		if err != nil {
			t.Fatal(err)
		}
		if f.Members != 3 || f.Month != "2026-03" || f.Texts != 1 || f.Parts != 2 || f.DatabaseBytes < 4096 {
			t.Fatalf("facts = %+v; want 3 members, 1 text and 2 parts in 2026-03, a database of some size", f)
		}
	})
}
