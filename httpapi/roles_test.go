package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
)

// A sender writes, sends and answers the inbox but cannot manage numbers,
// 10DLC, settings, admins or the audit log; owners change roles, and a
// church keeps at least one owner.
func TestSenderRole(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		owner := signup(t, s, "Grace Chapel", "pat@example.org", pw1)
		other := signup(t, s, "Hope Church", "sam@example.org", pw2)
		api := s.Client(owner.access)

		r := s.Do(t, "POST", "/api/v1/admins/invitations", owner.access, map[string]any{"email": "sal@example.org", "role": "boss"})
		wantError(t, r, http.StatusBadRequest, "invalid")
		if f := r.Fields(t); f["role"] == "" {
			t.Fatalf("an unknown role is not named: %s", r.Raw)
		}
		var ans struct{ Invitation store.Invitation }
		api.Call(t, "POST", "/api/v1/admins/invitations", map[string]any{"email": "sal@example.org", "role": "sender"}, http.StatusCreated, &ans)
		if ans.Invitation.Role != steeple.RoleSender {
			t.Fatalf("invitation role %q; want sender", ans.Invitation.Role)
		}
		tok := latestToken(t, s, "sal@example.org", "inv1."+owner.tenantID+".")
		var session testkit.SessionAnswer
		acc := accept(t, s, tok, "Sal Ortiz", pw3)
		wantStatus(t, acc, http.StatusCreated)
		acc.Decode(t, &session)
		sender := s.Client(session.AccessToken)
		me := sender.Me(t)
		if me.Admin.Role != steeple.RoleSender {
			t.Fatalf("the invited sender's role is %q", me.Admin.Role)
		}

		closed := []struct{ method, path string }{
			{"GET", "/api/v1/numbers"}, {"GET", "/api/v1/numbers/available?area_code=312"}, {"POST", "/api/v1/numbers"},
			{"DELETE", "/api/v1/numbers/+13125550100"}, {"GET", "/api/v1/registration"}, {"POST", "/api/v1/registration"},
			{"PUT", "/api/v1/settings"}, {"GET", "/api/v1/audit"}, {"POST", "/api/v1/admins/invitations"},
			{"PATCH", "/api/v1/admins/" + me.Admin.ID}, {"POST", "/api/v1/keywords"},
		}
		for _, c := range closed {
			r := s.Do(t, c.method, c.path, session.AccessToken, map[string]any{})
			wantError(t, r, http.StatusForbidden, "forbidden")
			if !strings.Contains(r.Raw, "owner") {
				t.Fatalf("%s %s: the refusal does not say who can: %s", c.method, c.path, r.Raw)
			}
		}
		// What a sender is for stays open.
		sender.Call(t, "GET", "/api/v1/settings", nil, http.StatusOK, nil)
		sender.CreateMember(t, "Ana", testkit.Phone(1))
		sender.Call(t, "GET", "/api/v1/conversations", nil, http.StatusOK, nil)
		sender.Call(t, "POST", "/api/v1/messages/preview", map[string]any{"text": "Hi {first_name}", "audience": map[string]any{"all": true}}, http.StatusOK, nil)

		// An owner changes the role; it applies from the next request.
		var changed struct{ Admin steeple.Admin }
		api.Call(t, "PATCH", "/api/v1/admins/"+me.Admin.ID, map[string]any{"role": "admin"}, http.StatusOK, &changed)
		if changed.Admin.Role != steeple.RoleAdmin {
			t.Fatalf("role after change: %+v", changed.Admin)
		}
		sender.Call(t, "GET", "/api/v1/numbers", nil, http.StatusOK, nil)

		// The only owner cannot stop being one; with a second owner it can.
		wantError(t, s.Do(t, "PATCH", "/api/v1/admins/"+owner.adminID, owner.access, map[string]any{"role": "sender"}),
			http.StatusConflict, "conflict")
		api.Call(t, "PATCH", "/api/v1/admins/"+me.Admin.ID, map[string]any{"role": "owner"}, http.StatusOK, nil)
		api.Call(t, "PATCH", "/api/v1/admins/"+owner.adminID, map[string]any{"role": "admin"}, http.StatusOK, nil)
		if got := s.Client(owner.access).Me(t).Admin.Role; got != steeple.RoleAdmin {
			t.Fatalf("the first owner's role is %q after stepping down", got)
		}

		// Another church's admin is not found, whoever asks.
		wantError(t, s.Do(t, "PATCH", "/api/v1/admins/"+other.adminID, session.AccessToken, map[string]any{"role": "sender"}),
			http.StatusNotFound, "not_found")
		entries, _, _ := auditPage(t, s, session.AccessToken, "")
		n := 0
		for _, e := range entries {
			if e.Action == "admin.role_changed" {
				n++
			}
		}
		if n != 3 {
			t.Fatalf("%d role changes audited; want 3", n)
		}
	})
}
