package bench

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/config"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// runTenancy measures provisioning and fleet migration:
//
//   - provision_p50_ms, provision_p95_ms: Provision, one tenant at a time.
//   - migrate_noop_seconds: MigrateFleet over a fleet with nothing pending;
//     it must read only the registry. Most of the fleet is registry rows
//     without a database (see --fleet): opening one would fail the run, and
//     so would any tenant database opened (Manager.Stats().Opens).
//
// The manager and registry are sized with the production defaults
// (config.Default), mapped the way OptionsFromConfig maps them.
//   - migrate_tenants_per_s: one pending additive migration over every real
//     tenant, applied by a second Tenancy whose tenant schema has one more
//     migration than store.Schema().
func runTenancy(ctx context.Context, r *runner, args []string) (err error) {
	fl := r.newFlags()
	backendName := fl.String("backend", "sqlite", "sqlite or postgres")
	nProvision := fl.Int("provision", 0, "tenants provisioned one by one for provision_p50_ms (default 50 on sqlite, 20 on postgres)")
	nFleet := fl.Int("fleet", 10000, "tenants in the registry for migrate_noop_seconds (real ones plus registry-only rows)")
	nReal := fl.Int("real", 0, "real tenants (with a database) for the migrations (default 2000 on sqlite, 100 on postgres)")
	parallel := fl.Int("parallel", 4, "FleetOptions.Parallel for migrate_tenants_per_s")
	provParallel := fl.Int("provision-parallel", 8, "tenants provisioned at once beyond the first --provision")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	b, err := backendFlag(*backendName)
	if err != nil {
		return err
	}
	pg := b == steeple.BackendPostgres
	if *nProvision == 0 {
		*nProvision = map[bool]int{false: 50, true: 20}[pg]
	}
	if *nReal == 0 {
		*nReal = map[bool]int{false: 2000, true: 100}[pg]
	}
	switch {
	case *nProvision < 1:
		return usageError{"--provision must be at least 1"}
	case *nReal < *nProvision:
		return usageError{fmt.Sprintf("--real (%d) must be at least --provision (%d)", *nReal, *nProvision)}
	case *nFleet < *nReal:
		return usageError{fmt.Sprintf("--fleet (%d) must be at least --real (%d)", *nFleet, *nReal)}
	case *parallel < 1 || *provParallel < 1:
		return usageError{"--parallel and --provision-parallel must be at least 1"}
	}
	if pg {
		r.logf("postgres: migrations run over %d real tenants (scaled down from sqlite's 2000: CREATE DATABASE is slow); the no-op fleet is still %d registry rows", *nReal, *nFleet)
	}
	r.out.backend = string(b)
	r.out.common = []kv{{"machine", machine()}}

	e, err := newEnv(ctx, r, b)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := e.cleanup(); cerr != nil {
			r.logf("cleanup: %v", cerr)
			if err == nil {
				err = fmt.Errorf("cleanup: %w", cerr)
			}
		}
	}()

	// The production defaults: config.Default mapped as `steeple serve` does.
	def := config.Default()
	mc := tenancy.ManagerConfig{
		MaxConns: def.DBMaxConns, MaxPerTenant: def.DBMaxConnsPerTenant, MaxPools: def.DBMaxConns,
		IdleTimeout: def.PoolIdleTimeout, AcquireTimeout: def.AcquireTimeout,
	}
	if !pg {
		mc.MaxConns, mc.MaxPools = def.MaxOpenTenants, def.MaxOpenTenants
	}
	schema := store.Schema()
	ten, closeTen, err := e.open(ctx, e.options(def.RegistryMaxConns, mc, schema))
	if err != nil {
		return err
	}
	latest, err := schema.Latest(b)
	if err != nil {
		return err
	}

	// 1. Provisioning latency, one tenant at a time.
	r.logf("provisioning %d tenants one by one", *nProvision)
	first, took, err := provisionMany(ctx, r, ten, "Bench Church", 0, *nProvision, 1)
	if err != nil {
		return err
	}
	lat := make([]float64, len(took))
	for i, d := range took {
		lat[i] = ms(d)
	}
	target := map[bool]float64{false: 25, true: 150}[pg]
	r.out.metric("provision_p50_ms", percentile(lat, 50), "ms", kv{"tenants", *nProvision}, kv{"target_max", target})
	r.out.metric("provision_p95_ms", percentile(lat, 95), "ms", kv{"tenants", *nProvision})

	// 2. The rest of the real tenants, several at a time.
	rest := *nReal - *nProvision
	if rest > 0 {
		r.logf("provisioning %d more tenants, %d at a time", rest, *provParallel)
		t0 := time.Now()
		if _, _, err := provisionMany(ctx, r, ten, "Bench Church", *nProvision, rest, *provParallel); err != nil {
			return err
		}
		r.logf("provisioned %d tenants in %.1fs (%.0f/s)", rest, time.Since(t0).Seconds(), float64(rest)/time.Since(t0).Seconds())
	}

	// 3. No-op fleet migration over real tenants plus registry-only rows.
	fake := *nFleet - *nReal
	r.logf("adding %d registry-only tenant rows (no database) at schema version %d", fake, latest)
	if err := insertRegistryOnlyTenants(ctx, ten, fake, b, first[0].ID, latest); err != nil {
		return fmt.Errorf("registry-only tenants: %w", err)
	}
	opens := ten.Manager.Stats().Opens
	t0 := time.Now()
	rep, err := ten.MigrateFleet(ctx, tenancy.FleetOptions{Parallel: *parallel})
	noop := time.Since(t0)
	if err != nil {
		return fmt.Errorf("no-op fleet migration: %w", err)
	}
	opened := ten.Manager.Stats().Opens - opens
	if rep.Current != *nFleet || rep.Migrated != 0 || rep.Failed != 0 || opened != 0 {
		return fmt.Errorf("no-op fleet migration was not a no-op: %d current of %d, %d migrated, %d failed, %d tenant databases opened",
			rep.Current, *nFleet, rep.Migrated, rep.Failed, opened)
	}
	r.logf("no-op migration over %d tenants: %.3fs, %d tenant databases opened", rep.Current, noop.Seconds(), opened)
	r.out.metric("migrate_noop_seconds", noop.Seconds(), "s", kv{"tenants", *nFleet}, kv{"real_tenants", *nReal}, kv{"tenant_opens", opened})
	if _, err := ten.Registry.DB().ExecContext(ctx, `DELETE FROM tenants WHERE slug LIKE $1`, registryOnlySlug+"%"); err != nil {
		return fmt.Errorf("remove registry-only tenants: %w", err)
	}
	closeTen()

	// 4. One pending additive migration over every real tenant.
	next, err := withExtraMigration(schema, latest+1)
	if err != nil {
		return err
	}
	ten2, closeTen2, err := e.open(ctx, e.options(def.RegistryMaxConns, mc, next))
	if err != nil {
		return err
	}
	defer closeTen2()
	r.logf("migrating %d tenants to version %d, %d at a time", *nReal, latest+1, *parallel)
	t0 = time.Now()
	rep, err = ten2.MigrateFleet(ctx, tenancy.FleetOptions{Parallel: *parallel})
	el := time.Since(t0)
	if err != nil {
		return fmt.Errorf("fleet migration: %w", err)
	}
	if rep.Migrated != *nReal || !rep.OK() {
		for _, tm := range rep.Tenants {
			if tm.Outcome != tenancy.OutcomeMigrated {
				r.logf("tenant %s: %s %s", tm.TenantID, tm.Outcome, tm.Error)
				break
			}
		}
		return fmt.Errorf("fleet migration: %d of %d tenants migrated, %d failed, %d skipped", rep.Migrated, *nReal, rep.Failed, rep.Skipped)
	}
	r.logf("migrated %d tenants in %.2fs", rep.Migrated, el.Seconds())
	r.out.metric("migrate_tenants_per_s", float64(rep.Migrated)/el.Seconds(), "tenants/s",
		kv{"tenants", rep.Migrated}, kv{"parallel", *parallel}, kv{"seconds", el.Seconds()}, kv{"target_min", 300})
	return nil
}

