package tenancy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steeple-sms/steeple"
)

// DefaultMoveDrainTimeout bounds the wait for handles acquired before a move's
// pause (a send in flight, a request) to be released. Past it the move is
// rolled back: the church serves from its old server as before.
const DefaultMoveDrainTimeout = 30 * time.Second

// MoveResult reports one finished move.
type MoveResult struct {
	TenantID string `json:"tenant_id"`
	Name     string `json:"name"`
	From     string `json:"from"`
	To       string `json:"to"`
	Database string `json:"database"`
	// Resumed names the step a previous, interrupted run had reached.
	Resumed ServerMoveStep `json:"resumed,omitempty"`
	// PauseMS is how long the church's writes were paused (in this run).
	PauseMS float64      `json:"pause_ms"`
	CopyMS  float64      `json:"copy_ms"`
	Rows    int64        `json:"rows"`
	Tables  []TableCount `json:"tables"`
}

// Move copies a church's database to server `to` and switches the church
// over, or finishes (or rolls back) a move an earlier run left part-way;
// `to` may then be empty. Its writes are paused only while the final copy
// is made and checked. Errors: EINVALID on SQLite or for an unknown server
// or a church already there, ENOTFOUND, ECONFLICT when the church is not
// active or suspended, or a move elsewhere is recorded.
func (tn *Tenancy) Move(ctx context.Context, ref, to string) (*MoveResult, error) {
	pg, ok := tn.be.(*postgresBackend)
	if !ok {
		return nil, steeple.Errorf(steeple.EINVALID,
			"moving a church between servers needs the PostgreSQL backend; on SQLite each church is a file in STEEPLE_DATA_DIR (move the whole data directory instead)")
	}
	t, err := tn.Registry.TenantByRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	m, err := tn.Registry.Move(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	res := &MoveResult{TenantID: t.ID, Name: t.Name, Database: t.DatabaseName}
	if m != nil {
		if to != "" && to != m.ToServer {
			return nil, steeple.Errorf(steeple.ECONFLICT, "church %s is being moved to %s; rerun with --to %s to finish that move", t.ID, m.ToServer, m.ToServer)
		}
		res.Resumed = m.Step
	} else {
		if m, err = tn.startMove(ctx, pg, t, to); err != nil {
			return nil, err
		}
	}
	res.From, res.To, res.Database = m.FromServer, m.ToServer, m.ToDatabase
	mv := &serverMover{tn: tn, pg: pg, m: m, res: res}
	if err := mv.run(ctx); err != nil {
		return res, err
	}
	return res, nil
}

// startMove checks that t can go to `to` and records the move.
func (tn *Tenancy) startMove(ctx context.Context, pg *postgresBackend, t *steeple.Tenant, to string) (*TenantMove, error) {
	if to == "" {
		return nil, steeple.Errorf(steeple.EINVALID, "name the server to move church %s to (--to HOST:PORT, see `steeple servers list`)", t.ID)
	}
	if _, ok := pg.servers[to]; !ok {
		return nil, steeple.Errorf(steeple.EINVALID, "server %q is not in STEEPLE_TENANT_SERVERS (see `steeple servers list`)", to)
	}
	if to == t.Server {
		return nil, steeple.Errorf(steeple.EINVALID, "church %s is already on %s", t.ID, to)
	}
	if t.Status != steeple.TenantActive && t.Status != steeple.TenantSuspended {
		return nil, steeple.Errorf(steeple.ECONFLICT, "church %s is %s; only an active or suspended church can be moved", t.ID, t.Status)
	}
	servers, err := tn.Registry.Servers(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range servers {
		if s.Ref == to && s.State != "active" {
			return nil, steeple.Errorf(steeple.EINVALID, "server %s is %s: it takes no churches (`steeple servers activate %s` first)", to, s.State, to)
		}
	}
	m := &TenantMove{TenantID: t.ID, FromServer: t.Server, FromDatabase: t.DatabaseName, ToServer: to,
		ToDatabase: pg.databaseName(t.ID), PriorStatus: t.Status, Step: MoveStarted}
	return m, tn.Registry.insertMove(ctx, m)
}

// serverMover runs one move's remaining steps.
type serverMover struct {
	tn    *Tenancy
	pg    *postgresBackend
	m     *TenantMove
	res   *MoveResult
	fence *pgx.Conn // holds the move lock on the old database while paused
	pause time.Time
}

func (mv *serverMover) run(ctx context.Context) error {
	defer mv.unfence()
	for mv.m.Step != "" {
		if err := mv.tn.beforeMoveStep(ctx, mv.m.Step); err != nil {
			return err // a simulated crash: no rollback, as if the process died
		}
		var err error
		switch mv.m.Step {
		case MoveStarted:
			err = mv.seed(ctx)
		case MoveSeeded:
			err = mv.pauseWrites(ctx)
		case MovePaused:
			err = mv.level(ctx)
		case MoveCopied:
			err = mv.switchOver(ctx)
		case MoveSwitched:
			err = mv.dropOld(ctx)
		default:
			return fmt.Errorf("move of church %s: unknown step %q", mv.m.TenantID, mv.m.Step)
		}
		if err != nil {
			if mv.m.Step == MoveSwitched {
				// Past the switch the church is on its new server: a rerun
				// only has the old copy to drop.
				return err
			}
			if rerr := mv.rollback(context.WithoutCancel(ctx)); rerr != nil {
				return annotate(err, fmt.Sprintf("; rolling back failed too (%v): rerun `steeple tenants move %s`", rerr, mv.m.TenantID))
			}
			return annotate(err, fmt.Sprintf(" (rolled back: the church stays on %s)", mv.m.FromServer))
		}
	}
	return nil
}

// pauseWrites marks the church moving: no new handle is given out from
// here on, by any process.
func (mv *serverMover) pauseWrites(ctx context.Context) error {
	mv.pause = time.Now()
	return mv.tn.Registry.pauseForMove(ctx, mv.m)
}

// seed copies the whole database to the new server while the church is
// still served; the pause later only brings what changed since.
func (mv *serverMover) seed(ctx context.Context) error {
	// A copy left by an interrupted run may be partial: start again.
	if err := mv.pg.dropDatabase(ctx, mv.m.ToServer, mv.m.ToDatabase); err != nil {
		return err
	}
	if err := mv.pg.createDatabase(ctx, mv.m.ToServer, mv.m.ToDatabase); err != nil {
		return err
	}
	start := time.Now()
	if err := mv.pg.copyDatabase(ctx, mv.m.FromServer, mv.m.FromDatabase, mv.m.ToServer, mv.m.ToDatabase); err != nil {
		return err
	}
	mv.res.CopyMS = msSince(start)
	return mv.tn.Registry.advanceMove(ctx, mv.m, MoveSeeded)
}

// level waits for the handles out before the pause, then brings the copy
// level with the old database and checks every table.
func (mv *serverMover) level(ctx context.Context) error {
	if mv.pause.IsZero() {
		mv.pause = time.Now() // resumed: the pause began in an earlier run
	}
	if err := mv.takeFence(ctx); err != nil {
		return err
	}
	if err := mv.verify(ctx); err != nil {
		return err
	}
	return mv.tn.Registry.advanceMove(ctx, mv.m, MoveCopied)
}

// verify brings the copy level (a no-op when it is) and records the
// table-by-table counts.
func (mv *serverMover) verify(ctx context.Context) error {
	counts, err := mv.pg.syncCopy(ctx, mv.m)
	mv.res.Tables, mv.res.Rows = counts, 0
	for _, c := range counts {
		mv.res.Rows += c.To
	}
	return err
}

// switchOver flips the church's placement and status in one registry
// transaction, which ends the pause.
func (mv *serverMover) switchOver(ctx context.Context) error {
	if mv.res.Tables == nil {
		// Resumed after the copy: the church stayed paused since, but
		// check the copy again before trusting it.
		if err := mv.takeFence(ctx); err != nil {
			return err
		}
		if err := mv.verify(ctx); err != nil {
			return err
		}
	}
	if err := mv.tn.Registry.switchMove(ctx, mv.m); err != nil {
		return err
	}
	if !mv.pause.IsZero() {
		mv.res.PauseMS = msSince(mv.pause)
	}
	mv.tn.Manager.Forget(mv.m.TenantID)
	return nil
}

// dropOld drops the old copy (FORCE ends any connection still open on
// it, such as another process's idle pool) and forgets the move.
func (mv *serverMover) dropOld(ctx context.Context) error {
	mv.unfence()
	if err := mv.pg.dropDatabase(ctx, mv.m.FromServer, mv.m.FromDatabase); err != nil {
		return err
	}
	if err := mv.tn.Registry.finishMove(ctx, mv.m.TenantID); err != nil {
		return err
	}
	mv.m.Step = ""
	return nil
}

// rollback undoes a move that failed before the switch: the church goes
// back to its status on its old server, the new copy is dropped.
func (mv *serverMover) rollback(ctx context.Context) error {
	mv.unfence()
	// Never served: the registry named the old database throughout. Dropped
	// first, so a failure here leaves the move recorded for a rerun.
	if err := mv.pg.dropDatabase(ctx, mv.m.ToServer, mv.m.ToDatabase); err != nil {
		return err
	}
	return mv.tn.Registry.abandonMove(ctx, mv.m)
}

// takeFence takes the move lock exclusively on the old database: it is
// granted once every handle given out before the pause is released.
func (mv *serverMover) takeFence(ctx context.Context) error {
	if mv.fence != nil {
		return nil
	}
	cfg, err := mv.pg.config(mv.m.FromServer, mv.m.FromDatabase)
	if err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("database server %s: %w", mv.m.FromServer, err)
	}
	wait := mv.tn.moveDrainTimeout
	if wait == 0 {
		wait = DefaultMoveDrainTimeout
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if _, err := conn.Exec(wctx, `SELECT pg_advisory_lock($1)`, moveLockKey); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		if wctx.Err() != nil && ctx.Err() == nil {
			return steeple.Errorf(steeple.EUNAVAILABLE, "church %s still had database handles in use after %s", mv.m.TenantID, wait)
		}
		return err
	}
	mv.fence = conn
	return nil
}

func (mv *serverMover) unfence() {
	if mv.fence != nil {
		mv.fence.Close(context.Background())
		mv.fence = nil
	}
}

func (tn *Tenancy) beforeMoveStep(ctx context.Context, step ServerMoveStep) error {
	if tn.moveHook == nil {
		return nil
	}
	return tn.moveHook(ctx, step)
}

func (b *postgresBackend) dropDatabase(ctx context.Context, ref, name string) error {
	return b.drop(ctx, &steeple.Tenant{Server: ref, DatabaseName: name})
}

func (b *postgresBackend) createDatabase(ctx context.Context, ref, name string) error {
	return b.create(ctx, &steeple.Tenant{Server: ref, DatabaseName: name})
}

// annotate adds a note to an error's message, keeping its code.
func annotate(err error, note string) error {
	var se *steeple.Error
	if errors.As(err, &se) && se.Code != steeple.EINTERNAL {
		return &steeple.Error{Code: se.Code, Message: se.Message + note, RetryAfter: se.RetryAfter, Err: err}
	}
	return fmt.Errorf("%w%s", err, note)
}

func msSince(t time.Time) float64 { return float64(time.Since(t)) / float64(time.Millisecond) }
