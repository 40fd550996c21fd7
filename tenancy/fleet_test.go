package tenancy_test

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// extraTable is created by the extra migration of schemaNext.
const extraTable = "fleet_extra"

// tenantLatest is the newest version of the tenant schema (the same in both
// dialects: store's schema test checks it).
func tenantLatest(t testing.TB) int64 {
	t.Helper()
	v, err := store.Schema().Latest(steeple.BackendSQLite)
	if err != nil || v < 1 {
		t.Fatalf("tenant schema: latest %d, %v", v, err)
	}
	return v
}

// schemaNext is the tenant schema plus one migration, numbered next, that
// creates extraTable. A tenant that already has that table fails it.
func schemaNext(t testing.TB) (s tenancy.Schema, next int64) {
	t.Helper()
	next = tenantLatest(t) + 1
	base := store.Schema()
	withExtra := func(b steeple.Backend) fs.FS {
		m := fstest.MapFS{}
		err := fs.WalkDir(base.For(b), ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := fs.ReadFile(base.For(b), path)
			m[path] = &fstest.MapFile{Data: data}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		m[fmt.Sprintf("%05d_fleet_extra.sql", next)] = &fstest.MapFile{Data: []byte(
			"-- +goose Up\nCREATE TABLE " + extraTable + " (id INTEGER PRIMARY KEY, note TEXT);\n\n" +
				"-- +goose Down\nDROP TABLE " + extraTable + ";\n")}
		return m
	}
	s = tenancy.Schema{SQLite: withExtra(steeple.BackendSQLite), Postgres: withExtra(steeple.BackendPostgres)}
	for _, b := range []steeple.Backend{steeple.BackendSQLite, steeple.BackendPostgres} {
		if latest, err := s.Latest(b); err != nil || latest != next {
			t.Fatalf("schemaNext for %s: latest %d, %v; want %d", b, latest, err, next)
		}
	}
	return s, next
}

// execOn runs one statement on a tenant's database through ten.
func execOn(t testing.TB, ten *tenancy.Tenancy, id, sql string) error {
	t.Helper()
	ctx := context.Background()
	h, err := ten.Manager.Acquire(ctx, id)
	if err != nil {
		t.Fatalf("acquire %s: %v", id, err)
	}
	defer h.Release()
	_, err = h.ExecContext(ctx, sql)
	return err
}

// versions maps each tenant id to the schema version the registry records.
func versions(t testing.TB, ten *tenancy.Tenancy) map[string]int64 {
	t.Helper()
	all, err := ten.Registry.Tenants(context.Background(), tenancy.TenantFilter{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, tn := range all {
		out[tn.ID] = tn.SchemaVersion
	}
	return out
}

func TestMigrateFleet(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		ctx := context.Background()
		opts := b.Options()
		opts.Manager.MaxConns, opts.Manager.MaxPools = 8, 8
		ten := b.Open(t, opts)
		ts := provisionMany(t, ten, "Fleet", 30, 4)
		canary, broken := ts[0], ts[17]
		if err := execOn(t, ten, broken.ID, "CREATE TABLE "+extraTable+" (id INTEGER)"); err != nil {
			t.Fatal(err)
		}

		var next int64
		opts.TenantSchema, next = schemaNext(t)
		cur := next - 1
		ten2 := b.Open(t, opts)
		rep, err := ten2.MigrateFleet(ctx, tenancy.FleetOptions{Parallel: 4, Canary: canary.ID})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Latest != next || rep.Migrated != 29 || rep.Failed != 1 || rep.Current != 0 || rep.Skipped != 0 || rep.OK() {
			t.Fatalf("first run: latest %d, migrated %d, failed %d, current %d, skipped %d, ok %v; want %d, 29, 1, 0, 0, false",
				rep.Latest, rep.Migrated, rep.Failed, rep.Current, rep.Skipped, rep.OK(), next)
		}
		if len(rep.Tenants) != 30 || rep.Tenants[0].TenantID != canary.ID || !rep.Tenants[0].Canary {
			t.Fatalf("report lists %d tenants, first %+v; want 30, the canary %s first", len(rep.Tenants), rep.Tenants[0], canary.ID)
		}
		for _, r := range rep.Tenants {
			switch {
			case r.TenantID == broken.ID:
				if r.Outcome != tenancy.OutcomeFailed || r.From != cur || r.To != cur || !strings.Contains(r.Error, extraTable) {
					t.Errorf("broken tenant reported %+v; want failed at %d with an error naming %s", r, cur, extraTable)
				}
			case r.Outcome != tenancy.OutcomeMigrated || r.From != cur || r.To != next || r.Error != "":
				t.Errorf("tenant %s reported %+v; want migrated %d → %d", r.TenantID, r, cur, next)
			}
		}
		for id, v := range versions(t, ten2) {
			if want := map[bool]int64{true: cur, false: next}[id == broken.ID]; v != want {
				t.Errorf("registry has %s at version %d; want %d", id, v, want)
			}
		}
		// Migrated databases have the new table; the fleet half migrated keeps
		// serving: the old binary still serves the broken tenant, and refuses
		// the migrated ones rather than run against a schema it does not know.
		for _, tn := range ts {
			if tn.ID == broken.ID {
				if got := readOwner(t, ten, tn.ID); got != tn.ID {
					t.Errorf("old binary reads %q from %s", got, tn.ID)
				}
				continue
			}
			if err := execOn(t, ten2, tn.ID, "INSERT INTO "+extraTable+" (id, note) VALUES (1, 'x')"); err != nil {
				t.Errorf("tenant %s at version %d has no usable %s: %v", tn.ID, next, extraTable, err)
			}
			h, err := ten.Manager.Acquire(ctx, tn.ID)
			if err == nil {
				h.Release()
			}
			if steeple.ErrorCode(err) != steeple.ESCHEMA {
				t.Errorf("old binary acquiring %s at version %d: %v; want %s", tn.ID, next, err, steeple.ESCHEMA)
			}
		}

		// Fix the broken tenant and run again: only it is opened.
		if err := execOn(t, ten2, broken.ID, "DROP TABLE "+extraTable); err != nil {
			t.Fatal(err)
		}
		opens := ten2.Manager.Stats().Opens
		rep, err = ten2.MigrateFleet(ctx, tenancy.FleetOptions{Parallel: 4})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Migrated != 1 || rep.Current != 29 || rep.Failed != 0 || !rep.OK() ||
			len(rep.Tenants) != 1 || rep.Tenants[0].TenantID != broken.ID {
			t.Fatalf("resumed run: %+v; want the broken tenant migrated, 29 current", rep)
		}
		if d := ten2.Manager.Stats().Opens - opens; d != 1 {
			t.Errorf("resumed run opened %d databases; want 1", d)
		}
		if v := versions(t, ten2)[broken.ID]; v != next {
			t.Errorf("fixed tenant at version %d; want %d", v, next)
		}

		// Nothing pending: no tenant database is opened.
		opens = ten2.Manager.Stats().Opens
		rep, err = ten2.MigrateFleet(ctx, tenancy.FleetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Current != 30 || rep.Migrated != 0 || len(rep.Tenants) != 0 || !rep.OK() {
			t.Fatalf("no-op run: %+v; want 30 current and nothing else", rep)
		}
		if d := ten2.Manager.Stats().Opens - opens; d != 0 {
			t.Errorf("no-op run opened %d tenant databases; want none", d)
		}
	})
}

func TestMigrateFleetStopsWhenCanaryFails(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		ctx := context.Background()
		opts := b.Options()
		opts.Manager.MaxConns, opts.Manager.MaxPools = 8, 8
		ten := b.Open(t, opts)
		ts := provisionMany(t, ten, "Canary", 6, 3)
		canary := ts[3]
		if err := execOn(t, ten, canary.ID, "CREATE TABLE "+extraTable+" (id INTEGER)"); err != nil {
			t.Fatal(err)
		}

		opts.TenantSchema, _ = schemaNext(t)
		cur := tenantLatest(t)
		ten2 := b.Open(t, opts)
		opens := ten2.Manager.Stats().Opens
		rep, err := ten2.MigrateFleet(ctx, tenancy.FleetOptions{Parallel: 4, Canary: canary.ID})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Failed != 1 || rep.Skipped != 5 || rep.Migrated != 0 || rep.OK() {
			t.Fatalf("report: failed %d, skipped %d, migrated %d, ok %v; want 1, 5, 0, false", rep.Failed, rep.Skipped, rep.Migrated, rep.OK())
		}
		if r := rep.Tenants[0]; r.TenantID != canary.ID || !r.Canary || r.Outcome != tenancy.OutcomeFailed || !strings.Contains(r.Error, extraTable) {
			t.Errorf("first entry %+v; want the failed canary %s", r, canary.ID)
		}
		for _, r := range rep.Tenants[1:] {
			if r.Outcome != tenancy.OutcomeSkipped || r.To != cur {
				t.Errorf("tenant %s reported %+v; want skipped at %d", r.TenantID, r, cur)
			}
		}
		if d := ten2.Manager.Stats().Opens - opens; d != 1 {
			t.Errorf("opened %d tenant databases; want only the canary's", d)
		}
		for id, v := range versions(t, ten2) {
			if v != cur {
				t.Errorf("registry has %s at version %d; want %d", id, v, cur)
			}
		}
		// The skipped tenants are untouched: still served by the old binary,
		// without the new table.
		for _, tn := range ts {
			if tn.ID == canary.ID {
				continue
			}
			if got := readOwner(t, ten, tn.ID); got != tn.ID {
				t.Errorf("tenant %s reads owner %q", tn.ID, got)
			}
			if err := execOn(t, ten, tn.ID, "SELECT COUNT(*) FROM "+extraTable); err == nil {
				t.Errorf("skipped tenant %s has %s", tn.ID, extraTable)
			}
		}
	})
}
