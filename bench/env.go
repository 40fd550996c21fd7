package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/secret"
	"github.com/steeple-sms/steeple/tenancy"
)

// env is where one run's data lives: a temporary data directory (SQLite) or
// a registry database of its own on the PostgreSQL server, plus the tenant
// databases the run creates there.
type env struct {
	r       *runner
	backend steeple.Backend
	appName string // application_name of every connection Steeple makes

	dataDir string // SQLite

	serverURL string // PostgreSQL: STEEPLE_BENCH_POSTGRES_URL
	regDB     string
	regURL    string

	mu     sync.Mutex
	opened []*closeOnce
}

type closeOnce struct {
	once sync.Once
	ten  *tenancy.Tenancy
}

func (c *closeOnce) close() { c.once.Do(func() { _ = c.ten.Close() }) }

// newEnv prepares a fresh place for a run. The caller must call cleanup,
// whatever happens next.
func newEnv(ctx context.Context, r *runner, b steeple.Backend) (*env, error) {
	e := &env{r: r, backend: b, appName: "steeple-bench-" + randHex(4)}
	if b == steeple.BackendSQLite {
		dir, err := os.MkdirTemp("", "steeple-bench-")
		if err != nil {
			return nil, err
		}
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			dir = real // as /proc/self/fd shows it
		}
		e.dataDir = dir
		r.logf("sqlite data directory %s", dir)
		return e, nil
	}
	e.serverURL = os.Getenv(EnvPostgresURL)
	if e.serverURL == "" {
		return nil, fmt.Errorf("--backend postgres needs %s: a PostgreSQL server URL whose role may create databases, e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", EnvPostgresURL)
	}
	e.regDB = "steeple_bench_reg_" + randHex(6)
	regURL, err := withDatabase(e.serverURL, e.regDB)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvPostgresURL, err)
	}
	e.regURL = regURL
	if err := e.adminExec(ctx, "CREATE DATABASE "+pgx.Identifier{e.regDB}.Sanitize()); err != nil {
		e.regDB = ""
		return nil, err
	}
	r.logf("postgres registry database %s, application_name %s", e.regDB, e.appName)
	return e, nil
}

// options returns tenancy options for this environment.
func (e *env) options(registryConns int, mc tenancy.ManagerConfig, schema tenancy.Schema) tenancy.Options {
	o := tenancy.Options{
		DataDir:          e.dataDir,
		RegistryMaxConns: registryConns,
		Manager:          mc,
		AppName:          e.appName,
		TenantSchema:     schema,
	}
	if e.backend == steeple.BackendPostgres {
		o.DataDir = ""
		o.DatabaseURL = e.regURL
		o.TenantServers = []string{e.serverURL}
	}
	return o
}

// open opens a Tenancy, migrates the registry and prepares it; cleanup
// closes it if the scenario did not.
func (e *env) open(ctx context.Context, o tenancy.Options) (*tenancy.Tenancy, func(), error) {
	ten, err := tenancy.Open(ctx, o)
	if err != nil {
		return nil, nil, fmt.Errorf("open tenancy: %w", err)
	}
	c := &closeOnce{ten: ten}
	e.mu.Lock()
	e.opened = append(e.opened, c)
	e.mu.Unlock()
	if _, err := ten.Registry.Migrate(ctx); err != nil {
		c.close()
		return nil, nil, fmt.Errorf("migrate registry: %w", err)
	}
	if err := ten.Prepare(ctx); err != nil {
		c.close()
		return nil, nil, fmt.Errorf("prepare: %w", err)
	}
	return ten, c.close, nil
}

// cleanup closes every Tenancy of the run and removes what the run created:
// the data directory, or every tenant database the registry lists and then
// the registry database itself. It works on its own context, so that it
// also runs after an interrupt.
func (e *env) cleanup() error {
	e.mu.Lock()
	opened := e.opened
	e.opened = nil
	e.mu.Unlock()
	for _, c := range opened {
		c.close()
	}
	start := time.Now()
	if e.backend == steeple.BackendSQLite {
		if e.dataDir == "" {
			return nil
		}
		err := os.RemoveAll(e.dataDir)
		e.r.logf("cleanup: removed %s (%.1fs)", e.dataDir, time.Since(start).Seconds())
		return err
	}
	if e.regDB == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	names, err := e.tenantDatabases(ctx)
	if err != nil {
		e.r.logf("cleanup: listing tenant databases: %v", err)
	}
	dropErr := e.dropDatabases(ctx, names)
	if err := e.adminExec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{e.regDB}.Sanitize()+" WITH (FORCE)"); err != nil {
		return errors.Join(dropErr, fmt.Errorf("drop registry database %s: %w", e.regDB, err))
	}
	e.r.logf("cleanup: dropped %d tenant databases and registry %s (%.1fs)", len(names), e.regDB, time.Since(start).Seconds())
	return dropErr
}

