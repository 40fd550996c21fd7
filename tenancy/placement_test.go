package tenancy_test

import (
	"context"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/tenancy"
)

// serverCounts maps each server's reference to the live tenants the registry
// places on it, and its state.
func serverCounts(t testing.TB, ten *tenancy.Tenancy) (map[string]int, map[string]string) {
	t.Helper()
	servers, err := ten.Registry.Servers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	counts, states := map[string]int{}, map[string]string{}
	for _, s := range servers {
		counts[s.Ref], states[s.Ref] = s.Tenants, s.State
	}
	return counts, states
}

// TestPlacementAcrossServers needs two PostgreSQL servers: SQLite has no
// placement.
func TestPlacementAcrossServers(t *testing.T) {
	t.Parallel()
	b := testkit.Postgres(t, true)
	ten := b.Open(t, b.Options())
	ctx := context.Background()
	refs := b.ServerRefs()
	first, second := refs[0], refs[1]
	if first == second {
		t.Fatalf("both test servers are %s: point %s at a second server", first, testkit.EnvPostgresURL2)
	}
	counts, states := serverCounts(t, ten)
	if len(counts) != 2 || states[first] != "active" || states[second] != "active" {
		t.Fatalf("registry servers %v %v; want %s and %s, both active", counts, states, first, second)
	}

	placed := map[string]int{}
	for _, tn := range provisionMany(t, ten, "Spread", 6, 1) {
		placed[tn.Server]++
		// The database is where the registry says, and only there.
		if !b.DatabaseExists(t, tn) {
			t.Errorf("tenant %s: no database %s on %s", tn.ID, tn.DatabaseName, tn.Server)
		}
		other := *tn
		other.Server = map[string]string{first: second, second: first}[tn.Server]
		if b.DatabaseExists(t, &other) {
			t.Errorf("tenant %s: database %s also exists on %s", tn.ID, tn.DatabaseName, other.Server)
		}
		if got := readOwner(t, ten, tn.ID); got != tn.ID {
			t.Errorf("tenant %s on %s reads owner %q", tn.ID, tn.Server, got)
		}
	}
	if placed[first] != 3 || placed[second] != 3 {
		t.Fatalf("6 tenants placed %v; want 3 on each server", placed)
	}
	if counts, _ := serverCounts(t, ten); counts[first] != 3 || counts[second] != 3 {
		t.Fatalf("registry counts %v; want 3 on each", counts)
	}

	if err := ten.Registry.SetServerState(ctx, second, "draining"); err != nil {
		t.Fatal(err)
	}
	for _, tn := range provisionMany(t, ten, "Drain", 4, 1) {
		if tn.Server != first {
			t.Errorf("tenant %s placed on %s while it drains; want %s", tn.ID, tn.Server, first)
		}
		if got := readOwner(t, ten, tn.ID); got != tn.ID {
			t.Errorf("tenant %s reads owner %q", tn.ID, got)
		}
	}
	counts, states = serverCounts(t, ten)
	if counts[first] != 7 || counts[second] != 3 || states[second] != "draining" {
		t.Fatalf("after draining: counts %v, states %v; want 7 and 3, %s draining", counts, states, second)
	}
	// A draining server keeps serving the tenants it has.
	kept := provisionedOn(t, ten, second)
	if len(kept) != 3 {
		t.Fatalf("registry lists %d tenants on %s; want 3", len(kept), second)
	}
	for _, tn := range kept {
		if got := readOwner(t, ten, tn); got != tn {
			t.Errorf("tenant %s on the draining server reads owner %q", tn, got)
		}
	}
}

func provisionedOn(t testing.TB, ten *tenancy.Tenancy, ref string) []string {
	t.Helper()
	all, err := ten.Registry.Tenants(context.Background(), tenancy.TenantFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tn := range all {
		if tn.Server == ref {
			out = append(out, tn.ID)
		}
	}
	return out
}
