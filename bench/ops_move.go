package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// EnvPostgresURL2 names a second PostgreSQL server, the one churches are
// moved to by the move figures.
const EnvPostgresURL2 = "STEEPLE_BENCH_POSTGRES_URL_2"

// MoveOptions size the church opsMove moves.
type MoveOptions struct {
	Members    int // members of the church
	Recipients int // broadcast recipients in all (broadcasts to every member)
}

// DefaultMoveOptions is the church: 10,000 members, 100,000 recipients.
func DefaultMoveOptions() MoveOptions { return MoveOptions{Members: 10000, Recipients: 100000} }

// runMove is `steeple bench move`: the move figures on their own.
func runMove(ctx context.Context, r *runner, args []string) (err error) {
	fl := r.newFlags()
	o := DefaultMoveOptions()
	fl.IntVar(&o.Members, "members", o.Members, "members of the moved church")
	fl.IntVar(&o.Recipients, "recipients", o.Recipients, "broadcast recipients in all (whole broadcasts to every member)")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	if o.Members < 1 || o.Recipients < o.Members {
		return usageError{"--members ≥ 1 and --recipients ≥ --members"}
	}
	r.out.backend = string(steeple.BackendPostgres)
	e, err := newEnv(ctx, r, steeple.BackendPostgres)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := e.cleanup(); err == nil {
			err = cerr
		}
	}()
	return opsMove(ctx, r, e, o)
}

// opsMove prints the move figures of a church sized by o, moved between
// the run's server and STEEPLE_BENCH_POSTGRES_URL_2 (e must be a
// PostgreSQL environment; the `ops` scenario may call it as it is):
//
//   - move_write_pause_ms: how long the church's writes were paused, for
//     a church nobody wrote to since the first copy (only fingerprints);
//   - move_write_pause_busy_ms: the same when its recipients were being
//     updated until the pause (that table, 100,000 rows, and what
//     references it are copied again inside the pause);
//   - move_first_copy_seconds, move_total_seconds: the copy made while
//     serving, and the whole command.
//
// The church is moved to the second server and back, so the run's
// cleanup finds its database on the first.
func opsMove(ctx context.Context, r *runner, e *env, o MoveOptions) (err error) {
	second := os.Getenv(EnvPostgresURL2)
	if second == "" {
		return fmt.Errorf("the move figures need %s: a second PostgreSQL server (e.g. postgres://postgres@127.0.0.1:5433/postgres?sslmode=disable)", EnvPostgresURL2)
	}
	opts := e.options(4, tenancy.ManagerConfig{MaxConns: 8, MaxPerTenant: 4, MaxPools: 8, IdleTimeout: time.Minute, AcquireTimeout: 5 * time.Second},
		store.Schema())
	opts.TenantServers = []string{e.serverURL, second}
	ten, closeTen, err := e.open(ctx, opts)
	if err != nil {
		return err
	}
	defer closeTen()
	t, err := ten.Provisioner.Provision(ctx, tenancy.NewTenant{Name: "Moving Church", Timezone: "America/Chicago"})
	if err != nil {
		return err
	}
	// Whatever happens, its database must not be left on the second server.
	defer func() {
		if derr := dropOn(context.WithoutCancel(ctx), e, second, t.DatabaseName); derr != nil && err == nil {
			err = derr
		}
	}()
	if err := fillMoveChurch(ctx, r, ten, t.ID, o); err != nil {
		return err
	}
	home := t.Server
	var away string
	for _, s := range mustServers(ctx, ten) {
		if s != home {
			away = s
		}
	}
	extra := []kv{{"members", o.Members}, {"recipients", o.Recipients}}

	start := time.Now()
	res, err := ten.Move(ctx, t.ID, away)
	if err != nil {
		return fmt.Errorf("move to %s: %w", away, err)
	}
	total := time.Since(start)
	r.logf("move: %s → %s: paused %.0f ms, first copy %.1f s, %d rows, %.1f s in all", res.From, res.To, res.PauseMS, res.CopyMS/1000, res.Rows, total.Seconds())
	r.out.metric("move_write_pause_ms", res.PauseMS, "ms", append(extra, kv{"rows", res.Rows})...)
	r.out.metric("move_first_copy_seconds", res.CopyMS/1000, "s", extra...)
	r.out.metric("move_total_seconds", total.Seconds(), "s", extra...)

	// Back home, with a writer updating recipients until the pause stops it.
	stop := make(chan struct{})
	var writes atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		busyRecipients(ctx, ten, t.ID, stop, &writes)
	}()
	res, err = ten.Move(ctx, t.ID, home)
	close(stop)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("move back to %s: %w", home, err)
	}
	r.logf("move back: paused %.0f ms with %d recipient updates during the move", res.PauseMS, writes.Load())
	r.out.metric("move_write_pause_busy_ms", res.PauseMS, "ms", append(extra, kv{"writes_during_move", writes.Load()})...)
	return nil
}

// fillMoveChurch gives the church an admin, its members and whole
// broadcasts to them (as the web scenario writes them: the store's import
// and CreateBroadcast, outcomes set in a few statements).
func fillMoveChurch(ctx context.Context, r *runner, ten *tenancy.Tenancy, id string, o MoveOptions) error {
	st := store.New(mustKeys(), nil)
	h, err := ten.Manager.Acquire(ctx, id)
	if err != nil {
		return err
	}
	_, err = st.CreateAdmin(ctx, h, store.NewAdmin{Name: "Pastor", Email: "pastor@moving.example.org", PasswordHash: "x", Role: steeple.RoleOwner})
	h.Release()
	if err != nil {
		return err
	}
	if err := fillMembers(ctx, r, ten, st, id, o.Members); err != nil {
		return err
	}
	start := time.Now()
	for i := range o.Recipients / o.Members {
		if _, err := fillBroadcast(ctx, ten, st, id, time.Now().AddDate(0, 0, -7*i)); err != nil {
			return err
		}
	}
	r.logf("move: %d broadcasts of %d recipients written in %s", o.Recipients/o.Members, o.Members, time.Since(start).Round(time.Millisecond))
	return nil
}

// busyRecipients marks recipients read, one every 20 ms, until stop; the
// pause of the move refuses its handle (that is expected and not counted).
func busyRecipients(ctx context.Context, ten *tenancy.Tenancy, id string, stop <-chan struct{}, writes *atomic.Int64) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		h, err := ten.Manager.Acquire(ctx, id)
		if err != nil {
			continue
		}
		_, err = h.ExecContext(ctx, `UPDATE message_recipients SET error_detail = $1
			WHERE (message_id, member_id) = (SELECT message_id, member_id FROM message_recipients ORDER BY random() LIMIT 1)`,
			fmt.Sprintf("touched %d", writes.Load()))
		h.Release()
		if err == nil {
			writes.Add(1)
		}
	}
}

func mustServers(ctx context.Context, ten *tenancy.Tenancy) []string {
	servers, _ := ten.Registry.Servers(ctx)
	var out []string
	for _, s := range servers {
		out = append(out, s.Ref)
	}
	return out
}

// dropOn drops a database on another server than the run's.
func dropOn(ctx context.Context, e *env, server, name string) error {
	err := e.withConn(ctx, server, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		return err
	})
	if err != nil {
		return errors.New("dropping the moved church's database on the second server: " + err.Error())
	}
	return nil
}
