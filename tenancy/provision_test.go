package tenancy_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/tenancy"
)

// provisionMany creates n active tenants named prefix-0 … prefix-(n-1),
// workers at a time. Each one's settings hold its own id under "owner", so a
// query can tell which church's database it reached.
func provisionMany(t testing.TB, ten *tenancy.Tenancy, prefix string, n, workers int) []*steeple.Tenant {
	t.Helper()
	out := make([]*steeple.Tenant, n)
	errs := make([]error, n)
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i], errs[i] = ten.Provisioner.Provision(context.Background(), tenancy.NewTenant{
				Name: fmt.Sprintf("%s %d", prefix, i), Timezone: "America/Chicago", Setup: writeOwner})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("provision: %v", err)
	}
	return out
}

// writeOwner is a Setup hook: it records the church's id in its own
// database. It is idempotent, as Setup must be.
func writeOwner(ctx context.Context, h *tenancy.Handle) error {
	_, err := h.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES ('owner', $1, CURRENT_TIMESTAMP)
		ON CONFLICT (key) DO NOTHING`, h.TenantID())
	return err
}

// readOwner returns what the tenant's database says its owner is.
func readOwner(t testing.TB, ten *tenancy.Tenancy, id string) string {
	t.Helper()
	ctx := context.Background()
	h, err := ten.Manager.Acquire(ctx, id)
	if err != nil {
		t.Fatalf("acquire %s: %v", id, err)
	}
	defer h.Release()
	var owner string
	if err := h.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'owner'`).Scan(&owner); err != nil {
		t.Fatalf("read owner of %s: %v", id, err)
	}
	return owner
}

// tenantNamed returns the registry's row for the church named name, or nil.
func tenantNamed(t testing.TB, ten *tenancy.Tenancy, name string) *steeple.Tenant {
	t.Helper()
	all, err := ten.Registry.Tenants(context.Background(), tenancy.TenantFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var found *steeple.Tenant
	for _, tn := range all {
		if tn.Name == name {
			if found != nil {
				t.Fatalf("two registry rows named %q: %s and %s", name, found.ID, tn.ID)
			}
			found = tn
		}
	}
	return found
}

// failAt returns a BeforeStep hook that fails step s, recording the tenant
// it was working on.
func failAt(s tenancy.Step, seen **steeple.Tenant, injected error) func(context.Context, tenancy.Step, *steeple.Tenant) error {
	return func(_ context.Context, step tenancy.Step, tn *steeple.Tenant) error {
		if step != s {
			return nil
		}
		c := *tn
		*seen = &c
		return injected
	}
}

// assertActive checks that the registry has tn active at the latest schema
// and that its database answers with its own id.
func assertActive(t testing.TB, ten *tenancy.Tenancy, tn *steeple.Tenant) {
	t.Helper()
	got, err := ten.Registry.Tenant(context.Background(), tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if latest := tenantLatest(t); got.Status != steeple.TenantActive || got.SchemaVersion != latest {
		t.Fatalf("tenant %s is %s at schema %d; want active at %d", tn.ID, got.Status, got.SchemaVersion, latest)
	}
	if owner := readOwner(t, ten, tn.ID); owner != tn.ID {
		t.Fatalf("tenant %s's database says it belongs to %q", tn.ID, owner)
	}
}

var allSteps = []tenancy.Step{tenancy.StepRegister, tenancy.StepCreateDatabase, tenancy.StepMigrate, tenancy.StepSetup, tenancy.StepActivate}

func TestProvisionFailureCleansUp(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		ten := b.Open(t, b.Options())
		ctx := context.Background()
		for _, step := range allSteps {
			name := "Fail at " + string(step)
			injected := fmt.Errorf("injected failure at %s", step)
			var seen *steeple.Tenant
			ten.Provisioner.BeforeStep = failAt(step, &seen, injected)
			_, err := ten.Provisioner.Provision(ctx, tenancy.NewTenant{Name: name, Timezone: "Europe/Oslo", Setup: writeOwner})
			if !errors.Is(err, injected) {
				t.Fatalf("%s: Provision = %v; want the injected error", step, err)
			}
			if seen == nil {
				t.Fatalf("%s: the hook never ran", step)
			}
			if got := tenantNamed(t, ten, name); got != nil {
				t.Errorf("%s: registry still has %s (%s)", step, got.ID, got.Status)
			}
			if b.DatabaseExists(t, seen) {
				t.Errorf("%s: database %s of the failed tenant is left behind", step, seen.DatabaseName)
			}

			ten.Provisioner.BeforeStep = nil
			tn, err := ten.Provisioner.Provision(ctx, tenancy.NewTenant{Name: name, Timezone: "Europe/Oslo", Setup: writeOwner})
			if err != nil {
				t.Fatalf("%s: retry: %v", step, err)
			}
			// Nothing of the failed attempt holds on to the church's short name.
			if want := "fail-at-" + slugPart(step); tn.Slug != want {
				t.Errorf("%s: retry got slug %q; want %q", step, tn.Slug, want)
			}
			assertActive(t, ten, tn)
		}
		// Nothing reserved for provisioning is still held: only serving pools are open.
		if st, open := ten.Manager.Stats(), ten.Manager.OpenTenants(); st.InUse != 0 || st.Pools != len(open) {
			t.Errorf("after provisioning: %+v with %d serving pools; want nothing else held", st, len(open))
		}
	})
}

