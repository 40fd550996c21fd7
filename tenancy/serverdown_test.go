package tenancy_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
)

// proxied starts a proxy to b's first server and returns it with that
// server's URL through it.
func proxied(t *testing.T, b *testkit.Backend) (*testkit.Proxy, string) {
	real, err := pgx.ParseConfig(b.Servers()[0])
	if err != nil {
		t.Fatal(err)
	}
	target := real.Host + ":" + strconv.Itoa(int(real.Port))
	proxy := testkit.NewProxy(t, target)
	return proxy, strings.Replace(b.Servers()[0], target, proxy.Addr(), 1)
}

// A tenant server that goes down after startup fails only its own churches,
// with the typed unavailable error, and they recover when it comes back.
func TestServerDownFailsOnlyItsTenants(t *testing.T) {
	b := testkit.Postgres(t)
	proxy, viaProxy := proxied(t, b)
	o := b.Options()
	o.TenantServers = []string{b.Servers()[0], viaProxy}
	ten := b.Open(t, o)
	tenants := provision(t, ten, "Down", 4) // placement alternates: two on each server
	ctx := context.Background()
	onProxy := map[string]bool{}
	for _, tn := range tenants {
		onProxy[tn.ID] = tn.Server == proxy.Addr()
		h, err := ten.Manager.Acquire(ctx, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		h.Release() // leave a warm idle pool behind
	}
	if len(onProxy) != 4 {
		t.Fatal("tenants not distinct")
	}

	proxy.Stop()
	for _, tn := range tenants {
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		h, acqErr := ten.Manager.Acquire(actx, tn.ID)
		var queryErr error
		if acqErr == nil {
			// A pooled connection cut under it fails on first use.
			var one int
			queryErr = h.QueryRowContext(actx, "SELECT 1").Scan(&one)
			h.Release()
		}
		cancel()
		switch {
		case !onProxy[tn.ID]:
			if acqErr != nil || queryErr != nil {
				t.Errorf("tenant %s on the healthy server failed: %v %v", tn.ID, acqErr, queryErr)
			}
		case acqErr != nil:
			if steeple.ErrorCode(acqErr) != steeple.EUNAVAILABLE {
				t.Errorf("tenant %s on the stopped server: %v; want unavailable", tn.ID, acqErr)
			}
		case queryErr == nil:
			t.Errorf("tenant %s on the stopped server still works", tn.ID)
		}
	}
	// Once the cut connections are gone, acquiring answers unavailable.
	for _, tn := range tenants {
		if !onProxy[tn.ID] {
			continue
		}
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		h, err := ten.Manager.Acquire(actx, tn.ID)
		cancel()
		if err == nil {
			h.Release()
			t.Errorf("tenant %s: acquire succeeded with its server down", tn.ID)
		} else if steeple.ErrorCode(err) != steeple.EUNAVAILABLE {
			t.Errorf("tenant %s: %v; want unavailable", tn.ID, err)
		}
	}

	proxy.Start()
	for _, tn := range tenants {
		deadline := time.Now().Add(10 * time.Second)
		for {
			h, err := ten.Manager.Acquire(ctx, tn.ID)
			if err == nil {
				var one int
				err = h.QueryRowContext(ctx, "SELECT 1").Scan(&one)
				h.Release()
			}
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("tenant %s did not recover: %v", tn.ID, err)
			}
		}
	}
}
