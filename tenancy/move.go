package tenancy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steeple-sms/steeple"
)

// MoveStep names a stage of moving to PostgreSQL, for fault injection.
type MoveStep string

// Stages of a move: the registry (with the job queue) once, then per church.
const (
	MoveStepRegistry MoveStep = "registry" // registry tables and queued jobs copied, in one transaction
	MoveStepPlace    MoveStep = "place"    // the church's server recorded in the target registry
	MoveStepCreate   MoveStep = "create"   // its database made from a template at the file's schema version (a half-made one dropped first)
	MoveStepCopy     MoveStep = "copy"     // every table copied, in one transaction
	MoveStepVerify   MoveStep = "verify"   // row counts compared table by table
	MoveStepFlip     MoveStep = "flip"     // the registry row points at PostgreSQL
)

// MoveOptions tune MoveFromSQLite.
type MoveOptions struct {
	// SourceDir is the SQLite deployment's data directory (registry.db, tenants/).
	SourceDir string
	// Parallel is how many churches move at once (default 4); each holds one
	// connection of the budget, and two while its database is created.
	Parallel int
	// Progress, when set, is called as each church ends (from several goroutines, serialised).
	Progress func(done, total int, c MovedChurch)
	// AfterStep, when set, runs after each step; an error fails the move
	// there as a crash would. It exists for fault-injection tests and drills.
	AfterStep func(step MoveStep, tenantID string) error
}

// MoveOutcome is what happened to one church in a move.
type MoveOutcome string

// Move outcomes.
const (
	MoveMoved   MoveOutcome = "moved"
	MoveAlready MoveOutcome = "already_moved" // flipped by an earlier run
	MoveFailed  MoveOutcome = "failed"
	MoveSkipped MoveOutcome = "skipped" // deleted churches: their row is copied, no database
)

// MovedChurch reports one church.
type MovedChurch struct {
	TenantID      string               `json:"tenant_id"`
	Name          string               `json:"name"`
	Status        steeple.TenantStatus `json:"status"`
	Outcome       MoveOutcome          `json:"outcome"`
	Server        string               `json:"server,omitempty"`
	Database      string               `json:"database,omitempty"`
	SchemaVersion int64                `json:"schema_version,omitempty"`
	Tables        int                  `json:"tables,omitempty"`
	Rows          int64                `json:"rows,omitempty"`
	Error         string               `json:"error,omitempty"`
	Took          time.Duration        `json:"took_ns"`
}

// MoveReport is the result of MoveFromSQLite.
type MoveReport struct {
	Source string `json:"source"`
	// RegistryCopied is false when an earlier run had finished the registry
	// and every church, so nothing was copied again.
	RegistryCopied    bool             `json:"registry_copied"`
	RegistryRows      map[string]int64 `json:"registry_rows"`
	Jobs              int              `json:"jobs"` // unfinished jobs carried over
	Moved             int              `json:"moved"`
	AlreadyMoved      int              `json:"already_moved"`
	Failed            int              `json:"failed"`
	Skipped           int              `json:"skipped"`
	Churches          []MovedChurch    `json:"churches"`
	Took              time.Duration    `json:"took_ns"`
	ChurchesPerSecond float64          `json:"churches_per_second"`
}

// OK reports whether every church is now served from PostgreSQL.
func (r *MoveReport) OK() bool { return r.Failed == 0 }

// mover carries one run of MoveFromSQLite.
type mover struct {
	t         *Tenancy
	pg        *postgresBackend
	o         MoveOptions
	src       *Registry // the SQLite registry, read only
	mu        sync.Mutex
	counts    map[string]int // live churches per active server, for placement
	templates map[string]*moveTemplate
}