func slugPart(s tenancy.Step) string {
	b := []byte(s)
	for i, c := range b {
		if c == '_' {
			b[i] = '-'
		}
	}
	return string(b)
}

// crashAt runs Provision in a goroutine that dies (runtime.Goexit) when it
// reaches step s, as a process killed part-way would: nothing cleans up.
// It returns the tenant the dead provisioning was working on.
func crashAt(t testing.TB, ten *tenancy.Tenancy, s tenancy.Step, req tenancy.NewTenant) *steeple.Tenant {
	t.Helper()
	var seen *steeple.Tenant
	ten.Provisioner.BeforeStep = func(_ context.Context, step tenancy.Step, tn *steeple.Tenant) error {
		if step == s {
			c := *tn
			seen = &c
			runtime.Goexit()
		}
		return nil
	}
	defer func() { ten.Provisioner.BeforeStep = nil }()
	done := make(chan struct{})
	var returned bool
	go func() {
		defer close(done)
		_, _ = ten.Provisioner.Provision(context.Background(), req)
		returned = true
	}()
	<-done
	if returned || seen == nil {
		t.Fatalf("provisioning did not die at %s", s)
	}
	return seen
}

func TestProvisionAfterCrash(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		ten := b.Open(t, b.Options())
		ctx := context.Background()
		for _, step := range allSteps[1:] {
			req := tenancy.NewTenant{Name: "Crash at " + string(step), Timezone: "America/Denver", Setup: writeOwner}
			dead := crashAt(t, ten, step, req)
			stuck := tenantNamed(t, ten, req.Name)
			if stuck == nil || stuck.ID != dead.ID || stuck.Status != steeple.TenantProvisioning {
				t.Fatalf("%s: registry has %+v; want %s in provisioning", step, stuck, dead.ID)
			}
			if h, err := ten.Manager.Acquire(ctx, dead.ID); steeple.ErrorCode(err) != steeple.EUNAVAILABLE {
				if h != nil {
					h.Release()
				}
				t.Errorf("%s: acquiring a tenant stuck in provisioning: %v; want %s", step, err, steeple.EUNAVAILABLE)
			}

			// Signup under the same name gets a church of its own: a
			// stranger's stuck provisioning is never handed over.
			other, err := ten.Provisioner.Provision(ctx, req)
			if err != nil {
				t.Fatalf("%s: provisioning the same name again: %v", step, err)
			}
			if other.ID == dead.ID || other.Slug == stuck.Slug {
				t.Errorf("%s: a new signup was handed the stuck church %s (%s)", step, other.ID, other.Slug)
			}
			assertActive(t, ten, other)

			// An operator's resume completes the stuck church itself.
			req.Resume = true
			tn, err := ten.Provisioner.Provision(ctx, req)
			if err != nil {
				t.Fatalf("%s: completing: %v", step, err)
			}
			if tn.ID != dead.ID || tn.Slug != stuck.Slug {
				t.Errorf("%s: completing made %s (%s); want the stuck %s (%s)", step, tn.ID, tn.Slug, dead.ID, stuck.Slug)
			}
			assertActive(t, ten, tn)
		}
	})
}