// insertRegistryOnlyTenants adds n active tenants at schema version latest
// straight into the registry, without databases: a cheap large fleet for the
// no-op migration, which must not open any tenant database. Each row is a
// copy of the real tenant model's row (every column, whatever the registry
// schema holds by now) with its own id, name, slug and database name.
func insertRegistryOnlyTenants(ctx context.Context, ten *tenancy.Tenancy, n int, b steeple.Backend, model string, latest int64, first ...int) error {
	offset := 0
	if len(first) > 0 {
		offset = first[0] // numbering continues after rows added before
	}
	return copyTenantRow(ctx, ten.Registry.DB(), model, n, []string{"id", "name", "slug", "status", "database_name", "schema_version"},
		func(i int, set func(string, any)) {
			id := steeple.NewID()
			dbName := id + ".db"
			if b == steeple.BackendPostgres {
				dbName = "steeple_t_" + strings.ReplaceAll(id, "-", "")
			}
			set("id", id)
			set("name", fmt.Sprintf("Registry-only church %05d", offset+i))
			set("slug", fmt.Sprintf("%s%05d", registryOnlySlug, offset+i))
			set("status", string(steeple.TenantActive))
			set("database_name", dbName)
			set("schema_version", latest)
		})
}

// registryOnlySlug starts the slug of every registry-only tenant.
const registryOnlySlug = "bench-registry-only-"

