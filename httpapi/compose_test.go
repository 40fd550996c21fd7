package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
)

func TestComposeCount(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		a := signup(t, s, "Grace Chapel", "owner@grace.example.org", pw1)
		if r := s.Do(t, "POST", "/api/v1/compose/count", "", map[string]any{"text": "hi"}); r.Status != http.StatusUnauthorized {
			t.Fatalf("no token: %d %s", r.Status, r.Raw)
		}
		// 100 characters, one curly apostrophe and one á: UCS-2 in two parts,
		// one GSM-7 part once replaced.
		text := "Misa en español: ¡venga! It’s at 10, María " + strings.Repeat("x", 57)
		r := s.Do(t, "POST", "/api/v1/compose/count", a.access, map[string]any{"text": text})
		wantStatus(t, r, http.StatusOK)
		var c messaging.Count
		r.Decode(t, &c)
		if c.Encoding != "UCS-2" || c.Parts != 2 || len(c.UCS2Chars) != 2 || c.UCS2Chars[0].Char != "’" || c.UCS2Chars[1].Char != "í" {
			t.Fatalf("count: %+v", c)
		}
		if c.GSM == nil || c.GSM.Parts != 1 || c.GSM.Encoding != "GSM-7" || !strings.Contains(c.GSM.Text, "It's at 10, Maria") || !strings.Contains(c.GSM.Text, "español: ¡venga!") {
			t.Fatalf("GSM rewrite: %+v", c.GSM)
		}
		r = s.Do(t, "POST", "/api/v1/compose/count", a.access, map[string]any{"text": strings.Repeat("a", 5001)})
		wantStatus(t, r, http.StatusBadRequest)
		wantField(t, r, "text")
		r = s.Do(t, "POST", "/api/v1/compose/count", a.access, map[string]any{"txt": "a"})
		wantStatus(t, r, http.StatusBadRequest)
	})
}

func TestPreviewExplainsAudienceAndLongest(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		a := signup(t, s, "Grace Chapel", "owner@grace.example.org", pw1)
		postMember(t, s, a.access, "Ann", "Arbor", "+13125550501", true)
		long := postMember(t, s, a.access, "Maximiliana", "Long", "+13125550502", true)
		postMember(t, s, a.access, "Zoë", "Umlaut", "+13125550503", true)
		postMember(t, s, a.access, "Dora", "Optout", "+13125550504", false)
		postMember(t, s, a.access, "Ann's", "Spouse", "+13125550501", true) // same phone as Ann
		postMember(t, s, a.access, "Nigel", "Abroad", "+442071838750", true)
		bad := postMember(t, s, a.access, "Rita", "Rejected", "+13125550505", true)
		h, err := s.Tenancy.Manager.Acquire(ctx, a.tenantID)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Store.MarkPhoneInvalid(ctx, h, bad.ID); err != nil {
			t.Fatal(err)
		}
		h.Release()

		// 150 + " " + name: Ann fits one part (154), Maximiliana needs two.
		text := "Hi {first_name}, " + strings.Repeat("a", 140) + " “see you”"
		r := s.Do(t, "POST", "/api/v1/messages/preview", a.access, map[string]any{"text": text, "audience": map[string]any{"all": true}})
		wantStatus(t, r, http.StatusOK)
		var p messaging.Preview
		r.Decode(t, &p)
		if p.Recipients != 3 {
			t.Fatalf("recipients %d; want Ann, Maximiliana, Zoë: %s", p.Recipients, r.Raw)
		}
		want := map[string]int{"opted_out": 1, "no_valid_mobile": 1, "duplicate_phone": 1, "outside_region": 1}
		for k, v := range want {
			if p.LeftOut[k] != v {
				t.Errorf("excluded_by_reason[%s] = %d; want %d (%v)", k, p.LeftOut[k], v, p.LeftOut)
			}
		}
		if p.Longest == nil || p.Longest.MemberID != long.ID || !strings.HasPrefix(p.Longest.Text, "Hi Maximiliana, ") {
			t.Fatalf("longest: %+v", p.Longest)
		}
		if p.Longest.Parts != p.SegmentsPerMessage || p.Longest.Parts != 3 {
			t.Fatalf("longest parts %d, per message %d; want 3", p.Longest.Parts, p.SegmentsPerMessage)
		}
		if p.Sample == nil || !strings.HasPrefix(p.Sample.Text, "Hi ") || strings.Contains(p.Sample.Text, "{first_name}") {
			t.Fatalf("sample: %+v", p.Sample)
		}
		if len(p.UCS2Chars) != 2 || p.UCS2Chars[0].Char != "“" || p.UCS2Recipients != 3 {
			t.Fatalf("ucs2 chars %+v, recipients %d", p.UCS2Chars, p.UCS2Recipients)
		}
		// A GSM-7 text is UCS-2 only for Zoë, and says so.
		r = s.Do(t, "POST", "/api/v1/messages/preview", a.access, map[string]any{"text": "Hi {first_name}", "audience": map[string]any{"all": true}})
		wantStatus(t, r, http.StatusOK)
		p = messaging.Preview{}
		r.Decode(t, &p)
		if len(p.UCS2Chars) != 0 || p.UCS2Recipients != 1 || p.Encoding != "UCS-2" {
			t.Fatalf("Zoë: chars %+v, recipients %d, encoding %s", p.UCS2Chars, p.UCS2Recipients, p.Encoding)
		}
	})
}
