package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// runTenantsPort is `tenants export` and `tenants import`: a church's data
// as a portable archive, and an archive restored as a new church.
func runTenantsPort(ctx context.Context, sub string, args []string, out, errOut io.Writer) error {
	fs, cfg, err := newFlags("tenants "+sub, errOut)
	if err != nil {
		return err
	}
	asJSON := fs.Bool("json", false, "print JSON")
	var outFile, name *string
	if sub == "export" {
		outFile = fs.String("out", "", "write the archive (a .zip) to this file (required; must not exist)")
	} else {
		name = fs.String("name", "", "the new church's name (default: the archived church's)")
	}
	pos, err := parseInterspersed(fs, cfg, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		what := "one church id or slug"
		if sub == "import" {
			what = "one archive file"
		}
		return usageError{fmt.Sprintf("tenants %s takes %s", sub, what)}
	}
	if sub == "export" && *outFile == "" {
		return usageError{"tenants export needs --out FILE"}
	}
	if sub == "export" {
		if _, err := os.Stat(*outFile); err == nil {
			return fmt.Errorf("%s already exists: choose another --out", *outFile)
		}
	}
	e, err := openReady(ctx, cfg, errOut)
	if err != nil {
		return err
	}
	defer e.close()
	keys, err := app.LoadKeys(*e.cfg, e.log)
	if err != nil {
		return err
	}
	st := store.New(keys, nil)
	if sub == "export" {
		return exportChurch(ctx, e, st, pos[0], *outFile, *asJSON, out)
	}
	return importChurch(ctx, e, st, pos[0], *name, *asJSON, out)
}

// exportReport is what `tenants export --json` prints.
type exportReport struct {
	File     string                 `json:"file"`
	Bytes    int64                  `json:"bytes"`
	Manifest *store.ArchiveManifest `json:"manifest"`
}

func exportChurch(ctx context.Context, e *env, st *store.Store, ref, outFile string, asJSON bool, out io.Writer) error {
	t, err := e.ten.Registry.TenantByRef(ctx, ref)
	if err != nil {
		return fmt.Errorf("%s", describeErr(err))
	}
	// Written beside its destination and renamed at the end: a crash leaves
	// no half archive under the name asked for.
	tmp, err := os.CreateTemp(filepath.Dir(outFile), ".steeple-export-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone after the rename
	defer tmp.Close()
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	h, err := e.ten.Manager.AcquireToRecord(ctx, t.ID) // a suspended church may be exported
	if err != nil {
		return fmt.Errorf("export %s: %s", t.Slug, describeErr(err))
	}
	m, err := st.ExportArchive(ctx, h, tmp)
	if err == nil {
		err = st.Audit(ctx, h, store.AuditEntry{ActorID: "operator", Action: "church.exported", Target: t.ID, Detail: m.Summary()})
	}
	h.Release()
	if err != nil {
		return fmt.Errorf("export %s: %s", t.Slug, describeErr(err))
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	info, err := tmp.Stat()
	if err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), outFile); err != nil { // refuses to replace a file made meanwhile
		return fmt.Errorf("write %s: %w", outFile, err)
	}
	r := exportReport{File: outFile, Bytes: info.Size(), Manifest: m}
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(out, "exported %s (%s) to %s: %d bytes; %s\n", t.Name, t.ID, outFile, r.Bytes, m.Summary())
	fmt.Fprintln(out, "The archive holds members' phone numbers and emails in plain text: keep it safe.")
	return nil
}

// importReport is what `tenants import --json` prints.
type importReport struct {
	Tenant *steeple.Tenant     `json:"tenant"`
	From   store.ArchiveChurch `json:"from"`
	Tables map[string]int64    `json:"tables"`
	Admins int                 `json:"admins"`
}

func importChurch(ctx context.Context, e *env, st *store.Store, file, name string, asJSON bool, out io.Writer) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	latest, err := store.Schema().Latest(steeple.BackendSQLite) // both dialects keep the same versions
	if err != nil {
		return err
	}
	a, err := store.OpenArchive(f, info.Size(), latest)
	if err != nil {
		return fmt.Errorf("import %s: %s", file, describeErr(err))
	}
	m := a.Manifest
	if name == "" {
		name = m.Church.Name
	}
	plan := m.Church.Plan
	if _, ok := e.cfg.Plans[plan]; !ok {
		plan = "" // this deployment's default
	}
	var res *store.ArchiveImport
	// Provisioning discards the new church if anything fails before it is
	// active: no half church is left behind.
	t, err := e.ten.Provisioner.Provision(ctx, tenancy.NewTenant{Name: name, Timezone: m.Church.Timezone, Plan: plan,
		Setup: func(ctx context.Context, h *tenancy.Handle) error {
			if res, err = st.ImportArchive(ctx, h, a); err != nil {
				return err
			}
			for _, adm := range res.Admins {
				if err := e.ten.Registry.AddLogin(ctx, adm.EmailHash, h.TenantID(), adm.ID); err != nil {
					return err
				}
			}
			return st.Audit(ctx, h, store.AuditEntry{ActorID: "operator", Action: "church.imported", Target: h.TenantID(),
				Detail: fmt.Sprintf("from church %s, exported %s", m.Church.ID, m.CreatedAt.Format("2006-01-02 15:04 MST"))})
		}})
	if err != nil {
		var se *steeple.Error
		if errors.As(err, &se) && se.Code == steeple.EINVALID {
			return fmt.Errorf("import %s: %s (nothing was created)", file, se.Message)
		}
		return fmt.Errorf("import %s: %v (nothing was created)", file, err)
	}
	for _, d := range res.Due {
		d.TenantID = t.ID
		if err := e.ten.Registry.SetScheduleDue(ctx, d); err != nil {
			return fmt.Errorf("church %s imported, but arming schedule %s failed (pause and resume it): %w", t.ID, d.ScheduleID, err)
		}
	}
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(importReport{Tenant: t, From: m.Church, Tables: res.Tables, Admins: len(res.Admins)})
	}
	if err := printTenants(out, false, false, t); err != nil {
		return err
	}
	fmt.Fprintf(out, "imported %s from %s (church %s): %s\n", t.Name, file, m.Church.ID, (&store.ArchiveManifest{Tables: res.Tables}).Summary())
	fmt.Fprintln(out, "It has no phone number: buy or assign one. Its admins have no password here: each uses \"Forgot password?\" on the sign-in page.")
	return nil
}