// withExtraMigration returns s plus one additive migration, version v, in
// both dialects.
func withExtraMigration(s tenancy.Schema, v int64) (tenancy.Schema, error) {
	name := fmt.Sprintf("%05d_bench.sql", v)
	body := []byte("-- +goose Up\nALTER TABLE settings ADD COLUMN bench_note TEXT;\n\n-- +goose Down\nALTER TABLE settings DROP COLUMN bench_note;\n")
	out := tenancy.Schema{
		SQLite:   &overlayFS{base: s.SQLite, name: name, data: body},
		Postgres: &overlayFS{base: s.Postgres, name: name, data: body},
	}
	for _, b := range []steeple.Backend{steeple.BackendSQLite, steeple.BackendPostgres} {
		if got, err := out.Latest(b); err != nil || got != v {
			return out, fmt.Errorf("extended %s schema: latest %d, want %d (%v)", b, got, v, err)
		}
	}
	return out, nil
}

// overlayFS is a flat directory of migrations with one more file.
type overlayFS struct {
	base fs.FS
	name string
	data []byte
}

func (o *overlayFS) Open(name string) (fs.File, error) {
	if name == o.name {
		return &memFile{name: name, data: o.data}, nil
	}
	return o.base.Open(name)
}

func (o *overlayFS) ReadFile(name string) ([]byte, error) {
	if name == o.name {
		return append([]byte(nil), o.data...), nil
	}
	return fs.ReadFile(o.base, name)
}

func (o *overlayFS) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := fs.ReadDir(o.base, name)
	if err != nil || name != "." {
		return entries, err
	}
	out := []fs.DirEntry{fs.FileInfoToDirEntry(memInfo{o.name, int64(len(o.data))})}
	for _, e := range entries {
		if e.Name() != o.name {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

type memFile struct {
	name string
	data []byte
	off  int
}

func (f *memFile) Stat() (fs.FileInfo, error) { return memInfo{f.name, int64(len(f.data))}, nil }
func (f *memFile) Close() error               { return nil }
func (f *memFile) Read(p []byte) (int, error) {
	if f.off >= len(f.data) {
		return 0, io.EOF
	}
	n := copy(p, f.data[f.off:])
	f.off += n
	return n, nil
}

type memInfo struct {
	name string
	size int64
}

func (i memInfo) Name() string       { return path.Base(i.name) }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() fs.FileMode  { return 0o444 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }
