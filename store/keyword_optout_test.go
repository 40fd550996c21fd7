package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
)

// A STOP from a household's phone is the own opt-out of everyone sharing
// it, also of those an admin or an import had already opted out, so no
// admin can undo it. The home page's opt-outs count only members' own
// opt-outs, one per phone.
func TestStopIsEveryonesOwnOptOut(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c := openChurch(t, s)
		ctx := context.Background()
		monthStart := s.Clock.Now().Add(-time.Hour)
		const phone = "+13122000901"
		mk := func(first, status, source string) *steeple.Member {
			m, err := c.st.CreateMember(ctx, c.h, store.MemberInput{FirstName: first, Phone: phone},
				steeple.Consent{Status: status, Source: source, Wording: "x"})
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		in := mk("Ann", steeple.ConsentOptedIn, steeple.ConsentSourceAdmin)
		byAdmin := mk("Bob", steeple.ConsentOptedOut, steeple.ConsentSourceAdmin)
		imported := mk("Cy", steeple.ConsentOptedOut, steeple.ConsentSourceImport)
		// An import without consent and an admin's opt-out are not
		// members asking to stop.
		if ov, err := c.st.Overview(ctx, c.h, monthStart); err != nil || ov.OptOutsSince != 0 {
			t.Fatalf("opt-outs before any STOP: %+v %v", ov, err)
		}
		// A STOP from the phone is everyone's own opt-out, also for those an
		// admin had opted out: no admin can undo it.
		c.text(t, phone, "STOP", keyword(store.KeywordStop))
		if ov, err := c.st.Overview(ctx, c.h, monthStart); err != nil || ov.OptOutsSince != 1 {
			t.Fatalf("opt-outs after one STOP from a shared phone: %+v %v", ov, err)
		}
		for _, m := range []*steeple.Member{in, byAdmin, imported} {
			got, err := c.st.Member(ctx, c.h, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Consent.Status != steeple.ConsentOptedOut || got.Consent.Source != steeple.ConsentSourceKeyword {
				t.Errorf("%s after STOP: %s (%s), want opted out by keyword", m.FirstName, got.Consent.Status, got.Consent.Source)
			}
		}
	})
}

// "Texts used this month" and the quota follow the church's month: at
// 21:00 on the last day of February in Chicago it is already March in UTC.
func TestOverviewUsesChurchMonth(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c := openChurch(t, s)
		ctx := context.Background()
		s.Clock.Set(time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)) // Feb 28, 21:00 CST
		if _, err := c.h.ExecContext(ctx, `INSERT INTO segment_usage (month, segments) VALUES ('2026-02', 5)`); err != nil {
			t.Fatal(err)
		}
		ov, err := c.st.Overview(ctx, c.h, s.Clock.Now().Add(-time.Hour))
		if err != nil || ov.SegmentsThisMonth != 5 {
			t.Fatalf("segments in the church's February: %+v %v", ov, err)
		}
	})
}