// MoveFromSQLite moves an embedded (SQLite) deployment into this Tenancy,
// which must be on PostgreSQL: the registry's tables and the job queue's
// unfinished jobs (in one transaction), then every active, suspended or
// closing church (a database of its own, placed like a new church, made from a
// template migrated to the file's schema version, every table copied,
// counts compared, then the church's registry row flipped to it). The
// SQLite files are only read.
//
// It is resumable: a re-run skips churches already flipped, drops and
// redoes one copied half-way, and copies the registry again keeping the
// flips. Once every church is flipped, a re-run copies nothing. A target
// registry holding churches the source does not have is refused.
func (t *Tenancy) MoveFromSQLite(ctx context.Context, o MoveOptions) (*MoveReport, error) {
	start := time.Now()
	pg, ok := t.be.(*postgresBackend)
	if !ok {
		return nil, steeple.Errorf(steeple.EINVALID, "the target is not PostgreSQL: set STEEPLE_DATABASE_URL (and STEEPLE_TENANT_SERVERS)")
	}
	if o.Parallel < 1 {
		o.Parallel = 4
	}
	src, err := openSourceRegistry(ctx, o.SourceDir)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	m := &mover{t: t, pg: pg, o: o, src: src, templates: map[string]*moveTemplate{}}
	defer m.dropTemplates(context.WithoutCancel(ctx))
	rep := &MoveReport{Source: o.SourceDir, RegistryRows: map[string]int64{}}
	if err := m.checkSource(ctx); err != nil {
		return nil, err
	}
	if _, err := t.Registry.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("target registry: %w", err)
	}
	if err := t.Prepare(ctx); err != nil {
		return nil, err
	}
	srcTenants, err := src.Tenants(ctx, TenantFilter{})
	if err != nil {
		return nil, err
	}
	done, err := m.checkTarget(ctx, srcTenants)
	if err != nil {
		return nil, err
	}
	if !done {
		if rep.RegistryRows, rep.Jobs, err = m.copyRegistry(ctx); err != nil {
			return rep, err
		}
		rep.RegistryCopied = true
		if err := m.after(MoveStepRegistry, ""); err != nil {
			return rep, err
		}
	}
	rep.Churches, err = m.moveChurches(ctx, srcTenants)
	if err != nil {
		return rep, err
	}
	// Counted in the run's time: dropping a template waits for the
	// checkpoint that writes out what every CREATE DATABASE copied.
	m.dropTemplates(ctx)
	for _, c := range rep.Churches {
		switch c.Outcome {
		case MoveMoved:
			rep.Moved++
		case MoveAlready:
			rep.AlreadyMoved++
		case MoveFailed:
			rep.Failed++
		case MoveSkipped:
			rep.Skipped++
		}
	}
	rep.Took = time.Since(start)
	if s := rep.Took.Seconds(); s > 0 {
		rep.ChurchesPerSecond = float64(rep.Moved) / s
	}
	return rep, nil
}

func (m *mover) after(step MoveStep, tenantID string) error {
	if m.o.AfterStep == nil {
		return nil
	}
	if err := m.o.AfterStep(step, tenantID); err != nil {
		return fmt.Errorf("after step %s: %w", step, err)
	}
	return nil
}

// openSourceRegistry opens a SQLite deployment's registry read-only; a
// directory without one is refused rather than created.
func openSourceRegistry(ctx context.Context, dir string) (*Registry, error) {
	path := RegistryPath(dir)
	if _, err := os.Stat(path); err != nil {
		return nil, steeple.Errorf(steeple.EINVALID, "no SQLite deployment in STEEPLE_DATA_DIR %s (%s: %v)", dir, filepath.Base(path), errors.Unwrap(err))
	}
	if pid, err := sqliteHolder(path); err != nil {
		return nil, fmt.Errorf("SQLite registry %s: %w", path, err)
	} else if pid != 0 {
		return nil, steeple.Errorf(steeple.ECONFLICT, "process %d has %s open: stop every `steeple serve` of the SQLite deployment first "+
			"(what it changes after a church is copied would not reach PostgreSQL)", pid, path)
	}
	db, err := sql.Open("sqlite", SQLiteDSN(path, "ro"))
	if err != nil {
		return nil, err
	}
	limitPool(db, 2)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("SQLite registry %s: %w", path, err)
	}
	return &Registry{db: db, backend: steeple.BackendSQLite, now: time.Now}, nil
}

