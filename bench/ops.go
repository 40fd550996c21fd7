package bench

import (
	"context"
	"os"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/config"
	"github.com/steeple-sms/steeple/secret"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// runOps measures operators' commands on a large church:
//
//   - export_seconds: `steeple tenants export` of a church with --members
//     members and --recipients broadcast recipients (every broadcast goes
//     to every member), to a file; export_bytes is the archive's size;
//   - import_seconds: that archive imported as a new church.
//
// The church is built with the store's bulk writes (the member import and
// CreateBroadcast, as the web scenario does), not through the API: that is
// the shortcut. Only the export and the import are timed.
func runOps(ctx context.Context, r *runner, args []string) (err error) {
	fl := r.newFlags()
	backendName := fl.String("backend", "sqlite", "sqlite or postgres")
	nMembers := fl.Int("members", 10000, "members of the exported church")
	nRecipients := fl.Int("recipients", 100000, "broadcast recipients of the exported church (a multiple of --members is exact)")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	b, err := backendFlag(*backendName)
	if err != nil {
		return err
	}
	if *nMembers < 1 || *nRecipients < 0 {
		return usageError{"--members ≥ 1, --recipients ≥ 0"}
	}
	r.out.backend = string(b)
	e, err := newEnv(ctx, r, b)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := e.cleanup(); err == nil {
			err = cerr
		}
	}()
	def := config.Default()
	mc := tenancy.ManagerConfig{MaxConns: def.DBMaxConns, MaxPerTenant: def.DBMaxConnsPerTenant, MaxPools: def.DBMaxConns,
		IdleTimeout: time.Minute, AcquireTimeout: 30 * time.Second}
	ten, closeTen, err := e.open(ctx, e.options(def.RegistryMaxConns, mc, store.Schema()))
	if err != nil {
		return err
	}
	defer closeTen()
	keysFile := secret.Generate()
	keys, err := secret.New(keysFile)
	if err != nil {
		return err
	}
	st := store.New(keys, nil)

	t, err := ten.Provisioner.Provision(ctx, tenancy.NewTenant{Name: "Grace Chapel", Timezone: "America/Chicago"})
	if err != nil {
		return err
	}
	if err := fillOpsChurch(ctx, r, ten, st, t.ID, *nMembers, *nRecipients); err != nil {
		return err
	}

	f, err := os.CreateTemp("", "steeple-bench-export-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	start := time.Now()
	h, err := ten.Manager.Acquire(ctx, t.ID)
	if err != nil {
		return err
	}
	m, err := st.ExportArchive(ctx, h, f)
	h.Release()
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	took := time.Since(start)
	info, err := f.Stat()
	if err != nil {
		return err
	}
	extra := []kv{{"members", m.Tables["members"]}, {"recipients", m.Tables["message_recipients"]}, {"machine", machine()}}
	r.out.metric("export_seconds", took.Seconds(), "s", extra...)
	r.out.metric("export_bytes", float64(info.Size()), "bytes", extra...)

	latest, err := store.Schema().Latest(b)
	if err != nil {
		return err
	}
	start = time.Now()
	a, err := store.OpenArchive(f, info.Size(), latest)
	if err != nil {
		return err
	}
	if _, err := ten.Provisioner.Provision(ctx, tenancy.NewTenant{Name: "Grace Chapel Imported", Timezone: a.Manifest.Church.Timezone,
		Setup: func(ctx context.Context, h *tenancy.Handle) error {
			_, err := st.ImportArchive(ctx, h, a)
			return err
		}}); err != nil {
		return err
	}
	r.out.metric("import_seconds", time.Since(start).Seconds(), "s", extra...)
	return opsRotate(ctx, r, ten, keysFile, t.ID, extra)
}

// opsRotate measures rotate_values_per_s: the church's sealed values (a
// phone per member and per recipient, the owner's email) re-encrypted
// with a new data key, as `steeple keys rotate` does church by church.
func opsRotate(ctx context.Context, r *runner, ten *tenancy.Tenancy, f secret.File, tenantID string, extra []kv) error {
	rotated, _, err := secret.RotateEncryption(f)
	if err != nil {
		return err
	}
	keys, err := secret.New(rotated)
	if err != nil {
		return err
	}
	h, err := ten.Manager.Acquire(ctx, tenantID)
	if err != nil {
		return err
	}
	defer h.Release()
	start := time.Now()
	n, err := store.New(keys, nil).Reseal(ctx, h, nil)
	if err != nil {
		return err
	}
	took := time.Since(start)
	r.logf("ops: %d sealed values re-encrypted in %s", n, took.Round(time.Millisecond))
	r.out.metric("rotate_values_per_s", float64(n)/took.Seconds(), "values/s", append(extra, kv{"values", n}, kv{"seconds", roundTo(took.Seconds(), 2)})...)
	return nil
}

// fillOpsChurch writes the members, an owner, and broadcasts to every member
// until nRecipients recipients are written.
func fillOpsChurch(ctx context.Context, r *runner, ten *tenancy.Tenancy, st *store.Store, tenantID string, nMembers, nRecipients int) error {
	start := time.Now()
	h, err := ten.Manager.Acquire(ctx, tenantID)
	if err != nil {
		return err
	}
	_, err = st.CreateAdmin(ctx, h, store.NewAdmin{Name: "Ruth", Email: "ruth@grace.example.org", PasswordHash: "x", Role: steeple.RoleOwner})
	h.Release()
	if err != nil {
		return err
	}
	if err := fillMembers(ctx, r, ten, st, tenantID, nMembers); err != nil {
		return err
	}
	at := time.Now().Add(-time.Duration(nRecipients/nMembers+1) * 24 * time.Hour)
	for done := 0; done < nRecipients; done += nMembers {
		if _, err := fillBroadcast(ctx, ten, st, tenantID, at); err != nil {
			return err
		}
		at = at.Add(24 * time.Hour)
	}
	r.logf("ops: church of %d members and %d recipients written in %s", nMembers, nRecipients, time.Since(start).Round(time.Millisecond))
	return nil
}
