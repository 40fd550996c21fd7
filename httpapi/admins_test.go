package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/tenancy"
)

// invite asks email to join a's church and returns the invitation token.
func invite(t *testing.T, s *testkit.Server, a *account, email string) string {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/admins/invitations", a.access, map[string]any{"email": email})
	wantStatus(t, r, http.StatusCreated)
	if strings.Contains(r.Raw, "inv1.") || r.Body["mailed"] != true {
		t.Fatalf("the invitation's answer carries its link, or was not mailed: %s", r.Raw)
	}
	s.Mail.WaitFor(t, email, "/invitations/accept?token=inv1."+a.tenantID+".")
	tok := latestToken(t, s, email, "inv1."+a.tenantID+".")
	if !strings.HasPrefix(tok, "inv1."+a.tenantID+".") {
		t.Fatalf("invitation token %q does not name church %s", tok, a.tenantID)
	}
	if str(t, r.Body, "invitation.email") != email || str(t, r.Body, "invitation.role") != "admin" ||
		str(t, r.Body, "invitation.invited_by") != a.adminID {
		t.Fatalf("invitation %s; want %s invited as admin by %s", r.Raw, email, a.adminID)
	}
	return tok
}

// latestToken returns the token of the newest mail to rcpt whose link
// starts with prefix.
func latestToken(t *testing.T, s *testkit.Server, rcpt, prefix string) string {
	t.Helper()
	s.Mail.WaitFor(t, rcpt, prefix)
	tok := ""
	for _, m := range s.Mail.Mails() {
		if strings.EqualFold(m.To[0], rcpt) && strings.HasPrefix(m.Token(), prefix) {
			tok = m.Token()
		}
	}
	return tok
}

func accept(t *testing.T, s *testkit.Server, token, name, password string) *testkit.Response {
	t.Helper()
	return s.Do(t, "POST", "/api/v1/invitations/accept", "", map[string]any{"token": token, "name": name, "password": password})
}

// join accepts an invitation and returns the new admin, signed in.
func join(t *testing.T, s *testkit.Server, church *account, token, email, password string) *account {
	t.Helper()
	r := accept(t, s, token, "New Admin", password)
	wantStatus(t, r, http.StatusCreated)
	a := &account{tenantID: church.tenantID, email: email, password: password,
		access: str(t, r.Body, "access_token"), refresh: str(t, r.Body, "refresh_token")}
	if str(t, r.Body, "tenant.id") != church.tenantID {
		t.Fatalf("accepting joined %s; want %s", r.Body["tenant"], church.tenantID)
	}
	me := s.Do(t, "GET", "/api/v1/me", a.access, nil)
	wantStatus(t, me, http.StatusOK)
	a.adminID = str(t, me.Body, "admin.id")
	if str(t, me.Body, "admin.role") != "admin" || str(t, me.Body, "admin.email") != email {
		t.Fatalf("/me of the new admin: %s", me.Raw)
	}
	return a
}

