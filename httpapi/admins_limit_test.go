package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// countAdmins reads how many admins the church has, from its database.
func countAdmins(t *testing.T, s *testkit.Server, tenantID string) int {
	t.Helper()
	h, err := s.Tenancy.Manager.Acquire(context.Background(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	n, err := s.Store.CountAdmins(context.Background(), h, "")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Parallel invitations never pass the plan's limit together: the count of
// admins and pending invitations is taken in the transaction that adds one.
func TestInvitationPlanLimitParallel(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{
			Tenancy: func(o *tenancy.Options) { o.DefaultPlan = "trio" },
			Auth: func(c *auth.Config) {
				c.Plans = map[string]steeple.Plan{"trio": {Name: "trio", MaxAdmins: 3}}
			}})
		owner := signup(t, s, "Grace Chapel", "pat@example.org", pw1)
		const n = 8
		var wg sync.WaitGroup
		status := make([]*testkit.Response, n)
		for i := range status {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				status[i] = s.Do(t, "POST", "/api/v1/admins/invitations", owner.access, map[string]any{"email": fmt.Sprintf("p%d@example.org", i)})
			}(i)
		}
		wg.Wait()
		created := 0
		for _, r := range status {
			switch r.Status {
			case http.StatusCreated, http.StatusOK:
				created++
			case http.StatusForbidden:
			default:
				t.Fatalf("parallel invitation: %d %s", r.Status, r.Raw)
			}
		}
		if created != 2 {
			t.Fatalf("%d of %d parallel invitations were made; the plan allows the owner and 2 more", created, n)
		}
	})
}

// Parallel accepts of invitations made under a larger plan (or before it
// shrank) never take the church over its limit: the limit is checked in
// the transaction that creates the admin.
func TestAcceptPlanLimitParallel(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Tenancy: func(o *tenancy.Options) { o.DefaultPlan = "starter" }})
		owner := signup(t, s, "Grace Chapel", "pat@example.org", pw1)
		const n = 6
		tokens := make([]string, n)
		h, err := s.Tenancy.Manager.Acquire(context.Background(), owner.tenantID)
		if err != nil {
			t.Fatal(err)
		}
		for i := range tokens {
			raw := make([]byte, 32)
			_, _ = rand.Read(raw)
			tokens[i] = "inv1." + owner.tenantID + "." + strings.TrimRight(base32.StdEncoding.EncodeToString(raw), "=")
			// Made with no limit, as under a larger plan.
			if _, err := s.Store.CreateInvitation(context.Background(), h, fmt.Sprintf("p%d@example.org", i), steeple.RoleAdmin,
				owner.adminID, store.TokenHash(tokens[i]), auth.InvitationTTL, steeple.Plan{}); err != nil {
				t.Fatal(err)
			}
		}
		h.Release()
		var wg sync.WaitGroup
		answers := make([]*testkit.Response, n)
		for i := range tokens {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				answers[i] = accept(t, s, tokens[i], fmt.Sprintf("Admin %d", i), pw2)
			}(i)
		}
		wg.Wait()
		joined := 0
		for _, r := range answers {
			switch r.Status {
			case http.StatusCreated:
				joined++
			case http.StatusForbidden:
				if !strings.Contains(r.Raw, "starter") {
					t.Fatalf("refusal does not name the plan: %s", r.Raw)
				}
			default:
				t.Fatalf("parallel accept: %d %s", r.Status, r.Raw)
			}
		}
		if got := countAdmins(t, s, owner.tenantID); joined != 1 || got != 2 {
			t.Fatalf("%d of %d parallel accepts joined, %d admins; the starter plan allows 2 admins", joined, n, got)
		}
	})
}
