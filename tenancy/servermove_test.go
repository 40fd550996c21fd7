package tenancy_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/tenancy"
)

// moveSetup opens a registry with two PostgreSQL servers and one church
// holding 300 settings rows; it returns the church and the other server.
func moveSetup(t *testing.T) (*testkit.Backend, *tenancy.Tenancy, *steeple.Tenant, string) {
	t.Helper()
	b := testkit.Postgres(t, true)
	ten := b.Open(t, b.Options())
	church := provisionMany(t, ten, "Moving", 1, 1)[0]
	h, err := ten.Manager.Acquire(context.Background(), church.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.ExecContext(context.Background(), `INSERT INTO settings (key, value, updated_at)
		SELECT 'k' || g, 'v' || g, CURRENT_TIMESTAMP FROM generate_series(1, 300) g`)
	h.Release()
	if err != nil {
		t.Fatal(err)
	}
	return b, ten, church, otherServer(t, ten, church.Server)
}

func otherServer(t *testing.T, ten *tenancy.Tenancy, ref string) string {
	servers, err := ten.Registry.Servers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		if s.Ref != ref {
			return s.Ref
		}
	}
	t.Fatalf("no server other than %s", ref)
	return ""
}

// databaseExists looks on the server at ref (host:port of one of b's servers).
func databaseExists(t *testing.T, b *testkit.Backend, ref, name string) bool {
	t.Helper()
	ctx := context.Background()
	for _, u := range b.Servers() {
		cfg, err := pgx.ParseConfig(u)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprintf("%s:%d", cfg.Host, cfg.Port) != ref {
			continue
		}
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var n int
		if err := conn.QueryRow(ctx, `SELECT COUNT(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	t.Fatalf("server %s is not one of the test's", ref)
	return false
}

// checkMoved asserts the church ended on `to` with its rows and status,
// the old database gone and no move recorded.
func checkMoved(t *testing.T, b *testkit.Backend, ten *tenancy.Tenancy, church *steeple.Tenant, to string) {
	t.Helper()
	ctx := context.Background()
	got, err := ten.Registry.Tenant(ctx, church.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Server != to || got.Status != church.Status {
		t.Fatalf("after the move: server %s status %s, want %s %s", got.Server, got.Status, to, church.Status)
	}
	if databaseExists(t, b, church.Server, church.DatabaseName) {
		t.Errorf("old database %s still on %s", church.DatabaseName, church.Server)
	}
	if m, err := ten.Registry.Move(ctx, church.ID); err != nil || m != nil {
		t.Errorf("move still recorded: %+v %v", m, err)
	}
	h, err := ten.Manager.AcquireToRecord(ctx, church.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	var port, n int
	if err := h.QueryRowContext(ctx, `SELECT inet_server_port(), (SELECT COUNT(*) FROM settings WHERE key LIKE 'k%')`).Scan(&port, &n); err != nil {
		t.Fatal(err)
	}
	if want := to[len(to)-4:]; fmt.Sprint(port) != want || n != 300 {
		t.Errorf("handle reached port %d with %d rows, want port %s with 300", port, n, want)
	}
}

func TestMoveChurchBetweenServers(t *testing.T) {
	b, ten, church, to := moveSetup(t)
	ctx := context.Background()
	readOwner(t, ten, church.ID) // leaves a pool open on the old database: it must not be reused
	var during []error
	tenancy.SetMoveHook(ten, func(ctx context.Context, step tenancy.ServerMoveStep) error {
		if step == tenancy.MoveSeeded { // written after the first copy: the pause must bring it
			h, err := ten.Manager.Acquire(ctx, church.ID)
			if err != nil {
				return err
			}
			defer h.Release()
			_, err = h.ExecContext(ctx, `UPDATE settings SET value = 'late' WHERE key = 'k2';
				INSERT INTO settings (key, value, updated_at) VALUES ('extra', 'x', CURRENT_TIMESTAMP), ('k300b', 'x', CURRENT_TIMESTAMP);
				DELETE FROM settings WHERE key = 'k300'`)
			return err
		}
		if step == tenancy.MoveCopied {
			_, err := ten.Manager.Acquire(ctx, church.ID)
			_, err2 := ten.Manager.AcquireToRecord(ctx, church.ID)
			during = append(during, err, err2)
		}
		return nil
	})
	res, err := ten.Move(ctx, church.Slug, to)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range during {
		if !errors.Is(err, tenancy.ErrMoving) || steeple.ErrorCode(err) != steeple.EUNAVAILABLE {
			t.Errorf("acquiring during the pause: %v, want unavailable (moving)", err)
		}
	}
	if res.From != church.Server || res.To != to || res.Rows < 300 || res.PauseMS <= 0 || len(res.Tables) == 0 {
		t.Errorf("result %+v", res)
	}
	t.Logf("pause %.0f ms, copy %.0f ms, %d rows", res.PauseMS, res.CopyMS, res.Rows)
	checkMoved(t, b, ten, church, to)
	if owner := readOwner(t, ten, church.ID); owner != church.ID {
		t.Errorf("owner %q", owner)
	}
	h, err := ten.Manager.Acquire(ctx, church.ID)
	if err != nil {
		t.Fatal(err)
	}
	var late, extra string
	err = h.QueryRowContext(ctx, `SELECT (SELECT value FROM settings WHERE key = 'k2'), (SELECT value FROM settings WHERE key = 'extra')`).Scan(&late, &extra)
	h.Release()
	if err != nil || late != "late" || extra != "x" {
		t.Errorf("writes made after the first copy: k2=%q extra=%q (%v)", late, extra, err)
	}
	// And back again, now that the first server is empty.
	tenancy.SetMoveHook(ten, nil)
	if _, err := ten.Move(ctx, church.ID, church.Server); err != nil {
		t.Fatal(err)
	}
	back := *church
	back.Server, back.DatabaseName = to, church.DatabaseName
	checkMoved(t, b, ten, &back, church.Server)
}

// A move stopped before each step (as by a crash) is finished by a rerun
// that names only the church.
func TestMoveResumesAfterACrashAtEachStep(t *testing.T) {
	for _, step := range []tenancy.ServerMoveStep{tenancy.MoveSeeded, tenancy.MovePaused, tenancy.MoveCopied, tenancy.MoveSwitched} {
		t.Run(string(step), func(t *testing.T) {
			b, ten, church, to := moveSetup(t)
			ctx := context.Background()
			crash := errors.New("simulated crash")
			tenancy.SetMoveHook(ten, func(_ context.Context, s tenancy.ServerMoveStep) error {
				if s == step {
					return crash
				}
				return nil
			})
			if _, err := ten.Move(ctx, church.ID, to); !errors.Is(err, crash) {
				t.Fatalf("move: %v, want the simulated crash", err)
			}
			m, err := ten.Registry.Move(ctx, church.ID)
			if err != nil || m == nil || m.Step != step {
				t.Fatalf("recorded move %+v %v, want step %s", m, err, step)
			}
			now, _ := ten.Registry.Tenant(ctx, church.ID)
			wantStatus := steeple.TenantMoving
			if step == tenancy.MoveSeeded || step == tenancy.MoveSwitched {
				wantStatus = steeple.TenantActive
			}
			if now.Status != wantStatus {
				t.Errorf("status after the crash: %s, want %s", now.Status, wantStatus)
			}
			if _, err := ten.Move(ctx, church.ID, otherServer(t, ten, to)); steeple.ErrorCode(err) != steeple.ECONFLICT {
				t.Errorf("rerun naming another server: %v, want conflict", err)
			}
			if step == tenancy.MoveSeeded {
				// Still serving after the first copy: a write made now must reach the new server.
				h, err := ten.Manager.Acquire(ctx, church.ID)
				if err != nil {
					t.Fatal(err)
				}
				_, err = h.ExecContext(ctx, `UPDATE settings SET value = 'after the crash' WHERE key = 'k7'`)
				h.Release()
				if err != nil {
					t.Fatal(err)
				}
			}
			tenancy.SetMoveHook(ten, nil)
			res, err := ten.Move(ctx, church.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			if res.Resumed != step {
				t.Errorf("resumed %q, want %q", res.Resumed, step)
			}
			checkMoved(t, b, ten, church, to)
			if step == tenancy.MoveSeeded {
				h, err := ten.Manager.Acquire(ctx, church.ID)
				if err != nil {
					t.Fatal(err)
				}
				var v string
				err = h.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'k7'`).Scan(&v)
				h.Release()
				if err != nil || v != "after the crash" {
					t.Errorf("write made between the crash and the rerun: %q %v", v, err)
				}
			}
		})
	}
}

