package tenancy

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/steeple-sms/steeple"
)

// Outcome is what happened to one tenant in a fleet migration.
type Outcome string

// Fleet migration outcomes.
const (
	OutcomeMigrated Outcome = "migrated"
	OutcomeCurrent  Outcome = "current" // already at the latest version
	OutcomeFailed   Outcome = "failed"
	OutcomeSkipped  Outcome = "skipped" // not attempted because the canary failed
)

// TenantMigration reports one tenant.
type TenantMigration struct {
	TenantID string        `json:"tenant_id"`
	Name     string        `json:"name"`
	From     int64         `json:"from"`
	To       int64         `json:"to"`
	Outcome  Outcome       `json:"outcome"`
	Error    string        `json:"error,omitempty"`
	Canary   bool          `json:"canary,omitempty"`
	Took     time.Duration `json:"took_ns"`
}

// FleetReport is the result of MigrateFleet.
type FleetReport struct {
	RegistryVersion int64             `json:"registry_version"`
	Latest          int64             `json:"latest"`
	Current         int               `json:"current"` // tenants already current, never opened
	Migrated        int               `json:"migrated"`
	Failed          int               `json:"failed"`
	Skipped         int               `json:"skipped"`
	Tenants         []TenantMigration `json:"tenants"` // those that were behind
	Took            time.Duration     `json:"took_ns"`
}

// OK reports whether every tenant ended current.
func (r *FleetReport) OK() bool { return r.Failed == 0 && r.Skipped == 0 }

// FleetOptions tune MigrateFleet.
type FleetOptions struct {
	// Parallel is how many tenants migrate at once (each holds one connection
	// of the budget). Default 4.
	Parallel int
	// Canary is migrated alone first; if it fails nothing else is tried.
	// Default: the first tenant that is behind, by id.
	Canary string
}

// MigrateFleet brings the registry and then every active or suspended tenant
// to the latest schema. Tenants already current are counted from the
// registry without opening their databases. A failing tenant is reported and
// the rest carry on; each tenant's version is recorded as it finishes, so a
// re-run picks up only what remains.
func (t *Tenancy) MigrateFleet(ctx context.Context, o FleetOptions) (*FleetReport, error) {
	start := time.Now()
	rep := &FleetReport{}
	var err error
	if rep.RegistryVersion, err = t.Registry.Migrate(ctx); err != nil {
		return rep, err
	}
	if err := t.Prepare(ctx); err != nil {
		return rep, err
	}
	if rep.Latest, err = t.schema.Latest(t.Registry.backend); err != nil {
		return rep, err
	}
	all, err := t.Registry.Tenants(ctx, TenantFilter{Migratable: true})
	if err != nil {
		return rep, err
	}
	var behind []*steeple.Tenant
	for _, tn := range all {
		if tn.SchemaVersion >= rep.Latest {
			rep.Current++
		} else {
			behind = append(behind, tn)
		}
	}
	if len(behind) == 0 {
		rep.Took = time.Since(start)
		return rep, nil
	}
	behind = canaryFirst(behind, o.Canary)
	results := make([]TenantMigration, len(behind))
	results[0] = t.migrateTenant(ctx, behind[0])
	results[0].Canary = true
	if results[0].Outcome == OutcomeFailed {
		for i := 1; i < len(behind); i++ {
			results[i] = TenantMigration{TenantID: behind[i].ID, Name: behind[i].Name, From: behind[i].SchemaVersion,
				To: behind[i].SchemaVersion, Outcome: OutcomeSkipped, Error: "canary failed"}
		}
	} else {
		t.migrateParallel(ctx, behind[1:], results[1:], o.Parallel)
	}
	for _, r := range results {
		switch r.Outcome {
		case OutcomeMigrated:
			rep.Migrated++
		case OutcomeFailed:
			rep.Failed++
		case OutcomeSkipped:
			rep.Skipped++
		}
	}
	rep.Tenants = results
	rep.Took = time.Since(start)
	return rep, nil
}

func canaryFirst(ts []*steeple.Tenant, canary string) []*steeple.Tenant {
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].ID == canary && ts[j].ID != canary })
	return ts
}

func (t *Tenancy) migrateParallel(ctx context.Context, ts []*steeple.Tenant, out []TenantMigration, parallel int) {
	if parallel < 1 {
		parallel = 4
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, tn := range ts {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = t.migrateTenant(ctx, tn)
		}()
	}
	wg.Wait()
}

// migrateTenant applies pending migrations to one tenant on a dedicated
// connection and records the version it reached, even after a failure.
func (t *Tenancy) migrateTenant(ctx context.Context, tn *steeple.Tenant) TenantMigration {
	start := time.Now()
	r := TenantMigration{TenantID: tn.ID, Name: tn.Name, From: tn.SchemaVersion, To: tn.SchemaVersion}
	var version int64
	err := t.Manager.withDedicated(ctx, tn, func(db *sql.DB) error {
		var err error
		version, err = applySchema(ctx, db, tn.Backend, t.schema)
		return err
	})
	if version > 0 && version != tn.SchemaVersion {
		if rerr := t.Registry.setSchemaVersion(ctx, tn.ID, version); rerr != nil && err == nil {
			err = fmt.Errorf("record schema version: %w", rerr)
		}
		r.To = version
	}
	r.Took = time.Since(start)
	if err != nil {
		r.Outcome, r.Error = OutcomeFailed, err.Error()
		return r
	}
	r.Outcome = OutcomeMigrated
	return r
}
