package tenancy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/steeple-sms/steeple"
)

// Step names a stage of provisioning, for fault injection and error messages.
type Step string

// Provisioning steps, in order.
const (
	StepRegister       Step = "register"        // registry row in state provisioning
	StepCreateDatabase Step = "create_database" // file or CREATE DATABASE
	StepMigrate        Step = "migrate"         // tenant schema applied
	StepSetup          Step = "setup"           // caller's setup (e.g. the first admin)
	StepActivate       Step = "activate"        // state active
)

// NewTenant asks for a church to be provisioned.
type NewTenant struct {
	Name     string
	Timezone string
	// Plan is the church's plan (default: the provisioner's default plan).
	Plan string
	// Resume completes a church of the same name stuck in provisioning
	// instead of making another (operators at a terminal). Self-service
	// signup leaves it off: a stranger's stuck church is never handed over.
	Resume bool
	// Setup, if set, runs on the new database after migrations and before the
	// church becomes active (signup creates the first admin here). It may run
	// again when a stuck provisioning is completed, so it must be idempotent.
	Setup func(ctx context.Context, h *Handle) error
}

// Provisioner creates tenants: registry row (provisioning) → database →
// migrations → setup → active. A failure part-way is cleaned up; a process
// that dies part-way leaves a provisioning row that provisioning the same
// name again completes, or that Cleanup removes.
type Provisioner struct {
	reg    *Registry
	mgr    *Manager
	be     backend
	schema Schema
	now    func() time.Time
	// DefaultPlan is the plan of a church created without one.
	DefaultPlan string
	// BeforeStep, when set, runs before each step; an error fails that step.
	// It exists for fault-injection tests and drills.
	BeforeStep func(ctx context.Context, step Step, t *steeple.Tenant) error
}

// Provision creates the church, or completes one with the same name stuck in
// provisioning. Errors: EINVALID for a bad name or timezone, ECONFLICT when
// another request is creating the same church at the same moment.
func (p *Provisioner) Provision(ctx context.Context, req NewTenant) (*steeple.Tenant, error) {
	name, tz, err := validateNewTenant(req)
	if err != nil {
		return nil, err
	}
	plan := req.Plan
	if plan == "" {
		plan = p.DefaultPlan
	}
	t, err := p.register(ctx, name, tz, plan, req.Resume)
	if err != nil {
		return nil, err
	}
	if err := p.complete(ctx, t, req.Setup); err != nil {
		if cerr := p.discard(context.WithoutCancel(ctx), t); cerr != nil {
			return nil, fmt.Errorf("provisioning %s failed (%w); cleanup failed too (%v): run `steeple tenants cleanup`", t.ID, err, cerr)
		}
		return nil, err
	}
	return p.reg.Tenant(ctx, t.ID)
}

func validateNewTenant(req NewTenant) (name, tz string, err error) {
	name = strings.TrimSpace(req.Name)
	tz = strings.TrimSpace(req.Timezone)
	switch {
	case name == "":
		return "", "", steeple.FieldError("name", "is required")
	case len([]rune(name)) > 100:
		return "", "", steeple.FieldError("name", "must be at most 100 characters")
	case tz == "" || tz == "Local":
		return "", "", steeple.FieldError("timezone", "is required, as an IANA name such as America/Chicago")
	}
	if _, lerr := time.LoadLocation(tz); lerr != nil {
		// The message names the zone for operators; the field's stays fixed for pages.
		return "", "", &steeple.Error{Code: steeple.EINVALID, Message: fmt.Sprintf("timezone: %q is not a known IANA time zone", tz),
			Fields: map[string]string{"timezone": "is not a known IANA time zone"}}
	}
	return name, tz, nil
}