// A handle held past the drain timeout makes the move give up: the church
// stays where it was, serving, and the partial copy is gone.
func TestMoveRollsBackWhenHandlesStayInUse(t *testing.T) {
	b, ten, church, to := moveSetup(t)
	ctx := context.Background()
	tenancy.SetMoveDrainTimeout(ten, 300*time.Millisecond)
	h, err := ten.Manager.Acquire(ctx, church.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ten.Move(ctx, church.ID, to)
	if steeple.ErrorCode(err) != steeple.EUNAVAILABLE {
		t.Fatalf("move with a handle held: %v, want unavailable", err)
	}
	if _, err := h.ExecContext(ctx, `UPDATE settings SET value = 'still' WHERE key = 'k1'`); err != nil {
		t.Errorf("the held handle no longer writes: %v", err)
	}
	h.Release()
	got, _ := ten.Registry.Tenant(ctx, church.ID)
	if got.Status != steeple.TenantActive || got.Server != church.Server {
		t.Errorf("after the rollback: %s on %s", got.Status, got.Server)
	}
	if m, _ := ten.Registry.Move(ctx, church.ID); m != nil {
		t.Errorf("move still recorded: %+v", m)
	}
	if databaseExists(t, b, to, church.DatabaseName) {
		t.Errorf("partial copy left on %s", to)
	}
	readOwner(t, ten, church.ID)
}

func TestMoveRefusals(t *testing.T) {
	_, ten, church, to := moveSetup(t)
	ctx := context.Background()
	for name, c := range map[string]struct {
		ref, to string
		code    string
	}{
		"same server":    {church.ID, church.Server, steeple.EINVALID},
		"unknown server": {church.ID, "db9:5432", steeple.EINVALID},
		"no server":      {church.ID, "", steeple.EINVALID},
		"unknown church": {"no-such-church", to, steeple.ENOTFOUND},
	} {
		if _, err := ten.Move(ctx, c.ref, c.to); steeple.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", name, err, c.code)
		}
	}
	if err := ten.Registry.SetServerState(ctx, to, "draining"); err != nil {
		t.Fatal(err)
	}
	if _, err := ten.Move(ctx, church.ID, to); steeple.ErrorCode(err) != steeple.EINVALID {
		t.Errorf("to a draining server: %v", err)
	}
}
