// Package tenancy gives every church a database of its own: the registry
// that knows them all, the tenant manager that hands out handles within one
// connection budget, provisioning, and migrations across the fleet.
package tenancy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/config"
)

var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// Options configure Open.
type Options struct {
	DataDir          string   // SQLite: registry.db and tenants/ live here
	DatabaseURL      string   // PostgreSQL registry; empty selects SQLite
	TenantServers    []string // PostgreSQL servers for tenant databases
	RegistryMaxConns int
	Manager          ManagerConfig
	// AppName is sent to PostgreSQL as application_name on every connection,
	// so the server's own view (pg_stat_activity) shows what is Steeple's.
	AppName string
	// TenantSchema is the tenant database migrations (store.Schema()).
	TenantSchema Schema
	Logger       *slog.Logger
	Metrics      prometheus.Registerer // nil: not registered
	Now          func() time.Time
	// DefaultPlan is the plan of a new church (default "standard").
	DefaultPlan string
	// ProcessURL is where the other Steeple processes sharing the registry
	// reach this one (STEEPLE_PROCESS_URL), recorded with each send claim
	// so that a member's text arriving elsewhere is handed to the process
	// sending for its church. Empty: nothing is handed over.
	ProcessURL string
}

// OptionsFromConfig maps the process configuration onto Options. On SQLite
// the budget is the number of open tenant files: connections to SQLite cost
// file handles and memory, not server slots.
func OptionsFromConfig(c *config.Config, schema Schema) Options {
	mc := ManagerConfig{
		MaxConns:       c.DBMaxConns,
		MaxPerTenant:   c.DBMaxConnsPerTenant,
		MaxPools:       c.DBMaxConns,
		IdleTimeout:    c.PoolIdleTimeout,
		AcquireTimeout: c.AcquireTimeout,
	}
	if !c.Postgres() {
		mc.MaxConns, mc.MaxPools = c.MaxOpenTenants, c.MaxOpenTenants
		mc.MaxPerTenant = min(c.DBMaxConnsPerTenant, c.MaxOpenTenants)
	}
	return Options{
		DataDir: c.DataDir, DatabaseURL: c.DatabaseURL, TenantServers: c.Servers(),
		RegistryMaxConns: c.RegistryMaxConns, Manager: mc, AppName: "steeple", TenantSchema: schema,
		DefaultPlan: c.DefaultPlan, ProcessURL: c.ProcessURL,
	}
}

// Tenancy bundles the registry, the tenant manager and provisioning.
type Tenancy struct {
	Registry    *Registry
	Manager     *Manager
	Provisioner *Provisioner
	schema      Schema
	be          backend
	// moveHook, when set, runs before each step of a move; an error stops
	// the move there as a crash would (tests only: export_test.go).
	moveHook func(ctx context.Context, step ServerMoveStep) error
	// moveDrainTimeout overrides DefaultMoveDrainTimeout (tests).
	moveDrainTimeout time.Duration
}

// Open connects to the registry and every tenant server and builds the
// manager. It does not migrate: see Registry.Status and MigrateFleet.
func Open(ctx context.Context, o Options) (*Tenancy, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = discardLogger
	}
	if o.AppName == "" {
		o.AppName = "steeple"
	}
	if o.Manager.MaxPools == 0 {
		o.Manager.MaxPools = o.Manager.MaxConns
	}
	if o.DatabaseURL != "" && o.Manager.CloseGrace == 0 {
		o.Manager.CloseGrace = 20 * time.Millisecond
	}
	if o.DatabaseURL != "" {
		o.Manager.BorrowFirst = true
	}
	reg, err := openRegistry(ctx, &o)
	if err != nil {
		return nil, err
	}
	var be backend
	if o.DatabaseURL == "" {
		be = sqliteBackend{dir: filepath.Join(o.DataDir, "tenants")}
	} else {
		pg, err := newPostgresBackend(o.TenantServers, o.AppName)
		if err == nil {
			err = pg.ping(ctx)
		}
		if err != nil {
			reg.Close()
			return nil, err
		}
		be = pg
	}
	latest, err := o.TenantSchema.Latest(be.kind())
	if err != nil {
		reg.Close()
		return nil, fmt.Errorf("tenant schema: %w", err)
	}
	mgr := newManager(reg, be, o.Manager, latest, &o)
	t := &Tenancy{Registry: reg, Manager: mgr, schema: o.TenantSchema, be: be}
	if o.DefaultPlan == "" {
		o.DefaultPlan = "standard"
	}
	t.Provisioner = &Provisioner{reg: reg, mgr: mgr, be: be, schema: o.TenantSchema, now: o.Now, DefaultPlan: o.DefaultPlan}
	return t, nil
}

// Prepare records the configured database servers in the registry. Call it
// once the registry is migrated.
func (t *Tenancy) Prepare(ctx context.Context) error {
	if pg, ok := t.be.(*postgresBackend); ok {
		return t.Registry.syncServers(ctx, pg.refs())
	}
	return nil
}

// Backend tells where tenant databases live.
func (t *Tenancy) Backend() steeple.Backend { return t.be.kind() }

// Close closes the manager's pools and the registry.
func (t *Tenancy) Close() error {
	t.Manager.Close()
	return t.Registry.Close()
}