// checkSource refuses a SQLite registry this binary's schema does not match
// (its tables would not line up with PostgreSQL's) and churches stuck in
// provisioning (half made: cleanup removes them).
func (m *mover) checkSource(ctx context.Context) error {
	st, err := m.src.Status(ctx)
	if err != nil {
		return fmt.Errorf("SQLite registry: %w", err)
	}
	if !st.Current() {
		return steeple.Errorf(steeple.EINVALID, "the SQLite registry is at schema version %d (job queue current: %v) and this binary's is %d: "+
			"run `steeple migrate` on the SQLite deployment first (with STEEPLE_DATABASE_URL unset)", st.Version, !st.QueuePending, st.Latest)
	}
	stuck, err := m.src.Tenants(ctx, TenantFilter{Status: steeple.TenantProvisioning})
	if err != nil {
		return err
	}
	if len(stuck) > 0 {
		return steeple.Errorf(steeple.EINVALID, "%d church(es) are stuck in provisioning on SQLite (first: %s): "+
			"run `steeple tenants cleanup --older-than 0s` on the SQLite deployment first", len(stuck), stuck[0].ID)
	}
	return nil
}

// checkTarget refuses a target registry holding churches that are not the
// source's (another deployment's), and tells whether an earlier run
// already flipped every church (then nothing is copied again: the target
// may be serving by now).
func (m *mover) checkTarget(ctx context.Context, srcTenants []*steeple.Tenant) (done bool, err error) {
	target, err := m.t.Registry.Tenants(ctx, TenantFilter{})
	if err != nil {
		return false, err
	}
	inSource := map[string]bool{}
	for _, tn := range srcTenants {
		inSource[tn.ID] = true
	}
	flipped := map[string]bool{}
	for _, tn := range target {
		if !inSource[tn.ID] {
			return false, steeple.Errorf(steeple.ECONFLICT, "the PostgreSQL registry already holds church %s (%q), which is not in %s: "+
				"move into an empty registry database", tn.ID, tn.Name, m.o.SourceDir)
		}
		if tn.Backend == steeple.BackendPostgres {
			flipped[tn.ID] = true
		}
	}
	n := 0
	for _, tn := range srcTenants {
		if movable(tn) {
			n++
			if !flipped[tn.ID] {
				return false, nil
			}
		}
	}
	return n > 0 && len(target) == len(srcTenants), nil
}

// movable says whether a church's database goes along: active, suspended,
// and closed ones still in their grace or purge (restorable, or to be
// purged on PostgreSQL).
func movable(t *steeple.Tenant) bool {
	return t.Status == steeple.TenantActive || t.Status == steeple.TenantSuspended || t.Status == steeple.TenantDeleting
}

// placement is a church's row in the target registry as earlier runs left it.
type placement struct {
	backend       string
	server        *string
	database      string
	schemaVersion int64
}

