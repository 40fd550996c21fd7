package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// invite asks email to join a's church and returns the invitation token.
func invite(t *testing.T, s *testkit.Server, a *account, email string) string {
	t.Helper()
	var ans struct {
		Mailed     bool             `json:"mailed"`
		Invitation store.Invitation `json:"invitation"`
	}
	r := s.Client(a.access).Call(t, "POST", "/api/v1/admins/invitations", map[string]any{"email": email}, http.StatusCreated, &ans)
	if strings.Contains(r.Raw, "inv1.") || !ans.Mailed {
		t.Fatalf("the invitation's answer carries its link, or was not mailed: %s", r.Raw)
	}
	s.Mail.WaitFor(t, email, "/invitations/accept?token=inv1."+a.tenantID+".")
	tok := latestToken(t, s, email, "inv1."+a.tenantID+".")
	if !strings.HasPrefix(tok, "inv1."+a.tenantID+".") {
		t.Fatalf("invitation token %q does not name church %s", tok, a.tenantID)
	}
	if inv := ans.Invitation; inv.Email != email || inv.Role != steeple.RoleAdmin || inv.InvitedBy != a.adminID {
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

// listAdmins is GET /api/v1/admins; it returns the raw answer too.
func listAdmins(t *testing.T, s *testkit.Server, token string) ([]steeple.Admin, string) {
	t.Helper()
	var body struct{ Admins []steeple.Admin }
	r := s.Client(token).Call(t, "GET", "/api/v1/admins", nil, http.StatusOK, &body)
	return body.Admins, r.Raw
}

// auditPage is GET /api/v1/audit?query: the entries, the next cursor and the raw answer.
func auditPage(t *testing.T, s *testkit.Server, token, query string) ([]store.AuditEntry, string, string) {
	t.Helper()
	var page struct {
		Entries    []store.AuditEntry `json:"entries"`
		NextCursor string             `json:"next_cursor"`
	}
	r := s.Client(token).Call(t, "GET", "/api/v1/audit"+query, nil, http.StatusOK, &page)
	return page.Entries, page.NextCursor, r.Raw
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
	var ans testkit.SessionAnswer
	r.Decode(t, &ans)
	if ans.AccessToken == "" || ans.RefreshToken == "" {
		t.Fatalf("accepting gave no tokens: %s", r.Raw)
	}
	a := &account{tenantID: church.tenantID, email: email, password: password, access: ans.AccessToken, refresh: ans.RefreshToken}
	if ans.Tenant == nil || ans.Tenant.ID != church.tenantID {
		t.Fatalf("accepting joined %+v; want %s", ans.Tenant, church.tenantID)
	}
	me := s.Client(a.access).Me(t)
	a.adminID = me.Admin.ID
	if me.Admin.Role != steeple.RoleAdmin || me.Admin.Email != email || a.adminID == "" {
		t.Fatalf("/me of the new admin: %+v", me)
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
		var e testkit.ErrorAnswer
		if r.Decode(t, &e); len(e.Error.Fields) != 2 {
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
		if plan := s.Client(owner.access).Me(t).Church.Plan; plan != "starter" {
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

		if admins, raw := listAdmins(t, s, lee.access); len(admins) != 2 {
			t.Fatalf("%d admins; want 2: %s", len(admins), raw)
		}
		wantStatus(t, del(owner, lee.adminID), http.StatusNoContent)
		wantError(t, s.Do(t, "GET", "/api/v1/me", lee.access, nil), http.StatusUnauthorized, "unauthorized")
		wantError(t, refresh(t, s, lee.refresh), http.StatusUnauthorized, "unauthorized")
		wantBadLogin(t, login(t, s, lee.email, pw2, ""))
		wantError(t, del(owner, lee.adminID), http.StatusNotFound, "not_found")

		admins, raw := listAdmins(t, s, owner.access)
		if len(admins) != 1 || admins[0].ID != owner.adminID {
			t.Fatalf("admins after removal: %s", raw)
		}
		if strings.Contains(raw, "password") || strings.Contains(raw, "totp") {
			t.Fatalf("the admin list exposes secrets: %s", raw)
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
		var got []store.AuditEntry
		entries, cursor, raw := auditPage(t, s, owner.access, "?limit=4")
		if cursor == "" {
			t.Fatalf("first page offers no next_cursor: %s", raw)
		}
		got = append(got, entries...)
		entries, more, raw := auditPage(t, s, owner.access, "?limit=4&cursor="+cursor)
		if more != "" || strings.Contains(raw, "next_cursor") {
			t.Fatalf("last page offers a next_cursor: %s", raw)
		}
		got = append(got, entries...)
		if len(got) != len(want) {
			t.Fatalf("%d entries; want %v: %+v", len(got), want, got)
		}
		var lastSeq int64
		var lastAt time.Time
		for i, e := range got {
			if e.Action != want[i] || e.ActorID != owner.adminID || e.IP != "127.0.0.1" || e.At.IsZero() {
				t.Fatalf("entry %d = %+v; want %s by %s from 127.0.0.1", i, e, want[i], owner.adminID)
			}
			if i > 0 && (e.Seq >= lastSeq || e.At.After(lastAt)) {
				t.Fatalf("entry %d (seq %v, %v) is not older than the one before (seq %v, %v)", i, e.Seq, e.At, lastSeq, lastAt)
			}
			lastSeq, lastAt = e.Seq, e.At
		}
		if got[0].Personal != "lee@example.org" || got[0].Detail != "" || got[4].Target != owner.adminID {
			t.Fatalf("entries lack detail or target: %+v / %+v", got[0], got[4])
		}

		if all, _, _ := auditPage(t, s, owner.access, ""); len(all) != len(want) {
			t.Fatalf("default page: %d entries; want %d", len(all), len(want))
		}
		for _, q := range []string{"limit=0", "limit=201", "limit=x", "cursor=0", "cursor=x"} {
			wantError(t, s.Do(t, "GET", "/api/v1/audit?"+q, owner.access, nil), http.StatusBadRequest, "invalid")
		}
		lee := join(t, s, owner, tok, "lee@example.org", pw2)
		wantError(t, s.Do(t, "GET", "/api/v1/audit", lee.access, nil), http.StatusForbidden, "forbidden")
		if top, _, raw := auditPage(t, s, owner.access, "?limit=1"); len(top) != 1 || top[0].Action != "admin.joined" || top[0].ActorID != lee.adminID {
			t.Fatalf("newest entry %s; want admin.joined by %s", raw, lee.adminID)
		}
	})
}
