package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/tenancy"
)

// Passwords long and uncommon enough for ValidatePassword.
const (
	pw1 = "correct horse battery"
	pw2 = "violet otter quilting"
	pw3 = "seven tall lighthouses"
)

// account is a church and one of its admins, signed in.
type account struct {
	tenantID, adminID, email, password string
	access, refresh                    string
}

// signup creates a church with its owner and reads the owner's id from /me.
func signup(t *testing.T, s *testkit.Server, church, email, password string) *account {
	t.Helper()
	var ans testkit.SessionAnswer
	s.Signup(t, church, email, password).Decode(t, &ans)
	if ans.Tenant == nil || ans.Tenant.ID == "" || ans.AccessToken == "" || ans.RefreshToken == "" {
		t.Fatalf("signup: no church or tokens in %+v", ans)
	}
	a := &account{tenantID: ans.Tenant.ID, email: email, password: password, access: ans.AccessToken, refresh: ans.RefreshToken}
	if got := ans.Tenant.Name; got != church {
		t.Fatalf("signup: tenant.name = %q; want %q", got, church)
	}
	me := s.Client(a.access).Me(t)
	a.adminID = me.Admin.ID
	if me.Church.ID != a.tenantID || me.Admin.Role != steeple.RoleOwner || a.adminID == "" {
		t.Fatalf("signup: /me = %+v; want the owner of %s", me, a.tenantID)
	}
	return a
}

func wantStatus(t *testing.T, r *testkit.Response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d; want %d: %s", r.Status, status, r.Raw)
	}
}

// wantError checks the status and the envelope's code, and returns the message.
func wantError(t *testing.T, r *testkit.Response, status int, code string) string {
	t.Helper()
	wantStatus(t, r, status)
	var e testkit.ErrorAnswer
	r.Decode(t, &e)
	if e.Error.Code != code {
		t.Fatalf("error.code = %q; want %q: %s", e.Error.Code, code, r.Raw)
	}
	if e.Error.Message == "" {
		t.Fatalf("error.message is empty: %s", r.Raw)
	}
	return e.Error.Message
}

// wantNoTokens fails if the answer carries any kind of token.
func wantNoTokens(t *testing.T, r *testkit.Response) {
	t.Helper()
	for _, k := range []string{"access_token", "refresh_token", "mfa_token"} {
		if _, ok := r.Body[k]; ok {
			t.Fatalf("answer carries %s: %s", k, r.Raw)
		}
	}
}

func login(t *testing.T, s *testkit.Server, email, password, tenantID string) *testkit.Response {
	t.Helper()
	body := map[string]any{"email": email, "password": password}
	if tenantID != "" {
		body["tenant_id"] = tenantID
	}
	return s.Do(t, "POST", "/api/v1/auth/login", "", body)
}

// wantSession checks that r holds tokens for a's church and admin, and
// returns the access and refresh tokens.
func wantSession(t *testing.T, s *testkit.Server, r *testkit.Response, a *account) (string, string) {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	var ans testkit.SessionAnswer
	r.Decode(t, &ans)
	if ans.Tenant == nil || ans.Tenant.ID != a.tenantID {
		t.Fatalf("tenant = %+v; want %s: %s", ans.Tenant, a.tenantID, r.Raw)
	}
	access, refresh := ans.AccessToken, ans.RefreshToken
	if access == "" || !strings.HasPrefix(refresh, "rt1."+a.tenantID+".") {
		t.Fatalf("access token %q, refresh token %q: want tokens naming church %s", access, refresh, a.tenantID)
	}
	me := s.Client(access).Me(t)
	if me.Church.ID != a.tenantID || me.Admin.ID != a.adminID {
		t.Fatalf("/me = %+v; want admin %s of church %s", me, a.adminID, a.tenantID)
	}
	return access, refresh
}

// refresh spends a refresh token.
func refresh(t *testing.T, s *testkit.Server, token string) *testkit.Response {
	t.Helper()
	return s.Do(t, "POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": token})
}

// Each refresh gives a new pair; the spent token is dead; replaying it
// revokes its family, successor included; other families are untouched.
func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		a := signup(t, s, "Grace Chapel", "pat@example.org", pw1)
		_, other := wantSession(t, s, login(t, s, a.email, pw1, ""), a) // a second family

		r1 := refresh(t, s, a.refresh)
		wantStatus(t, r1, http.StatusOK)
		access1, next := r1.Tokens(t).AccessToken, r1.Tokens(t).RefreshToken
		if next == a.refresh {
			t.Fatal("refresh returned the same refresh token")
		}
		if n := r1.Tokens(t).ExpiresIn; n != 900 {
			t.Fatalf("expires_in = %v; want 900", n)
		}
		wantStatus(t, s.Do(t, "GET", "/api/v1/me", access1, nil), http.StatusOK)

		// The successor works once more, showing rotation continues.
		r2 := refresh(t, s, next)
		wantStatus(t, r2, http.StatusOK)
		latest := r2.Tokens(t).RefreshToken

		// Replaying the first, spent token: refused, and the family is revoked.
		replay := refresh(t, s, a.refresh)
		wantError(t, replay, http.StatusUnauthorized, "unauthorized")
		wantNoTokens(t, replay)
		wantError(t, refresh(t, s, latest), http.StatusUnauthorized, "unauthorized")
		wantError(t, refresh(t, s, next), http.StatusUnauthorized, "unauthorized")

		// The other session's family still works.
		r3 := refresh(t, s, other)
		wantStatus(t, r3, http.StatusOK)

		// Garbage and a well-formed but unknown token.
		wantError(t, refresh(t, s, "rt1."+a.tenantID+"."+strings.Repeat("A", 52)), http.StatusUnauthorized, "unauthorized")
		wantError(t, refresh(t, s, ""), http.StatusUnauthorized, "unauthorized")

		// A refresh token expires after 30 days.
		live := r3.Tokens(t).RefreshToken
		s.Clock.Add(30*24*time.Hour + time.Minute)
		wantError(t, refresh(t, s, live), http.StatusUnauthorized, "unauthorized")
	})
}