// copyRegistry replaces the target registry's tables with the source's and
// carries the unfinished jobs over, in one transaction, keeping each
// church's placement and flip from earlier runs. db_servers stays the
// target's own: a SQLite deployment has no servers.
func (m *mover) copyRegistry(ctx context.Context) (map[string]int64, int, error) {
	tables, err := sqliteTables(ctx, m.src.db, "db_servers")
	if err != nil {
		return nil, 0, fmt.Errorf("SQLite registry tables: %w", err)
	}
	tx, err := m.t.Registry.pool.Begin(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op
	kept, err := keptPlacements(ctx, tx)
	if err != nil {
		return nil, 0, err
	}
	for i := len(tables) - 1; i >= 0; i-- {
		if _, err := tx.Exec(ctx, "DELETE FROM "+pgx.Identifier{tables[i]}.Sanitize()); err != nil {
			return nil, 0, fmt.Errorf("empty %s: %w", tables[i], err)
		}
	}
	schema, err := pgTableColumns(ctx, tx)
	if err != nil {
		return nil, 0, err
	}
	rows := map[string]int64{}
	for _, table := range tables {
		var edit rowEdit
		if table == "tenants" {
			edit = keepPlacement(kept)
		}
		n, err := copyTable(ctx, m.src.db, tx, table, schema, edit)
		if err != nil {
			return nil, 0, err
		}
		rows[table] = n
	}
	jobs, err := copyJobs(ctx, m.src.db, tx)
	if err != nil {
		return nil, 0, fmt.Errorf("job queue: %w", err)
	}
	return rows, jobs, tx.Commit(ctx)
}

func keptPlacements(ctx context.Context, tx pgx.Tx) (map[string]placement, error) {
	rows, err := tx.Query(ctx, `SELECT id, backend, server_ref, database_name, schema_version FROM tenants
		WHERE backend = 'postgres' OR server_ref IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	kept := map[string]placement{}
	for rows.Next() {
		var id string
		var p placement
		if err := rows.Scan(&id, &p.backend, &p.server, &p.database, &p.schemaVersion); err != nil {
			rows.Close()
			return nil, err
		}
		kept[id] = p
	}
	rows.Close()
	return kept, rows.Err()
}

// keepPlacement re-applies to a copied tenants row the server an earlier run
// chose for it and, once flipped, where its database now is.
func keepPlacement(kept map[string]placement) rowEdit {
	return func(cols []string, row []any) error {
		at := map[string]int{}
		for i, c := range cols {
			at[strings.ToLower(c)] = i
		}
		id, _ := row[at["id"]].(string)
		p, ok := kept[id]
		if !ok {
			return nil
		}
		row[at["server_ref"]] = p.server
		if p.backend == string(steeple.BackendPostgres) {
			row[at["backend"]], row[at["database_name"]], row[at["schema_version"]] = p.backend, p.database, p.schemaVersion
		}
		return nil
	}
}

// moveChurches moves every movable church not yet flipped,
// Parallel at a time, and reports every church of the source.
func (m *mover) moveChurches(ctx context.Context, srcTenants []*steeple.Tenant) ([]MovedChurch, error) {
	target, err := m.t.Registry.Tenants(ctx, TenantFilter{})
	if err != nil {
		return nil, err
	}
	byID := map[string]*steeple.Tenant{}
	for _, tn := range target {
		byID[tn.ID] = tn
	}
	if err := m.loadCounts(ctx); err != nil {
		return nil, err
	}
	out := make([]MovedChurch, len(srcTenants))
	var todo []int
	for i, tn := range srcTenants {
		out[i] = MovedChurch{TenantID: tn.ID, Name: tn.Name, Status: tn.Status}
		tt := byID[tn.ID]
		switch {
		case tt == nil:
			return nil, fmt.Errorf("church %s is missing from the target registry after the registry copy", tn.ID)
		case !movable(tn):
			out[i].Outcome, out[i].Error = MoveSkipped, "church is "+string(tn.Status)+": its registry row is copied, not its database"
		case tt.Backend == steeple.BackendPostgres:
			out[i].Outcome, out[i].Server, out[i].Database, out[i].SchemaVersion = MoveAlready, tt.Server, tt.DatabaseName, tt.SchemaVersion
		default:
			todo = append(todo, i)
		}
	}
	var progress sync.Mutex
	finished := 0
	report := func(c MovedChurch) {
		progress.Lock()
		defer progress.Unlock()
		finished++
		if m.o.Progress != nil {
			m.o.Progress(finished, len(todo), c)
		}
	}
	sem := make(chan struct{}, m.o.Parallel)
	var wg sync.WaitGroup
	for _, i := range todo {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = m.moveChurch(ctx, srcTenants[i], byID[srcTenants[i].ID])
			report(out[i])
		}()
	}
	wg.Wait()
	return out, nil
}

func (m *mover) loadCounts(ctx context.Context) error {
	servers, err := m.t.Registry.Servers(ctx)
	if err != nil {
		return err
	}
	m.counts = map[string]int{}
	for _, s := range servers {
		if s.State == "active" && contains(m.pg.refs(), s.Ref) {
			m.counts[s.Ref] = s.Tenants
		}
	}
	if len(m.counts) == 0 {
		return steeple.Errorf(steeple.EUNAVAILABLE, "no active database server to move churches to")
	}
	return nil
}

// place picks the active server with the fewest churches, counting those
// placed by this run.
func (m *mover) place() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	refs := make([]string, 0, len(m.counts))
	for r := range m.counts {
		refs = append(refs, r)
	}
	sort.Strings(refs)
	best := refs[0]
	for _, r := range refs[1:] {
		if m.counts[r] < m.counts[best] {
			best = r
		}
	}
	m.counts[best]++
	return best
}