func TestProvisionCleanupRemovesStuck(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		ten := b.Open(t, b.Options())
		ctx := context.Background()
		keep := provisionMany(t, ten, "Healthy", 1, 1)[0]
		for _, step := range allSteps[1:] {
			req := tenancy.NewTenant{Name: "Stuck at " + string(step), Timezone: "Asia/Tokyo", Setup: writeOwner}
			dead := crashAt(t, ten, step, req)
			if step != tenancy.StepCreateDatabase && !b.DatabaseExists(t, dead) {
				t.Fatalf("%s: the dead provisioning left no database; the test cannot tell cleanup worked", step)
			}
			// A provisioning that may still be running is left alone.
			removed, err := ten.Provisioner.Cleanup(ctx, time.Hour)
			if err != nil || len(removed) != 0 {
				t.Fatalf("%s: Cleanup(1h) = %v, %v; want nothing removed", step, removed, err)
			}
			if tenantNamed(t, ten, req.Name) == nil {
				t.Fatalf("%s: Cleanup(1h) removed a fresh provisioning", step)
			}
			removed, err = ten.Provisioner.Cleanup(ctx, 0)
			if err != nil || len(removed) != 1 || removed[0] != dead.ID {
				t.Fatalf("%s: Cleanup(0) = %v, %v; want [%s]", step, removed, err, dead.ID)
			}
			if got := tenantNamed(t, ten, req.Name); got != nil {
				t.Errorf("%s: registry still has %s (%s)", step, got.ID, got.Status)
			}
			if b.DatabaseExists(t, dead) {
				t.Errorf("%s: database %s left behind after cleanup", step, dead.DatabaseName)
			}
		}
		// Cleanup touches only churches stuck in provisioning.
		assertActive(t, ten, keep)
	})
}

func TestProvisionSetupRunsBeforeActivation(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		ten := b.Open(t, b.Options())
		ctx := context.Background()
		var during error
		tn, err := ten.Provisioner.Provision(ctx, tenancy.NewTenant{Name: "Grace Chapel", Timezone: "America/New_York",
			Setup: func(ctx context.Context, h *tenancy.Handle) error {
				// Until setup is done nobody else may reach the church.
				_, during = ten.Manager.Acquire(ctx, h.TenantID())
				if h.Tenant().Status != steeple.TenantProvisioning {
					return fmt.Errorf("setup sees status %s", h.Tenant().Status)
				}
				_, err := h.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at)
					VALUES ('welcome', 'Welcome to Grace Chapel', CURRENT_TIMESTAMP)`)
				return err
			}})
		if err != nil {
			t.Fatal(err)
		}
		if steeple.ErrorCode(during) != steeple.EUNAVAILABLE {
			t.Errorf("Acquire during setup = %v; want %s", during, steeple.EUNAVAILABLE)
		}
		if tn.Status != steeple.TenantActive {
			t.Fatalf("status %s; want active", tn.Status)
		}
		h, err := ten.Manager.Acquire(ctx, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Release()
		var welcome string
		if err := h.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'welcome'`).Scan(&welcome); err != nil {
			t.Fatalf("the row setup wrote is missing: %v", err)
		}
		if welcome != "Welcome to Grace Chapel" {
			t.Errorf("setting = %q", welcome)
		}
	})
}