// Logout revokes the refresh token (and its family) and answers 204.
func TestLogout(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		a := signup(t, s, "Grace Chapel", "pat@example.org", pw1)
		r := s.Do(t, "POST", "/api/v1/auth/logout", "", map[string]any{"refresh_token": a.refresh})
		wantStatus(t, r, http.StatusNoContent)
		wantError(t, refresh(t, s, a.refresh), http.StatusUnauthorized, "unauthorized")

		// Logging out with a rotated token kills its predecessor's family too.
		_, rt := wantSession(t, s, login(t, s, a.email, pw1, ""), a)
		r1 := refresh(t, s, rt)
		wantStatus(t, r1, http.StatusOK)
		next := r1.Tokens(t).RefreshToken
		wantStatus(t, s.Do(t, "POST", "/api/v1/auth/logout", "", map[string]any{"refresh_token": next}), http.StatusNoContent)
		wantError(t, refresh(t, s, next), http.StatusUnauthorized, "unauthorized")

		// An access token is no logout token.
		wantError(t, s.Do(t, "POST", "/api/v1/auth/logout", "", map[string]any{"refresh_token": a.access}),
			http.StatusUnauthorized, "unauthorized")
	})
}

// A signup that fails part-way (after the owner and the login entry were
// written) leaves nothing behind: the same signup then succeeds, and the
// email leads to exactly one church.
func TestSignupFailurePartWayAllowsRetry(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		var failed atomic.Bool
		var failedDB atomic.Value // the half-made church's database name
		s.Tenancy.Provisioner.BeforeStep = func(ctx context.Context, step tenancy.Step, tn *steeple.Tenant) error {
			if step == tenancy.StepActivate && failed.CompareAndSwap(false, true) {
				failedDB.Store(tn.DatabaseName)
				return errors.New("injected failure before activation")
			}
			return nil
		}
		const email = "pat@example.org"
		body := map[string]any{
			"church": map[string]string{"name": "Grace Chapel", "timezone": "America/Chicago"},
			"admin":  map[string]string{"name": "Pat Lee", "email": email, "password": pw1},
		}
		r := s.Do(t, "POST", "/api/v1/signup", "", body)
		if msg := wantError(t, r, http.StatusInternalServerError, "internal"); msg != "internal error" {
			t.Fatalf("internal error detail leaked: %q", msg)
		}
		wantNoTokens(t, r)
		if !failed.Load() {
			t.Fatal("the injected failure never ran")
		}
		key := s.Store.EmailIndex(email)
		if entries, err := s.Tenancy.Registry.LoginEntries(ctx, key); err != nil || len(entries) != 0 {
			t.Fatalf("after the failed signup: login entries %v (%v); want none", entries, err)
		}
		if ts, err := s.Tenancy.Registry.Tenants(ctx, tenancy.TenantFilter{}); err != nil || len(ts) != 0 {
			t.Fatalf("after the failed signup: tenants %v (%v); want none", ts, err)
		}
		wantError(t, login(t, s, email, pw1, ""), http.StatusUnauthorized, "unauthorized")

		r = s.Do(t, "POST", "/api/v1/signup", "", body)
		wantStatus(t, r, http.StatusCreated)
		tid := r.TenantID(t)
		entries, err := s.Tenancy.Registry.LoginEntries(ctx, key)
		if err != nil || len(entries) != 1 || entries[0].TenantID != tid {
			t.Fatalf("login entries %+v (%v); want exactly one, for %s", entries, err, tid)
		}
		lr := login(t, s, email, pw1, "")
		wantStatus(t, lr, http.StatusOK)
		if _, many := lr.Body["churches"]; many {
			t.Fatalf("login offers a choice of churches after a retried signup: %s", lr.Raw)
		}
		if got := s.Client(lr.Tokens(t).AccessToken).Me(t).Church.ID; got != tid {
			t.Fatalf("login reached church %s; want %s", got, tid)
		}
		if b.Postgres() {
			exists := func(name any) bool {
				var n int
				err := s.Tenancy.Registry.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_database WHERE datname = $1`, name).Scan(&n)
				if err != nil {
					t.Fatal(err)
				}
				return n == 1
			}
			live, err := s.Tenancy.Registry.Tenant(ctx, tid)
			if err != nil || !exists(live.DatabaseName) {
				t.Fatalf("the retried church's database is not found (%v): the check below would prove nothing", err)
			}
			if exists(failedDB.Load()) {
				t.Fatalf("the failed signup's database %v is still there", failedDB.Load())
			}
		} else {
			files, _ := filepath.Glob(filepath.Join(b.DataDir(), "tenants", "*.db"))
			sort.Strings(files)
			if len(files) != 1 || filepath.Base(files[0]) != tid+".db" {
				t.Fatalf("tenant files %v; want only %s.db", files, tid)
			}
		}
	})
}

// sqliteFile returns the raw bytes of a church's SQLite database and its WAL.
func sqliteFile(t *testing.T, b *testkit.Backend, tenantID string) []byte {
	t.Helper()
	path := filepath.Join(b.DataDir(), "tenants", tenantID+".db")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if wal, err := os.ReadFile(path + "-wal"); err == nil {
		raw = append(raw, wal...)
	}
	return raw
}