// Invitations: single use, expiring, bound to their church; only owners invite.
func TestInvitations(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		owner := signup(t, s, "Grace Chapel", "pat@example.org", pw1)
		other := signup(t, s, "Hope Church", "sam@example.org", pw2)

		tok := invite(t, s, owner, "lee@example.org")
		lee := join(t, s, owner, tok, "lee@example.org", pw2)
		wantSession(t, s, login(t, s, lee.email, pw2, ""), lee)
		wantError(t, accept(t, s, tok, "Lee Again", pw3), http.StatusNotFound, "not_found")

		// The church part of a token cannot be pointed at another church;
		// the untouched token still works afterwards.
		tok = invite(t, s, owner, "kim@example.org")
		secretPart := tok[strings.LastIndex(tok, ".")+1:]
		for _, tid := range []string{other.tenantID, steeple.NewID()} {
			r := accept(t, s, "inv1."+tid+"."+secretPart, "Kim", pw3)
			wantError(t, r, http.StatusNotFound, "not_found")
			wantNoTokens(t, r)
		}
		wantError(t, accept(t, s, "inv1.nonsense", "Kim", pw3), http.StatusNotFound, "not_found")
		r := accept(t, s, tok, "", "short")
		wantError(t, r, http.StatusBadRequest, "invalid")
		if f, _ := get(r.Body, "error.fields"); len(f.(map[string]any)) != 2 {
			t.Fatalf("want name and password named: %s", r.Raw)
		}
		join(t, s, owner, tok, "kim@example.org", pw3)
		wantBadLogin(t, login(t, s, "kim@example.org", pw3, other.tenantID))

		// Only owners invite; an existing admin cannot be invited again.
		wantError(t, s.Do(t, "POST", "/api/v1/admins/invitations", lee.access, map[string]any{"email": "max@example.org"}),
			http.StatusForbidden, "forbidden")
		wantError(t, s.Do(t, "POST", "/api/v1/admins/invitations", owner.access, map[string]any{"email": "LEE@example.org"}),
			http.StatusConflict, "conflict")
		wantError(t, s.Do(t, "POST", "/api/v1/admins/invitations", owner.access, map[string]any{"email": "nope"}),
			http.StatusBadRequest, "invalid")

		// An invitation expires after 7 days.
		tok = invite(t, s, owner, "max@example.org")
		s.Clock.Add(8 * 24 * time.Hour)
		wantError(t, accept(t, s, tok, "Max", pw3), http.StatusNotFound, "not_found")
		wantBadLogin(t, login(t, s, "max@example.org", pw3, ""))
	})
}

// The plan caps admins plus pending invitations, with a clear refusal.
func TestInvitationPlanLimit(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Tenancy: func(o *tenancy.Options) { o.DefaultPlan = "starter" }})
		owner := signup(t, s, "Grace Chapel", "pat@example.org", pw1)
		if plan := str(t, s.Do(t, "GET", "/api/v1/me", owner.access, nil).Body, "church.plan"); plan != "starter" {
			t.Fatalf("plan %q; want starter", plan)
		}
		refused := func(email string) {
			t.Helper()
			r := s.Do(t, "POST", "/api/v1/admins/invitations", owner.access, map[string]any{"email": email})
			msg := wantError(t, r, http.StatusForbidden, "forbidden")
			if !strings.Contains(msg, "starter") || !strings.Contains(msg, "2 admins") {
				t.Fatalf("refusal %q should name the plan and its limit", msg)
			}
		}
		tok := invite(t, s, owner, "lee@example.org") // owner + one pending = 2
		refused("kim@example.org")
		lee := join(t, s, owner, tok, "lee@example.org", pw2)
		refused("kim@example.org")
		wantStatus(t, s.Do(t, "DELETE", "/api/v1/admins/"+lee.adminID, owner.access, nil), http.StatusNoContent)
		invite(t, s, owner, "kim@example.org")
	})
}

// Owners remove admins (never the last owner); a removed admin's tokens
// and password stop working at once.
func TestRemoveAdmin(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		owner := signup(t, s, "Grace Chapel", "pat@example.org", pw1)
		lee := join(t, s, owner, invite(t, s, owner, "lee@example.org"), "lee@example.org", pw2)
		del := func(who *account, id string) *testkit.Response {
			return s.Do(t, "DELETE", "/api/v1/admins/"+id, who.access, nil)
		}
		wantError(t, del(owner, owner.adminID), http.StatusConflict, "conflict")
		wantError(t, del(lee, owner.adminID), http.StatusForbidden, "forbidden")
		wantError(t, del(lee, lee.adminID), http.StatusForbidden, "forbidden")
		wantError(t, del(owner, "nonsense"), http.StatusNotFound, "not_found")

		list := s.Do(t, "GET", "/api/v1/admins", lee.access, nil)
		wantStatus(t, list, http.StatusOK)
		if n := len(list.Body["admins"].([]any)); n != 2 {
			t.Fatalf("%d admins; want 2: %s", n, list.Raw)
		}
		wantStatus(t, del(owner, lee.adminID), http.StatusNoContent)
		wantError(t, s.Do(t, "GET", "/api/v1/me", lee.access, nil), http.StatusUnauthorized, "unauthorized")
		wantError(t, refresh(t, s, lee.refresh), http.StatusUnauthorized, "unauthorized")
		wantBadLogin(t, login(t, s, lee.email, pw2, ""))
		wantError(t, del(owner, lee.adminID), http.StatusNotFound, "not_found")

		list = s.Do(t, "GET", "/api/v1/admins", owner.access, nil)
		admins, _ := list.Body["admins"].([]any)
		if len(admins) != 1 || admins[0].(map[string]any)["id"] != owner.adminID {
			t.Fatalf("admins after removal: %s", list.Raw)
		}
		if strings.Contains(list.Raw, "password") || strings.Contains(list.Raw, "totp") {
			t.Fatalf("the admin list exposes secrets: %s", list.Raw)
		}
	})
}

