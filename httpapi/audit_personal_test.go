package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
)

// No audit row holds personal data in plaintext: invited and removed
// admins' emails are sealed in the row, and shown only to owners.
func TestAuditHoldsNoPlaintextEmail(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		owner := signup(t, s, "Grace Chapel", "pat@example.org", pw1)
		wantBadLogin(t, login(t, s, owner.email, pw2, ""))
		lee := join(t, s, owner, invite(t, s, owner, "lee@example.org"), "lee@example.org", pw2)
		invite(t, s, owner, "kim@example.org")
		wantStatus(t, s.Do(t, "DELETE", "/api/v1/admins/"+lee.adminID, owner.access, nil), http.StatusNoContent)

		h, err := s.Tenancy.Manager.Acquire(context.Background(), owner.tenantID)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Release()
		rows, err := h.QueryContext(context.Background(), `SELECT action, COALESCE(actor_id, ''), target, ip, detail, personal_cipher FROM audit_log`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		sealed := 0
		for rows.Next() {
			var action, actor, target, ip, detail string
			var personal []byte
			if err := rows.Scan(&action, &actor, &target, &ip, &detail, &personal); err != nil {
				t.Fatal(err)
			}
			text := strings.Join([]string{action, actor, target, ip, detail}, "|")
			if strings.Contains(text, "example.org") || bytes.Contains(personal, []byte("example.org")) {
				t.Fatalf("audit row %s holds an email in plaintext: %q %q", action, text, personal)
			}
			if len(personal) > 0 {
				sealed++
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if sealed != 3 {
			t.Fatalf("%d audit rows carry sealed personal data; want 3 (two invitations, one removal)", sealed)
		}
		page := s.Do(t, "GET", "/api/v1/audit", owner.access, nil)
		wantStatus(t, page, http.StatusOK)
		var audit struct{ Entries []store.AuditEntry }
		page.Decode(t, &audit)
		if len(audit.Entries) == 0 {
			t.Fatalf("no audit entries: %s", page.Raw)
		}
		top := audit.Entries[0]
		if top.Action != "admin.removed" || top.Target != lee.adminID || top.Personal != "lee@example.org" {
			t.Fatalf("newest entry %v; want admin.removed of %s showing lee@example.org to the owner", top, lee.adminID)
		}
	})
}