// tenantDatabases lists the databases on the server that the run's registry
// names as tenant databases (registry rows that never had a database, such
// as the rows the no-op migration adds, are left out).
func (e *env) tenantDatabases(ctx context.Context) ([]string, error) {
	var names []string
	err := e.withConn(ctx, e.regURL, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, "SELECT database_name FROM tenants")
		if err != nil {
			var pgErr interface{ SQLState() string }
			if errors.As(err, &pgErr) && pgErr.SQLState() == "42P01" { // registry never migrated
				return nil
			}
			return err
		}
		names, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil || len(names) == 0 {
		return nil, err
	}
	var existing []string
	err = e.withConn(ctx, e.serverURL, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, "SELECT datname FROM pg_database WHERE datname = ANY($1) ORDER BY datname", names)
		if err != nil {
			return err
		}
		existing, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return existing, err
}

// dropDatabases drops the named databases, a few at a time.
func (e *env) dropDatabases(ctx context.Context, names []string) error {
	const parallel = 4
	work := make(chan string)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range min(parallel, len(names)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := e.withConn(ctx, e.serverURL, func(c *pgx.Conn) error {
				for n := range work {
					if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)"); err != nil {
						mu.Lock()
						errs = append(errs, fmt.Errorf("drop %s: %w", n, err))
						mu.Unlock()
					}
				}
				return nil
			})
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				for range work { // let the others finish the list
				}
			}
		}()
	}
	for _, n := range names {
		work <- n
	}
	close(work)
	wg.Wait()
	if len(errs) > 3 {
		errs = append(errs[:3], fmt.Errorf("… and %d more", len(errs)-3))
	}
	return errors.Join(errs...)
}

// connConfig parses a URL and labels the connection as the bench's own
// (not counted as Steeple's in pg_stat_activity).
func (e *env) connConfig(u, role string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams["application_name"] = e.appName + "-" + role
	return cfg, nil
}

func (e *env) withConn(ctx context.Context, u string, fn func(*pgx.Conn) error) error {
	cfg, err := e.connConfig(u, "admin")
	if err != nil {
		return err
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	return fn(c)
}

func (e *env) adminExec(ctx context.Context, sql string) error {
	return e.withConn(ctx, e.serverURL, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, sql)
		return err
	})
}

// withDatabase returns the server URL naming another database, keeping
// credentials and parameters.
func withDatabase(server, db string) (string, error) {
	if strings.HasPrefix(server, "postgres://") || strings.HasPrefix(server, "postgresql://") {
		u, err := url.Parse(server)
		if err != nil {
			return "", errors.New("not a valid URL")
		}
		u.Path = "/" + db
		u.RawPath = ""
		return u.String(), nil
	}
	// keyword=value form: a later dbname overrides an earlier one.
	return server + " dbname=" + db, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ---- provisioning ---------------------------------------------------------

// provisionMany provisions n tenants named prefix-NNNNN, parallel at a time,
// and returns them in order with how long each Provision took. The first
// failure stops the rest.
func provisionMany(ctx context.Context, r *runner, ten *tenancy.Tenancy, prefix string, first, n, parallel int) ([]*steeple.Tenant, []time.Duration, error) {
	out := make([]*steeple.Tenant, n)
	took := make([]time.Duration, n)
	if n <= 0 {
		return out, took, nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan int)
	var wg sync.WaitGroup
	var done, lastShown int
	var mu sync.Mutex
	start := time.Now()
	for range max(1, min(parallel, n)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				t0 := time.Now()
				tn, err := ten.Provisioner.Provision(ctx, tenancy.NewTenant{
					Name: fmt.Sprintf("%s %05d", prefix, first+i), Timezone: "America/Chicago"})
				if err != nil {
					cancel(fmt.Errorf("provision tenant %d: %w", first+i, err))
					continue
				}
				out[i], took[i] = tn, time.Since(t0)
				mu.Lock()
				done++
				if done-lastShown >= max(100, n/10) || done == n {
					lastShown = done
					r.logf("provisioned %d/%d (%.0f/s)", done, n, float64(done)/time.Since(start).Seconds())
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range n {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, nil, err
	}
	return out, took, nil
}

// ---- CPU accounting (Linux; elsewhere the figures are left out) -----------

// mustKeys are fresh keys for a run's church data.
func mustKeys() *secret.Keys {
	k, err := secret.New(secret.Generate())
	if err != nil {
		panic(err) // only a broken random source fails here
	}
	return k
}