// The audit log lists what happened, newest first, page by page; only
// owners may read it.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		owner := signup(t, s, "Grace Chapel", "pat@example.org", pw1)
		wantBadLogin(t, login(t, s, owner.email, pw2, ""))
		wantSession(t, s, login(t, s, owner.email, pw1, ""), owner)
		enableMFA(t, s, owner)
		tok := invite(t, s, owner, "lee@example.org")

		want := []string{"admin.invited", "mfa.enabled", "mfa.setup", "login.succeeded", "login.failed", "admin.email_verified", "church.signup"}
		var got []map[string]any
		page := s.Do(t, "GET", "/api/v1/audit?limit=4", owner.access, nil)
		wantStatus(t, page, http.StatusOK)
		cursor := str(t, page.Body, "next_cursor")
		for _, e := range page.Body["entries"].([]any) {
			got = append(got, e.(map[string]any))
		}
		page = s.Do(t, "GET", "/api/v1/audit?limit=4&cursor="+cursor, owner.access, nil)
		wantStatus(t, page, http.StatusOK)
		if _, more := page.Body["next_cursor"]; more {
			t.Fatalf("last page offers a next_cursor: %s", page.Raw)
		}
		for _, e := range page.Body["entries"].([]any) {
			got = append(got, e.(map[string]any))
		}
		if len(got) != len(want) {
			t.Fatalf("%d entries; want %v: %v", len(got), want, got)
		}
		var lastSeq float64
		var lastAt time.Time
		for i, e := range got {
			seq, _ := e["seq"].(float64)
			at, err := time.Parse(time.RFC3339Nano, e["at"].(string))
			if e["action"] != want[i] || e["actor_id"] != owner.adminID || e["ip"] != "127.0.0.1" || err != nil {
				t.Fatalf("entry %d = %v; want %s by %s from 127.0.0.1", i, e, want[i], owner.adminID)
			}
			if i > 0 && (seq >= lastSeq || at.After(lastAt)) {
				t.Fatalf("entry %d (seq %v, %v) is not older than the one before (seq %v, %v)", i, seq, at, lastSeq, lastAt)
			}
			lastSeq, lastAt = seq, at
		}
		if got[0]["personal"] != "lee@example.org" || got[0]["detail"] != nil || got[4]["target"] != owner.adminID {
			t.Fatalf("entries lack detail or target: %v / %v", got[0], got[4])
		}

		all := s.Do(t, "GET", "/api/v1/audit", owner.access, nil)
		if n := len(all.Body["entries"].([]any)); n != len(want) {
			t.Fatalf("default page: %d entries; want %d", n, len(want))
		}
		for _, q := range []string{"limit=0", "limit=201", "limit=x", "cursor=0", "cursor=x"} {
			wantError(t, s.Do(t, "GET", "/api/v1/audit?"+q, owner.access, nil), http.StatusBadRequest, "invalid")
		}
		lee := join(t, s, owner, tok, "lee@example.org", pw2)
		wantError(t, s.Do(t, "GET", "/api/v1/audit", lee.access, nil), http.StatusForbidden, "forbidden")
		top := s.Do(t, "GET", "/api/v1/audit?limit=1", owner.access, nil)
		if e := top.Body["entries"].([]any)[0].(map[string]any); e["action"] != "admin.joined" || e["actor_id"] != lee.adminID {
			t.Fatalf("newest entry %v; want admin.joined by %s", e, lee.adminID)
		}
	})
}