// register finds the church stuck in provisioning under this name, or adds
// its registry row with a free slug and, on PostgreSQL, a server.
func (p *Provisioner) register(ctx context.Context, name, tz, plan string, resume bool) (*steeple.Tenant, error) {
	if resume {
		stuck, err := p.reg.Tenants(ctx, TenantFilter{Status: steeple.TenantProvisioning})
		if err != nil {
			return nil, err
		}
		for _, t := range stuck {
			if t.Name == name {
				return t, nil
			}
		}
	}
	var err error
	now := p.now().UTC()
	id := steeple.NewID()
	t := &steeple.Tenant{
		ID: id, Name: name, Status: steeple.TenantProvisioning, Timezone: tz, Plan: plan,
		Backend: p.be.kind(), DatabaseName: p.be.databaseName(id), CreatedAt: now, UpdatedAt: now,
	}
	if pg, ok := p.be.(*postgresBackend); ok {
		if t.Server, err = p.reg.placeTenant(ctx, pg.refs()); err != nil {
			return nil, err
		}
	}
	if err := p.step(ctx, StepRegister, t); err != nil {
		return nil, err
	}
	if t.Slug, err = p.freeSlug(ctx, slugify(name)); err != nil {
		return nil, err
	}
	if err := p.reg.insertTenant(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// freeSlug returns base, or base-2, base-3 … whichever no live church uses:
// many churches share a name.
func (p *Provisioner) freeSlug(ctx context.Context, base string) (string, error) {
	for i := 1; i < 1000; i++ {
		slug := base
		if i > 1 {
			slug = fmt.Sprintf("%s-%d", base, i)
		}
		_, err := p.reg.TenantByRef(ctx, slug)
		if steeple.ErrorCode(err) == steeple.ENOTFOUND {
			return slug, nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", steeple.Errorf(steeple.ECONFLICT, "too many churches named %q", base)
}

// complete runs the steps after registration; each is idempotent.
func (p *Provisioner) complete(ctx context.Context, t *steeple.Tenant, setup func(context.Context, *Handle) error) error {
	if err := p.step(ctx, StepCreateDatabase, t); err != nil {
		return err
	}
	if err := p.mgr.withRoom(ctx, func() error { return p.be.create(ctx, t) }); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	if err := p.step(ctx, StepMigrate, t); err != nil {
		return err
	}
	var version int64
	err := p.mgr.withDedicated(ctx, t, func(db *sql.DB) error {
		var err error
		version, err = applySchema(ctx, db, t.Backend, p.schema)
		return err
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := p.reg.setSchemaVersion(ctx, t.ID, version); err != nil {
		return err
	}
	t.SchemaVersion = version
	if err := p.step(ctx, StepSetup, t); err != nil {
		return err
	}
	if setup != nil {
		if err := p.mgr.dedicatedHandle(ctx, t, func(h *Handle) error { return setup(ctx, h) }); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
	}
	if err := p.step(ctx, StepActivate, t); err != nil {
		return err
	}
	_, err = p.reg.SetStatus(ctx, t.ID, steeple.TenantActive, steeple.TenantProvisioning)
	return err
}

func (p *Provisioner) step(ctx context.Context, s Step, t *steeple.Tenant) error {
	if p.BeforeStep == nil {
		return nil
	}
	if err := p.BeforeStep(ctx, s, t); err != nil {
		return fmt.Errorf("step %s: %w", s, err)
	}
	return nil
}

// discard removes a tenant that never became active: its database, then its
// registry row, so that nothing blocks the name.
func (p *Provisioner) discard(ctx context.Context, t *steeple.Tenant) error {
	if err := p.mgr.withRoom(ctx, func() error { return p.be.drop(ctx, t) }); err != nil {
		return fmt.Errorf("drop database: %w", err)
	}
	return p.reg.deleteTenantRow(ctx, t.ID)
}

// Cleanup removes churches stuck in provisioning since before olderThan ago
// (a process died part-way) and returns their ids.
func (p *Provisioner) Cleanup(ctx context.Context, olderThan time.Duration) ([]string, error) {
	stuck, err := p.reg.Tenants(ctx, TenantFilter{Status: steeple.TenantProvisioning})
	if err != nil {
		return nil, err
	}
	cutoff := p.now().Add(-olderThan)
	var removed []string
	var errs []error
	for _, t := range stuck {
		if t.UpdatedAt.After(cutoff) {
			continue
		}
		if err := p.discard(ctx, t); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.ID, err))
			continue
		}
		removed = append(removed, t.ID)
	}
	return removed, errors.Join(errs...)
}

// slugify makes a short, URL-safe name: lower-case letters and digits
// separated by single dashes.
func slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	s := b.String()
	if len(s) > 60 {
		s = strings.TrimRight(s[:60], "-")
	}
	if s == "" {
		s = "church"
	}
	return s
}
