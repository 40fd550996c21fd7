package tenancy_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/tenancy"
)

// provision creates n active tenants named prefix-0 … prefix-(n-1).
func provision(t testing.TB, ten *tenancy.Tenancy, prefix string, n int) []*steeple.Tenant {
	t.Helper()
	out := make([]*steeple.Tenant, n)
	for i := range out {
		tn, err := ten.Provisioner.Provision(context.Background(), tenancy.NewTenant{
			Name: fmt.Sprintf("%s %d", prefix, i), Timezone: "America/Chicago"})
		if err != nil {
			t.Fatalf("provision %d: %v", i, err)
		}
		out[i] = tn
	}
	return out
}

func TestIsolationAcrossTenants(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		ten := b.Open(t, b.Options())
		tenants := provision(t, ten, "Iso", 50)
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, len(tenants))
		for _, tn := range tenants {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h, err := ten.Manager.Acquire(ctx, tn.ID)
				if err != nil {
					errs <- err
					return
				}
				defer h.Release()
				_, err = h.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, CURRENT_TIMESTAMP)`, "owner", tn.ID)
				if err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for _, tn := range tenants {
			h, err := ten.Manager.Acquire(ctx, tn.ID)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := h.QueryContext(ctx, `SELECT value FROM settings WHERE key = 'owner'`)
			if err != nil {
				t.Fatal(err)
			}
			var seen []string
			for rows.Next() {
				var v string
				if err := rows.Scan(&v); err != nil {
					t.Fatal(err)
				}
				seen = append(seen, v)
			}
			rows.Close()
			h.Release()
			if len(seen) != 1 || seen[0] != tn.ID {
				t.Fatalf("tenant %s sees %v; want only its own row", tn.ID, seen)
			}
		}
	})
}

func TestAcquireRefusesBadTenants(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		ten := b.Open(t, b.Options())
		tn := provision(t, ten, "Refuse", 1)[0]
		ctx := context.Background()
		cases := []struct {
			id   string
			code string
		}{
			{"not-an-id", steeple.EINVALID},
			{"'; DROP TABLE tenants; --", steeple.EINVALID},
			{steeple.NewID(), steeple.ENOTFOUND},
		}
		for _, c := range cases {
			if _, err := ten.Manager.Acquire(ctx, c.id); steeple.ErrorCode(err) != c.code {
				t.Errorf("Acquire(%q) = %v; want code %s", c.id, err, c.code)
			}
			if _, err := ten.Manager.AcquireToRecord(ctx, c.id); steeple.ErrorCode(err) != c.code {
				t.Errorf("AcquireToRecord(%q) = %v; want code %s", c.id, err, c.code)
			}
		}
		if _, err := ten.Registry.SetStatus(ctx, tn.ID, steeple.TenantSuspended, steeple.TenantActive); err != nil {
			t.Fatal(err)
		}
		if _, err := ten.Manager.Acquire(ctx, tn.ID); steeple.ErrorCode(err) != steeple.ESUSPENDED {
			t.Fatalf("suspended: got %v; want %s", err, steeple.ESUSPENDED)
		}
		// Recording what a suspended church's members did opens it.
		rec, err := ten.Manager.AcquireToRecord(ctx, tn.ID)
		if err != nil {
			t.Fatalf("AcquireToRecord on a suspended church: %v", err)
		}
		if rec.Tenant().Status != steeple.TenantSuspended {
			t.Fatalf("the handle says %s; want suspended", rec.Tenant().Status)
		}
		rec.Release()
		if _, err := ten.Registry.SetStatus(ctx, tn.ID, steeple.TenantActive, steeple.TenantSuspended); err != nil {
			t.Fatal(err)
		}
		h, err := ten.Manager.Acquire(ctx, tn.ID)
		if err != nil {
			t.Fatalf("resumed: %v", err)
		}
		h.Release()
	})
}
