package schedule_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/tenancy"
)

// processEnv carries the spec of a scheduler process.
const processEnv = "STEEPLE_TEST_SCHEDULER_PROCESS"

// processSpec is a scheduler process: what `steeple serve` runs for
// schedules (the messaging and schedule workers on River, the leader's
// periodic tick), plus, if TickEvery is set, a tick of its own in a loop,
// so that two processes tick at the same time.
type processSpec struct {
	// Offset is how far the process's clock is ahead of real time.
	Offset time.Duration
	// AppName names its PostgreSQL connections ("": the test's).
	AppName                 string
	RescueAfter, JobTimeout time.Duration
	TickEvery               time.Duration
	MaxWorkers              int
	// StatsFile receives "calls queued" of the tick loop as it goes.
	StatsFile string
}

// TestMain lets the test binary run as a scheduler process.
func TestMain(m *testing.M) { testkit.ProcessMain(m, processEnv, runProcess) }

func runProcess(ps testkit.ProcessSpec) int {
	var p processSpec
	if err := json.Unmarshal(ps.Test, &p); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	a, err := testkit.StartProcessApp(ctx, ps, log, func(t *app.Tuning) {
		t.Messaging.RetryBackoff = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}
		t.Schedule.TickEvery = 200 * time.Millisecond
		t.Queue = jobs.Config{MaxWorkers: p.MaxWorkers, Logger: log, PollInterval: 50 * time.Millisecond,
			RescueAfter: p.RescueAfter, JobTimeout: p.JobTimeout}
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	sched := a.Schedules
	if p.TickEvery > 0 {
		calls, seen := 0, 0
		for {
			n, err := sched.Tick(ctx)
			calls++
			seen += n
			if err != nil {
				fmt.Fprintln(os.Stderr, "tick:", err)
			}
			if p.StatsFile != "" && os.WriteFile(p.StatsFile+".tmp", []byte(fmt.Sprintf("%d %d", calls, seen)), 0o600) == nil {
				_ = os.Rename(p.StatsFile+".tmp", p.StatsFile)
			}
			time.Sleep(p.TickEvery)
		}
	}
	select {} // until killed
}

// startProcess runs a scheduler process over the test's backend until it
// is killed (at the latest when the test ends).
func startProcess(t *testing.T, s *testkit.Server, p processSpec) *exec.Cmd {
	t.Helper()
	if p.MaxWorkers == 0 {
		p.MaxWorkers = 8
	}
	if p.RescueAfter == 0 {
		p.RescueAfter, p.JobTimeout = 5*time.Second, 4*time.Second
	}
	ps := s.ProcessSpec()
	ps.Offset = p.Offset
	if p.AppName != "" {
		ps.AppName = p.AppName
	}
	var err error
	if ps.Test, err = json.Marshal(p); err != nil {
		t.Fatal(err)
	}
	return testkit.StartProcess(t, processEnv, ps)
}

// scheduleMany gives each of n members in each of churches churches a
// scheduled broadcast of its own, all due at at, and returns the phones.
func scheduleMany(t *testing.T, s *testkit.Server, churches, n int, text string, at time.Time) ([]*testkit.Church, []string) {
	t.Helper()
	var cs []*testkit.Church
	var phones []string
	for k := range churches {
		c := s.Church(t, testkit.ChurchOptions{Name: fmt.Sprintf("Church %d", k), Email: fmt.Sprintf("owner%d@example.org", k), Number: fmt.Sprintf("+131255530%02d", k), QuietHoursOff: true})
		ids, ps := s.AddMembers(t, c.ID, n, func(i int) string { return phoneOf(20+k, i) })
		for _, id := range ids {
			scheduleAt(t, s, c, text, []string{id}, at)
		}
		cs, phones = append(cs, c), append(phones, ps...)
	}
	return cs, phones
}

// scalar runs a one-number query on the registry.
func scalar(t *testing.T, s *testkit.Server, q string, args ...any) int {
	t.Helper()
	var n int
	if err := s.Tenancy.Registry.DB().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// wantAllFired checks every church's schedules are done, each with one
// run and one broadcast, with nothing left due or to dispatch.
func wantAllFired(t *testing.T, s *testkit.Server, cs []*testkit.Church, perChurch int) {
	t.Helper()
	for _, c := range cs {
		s.WithHandle(t, c.ID, func(h *tenancy.Handle) {
			var notDone, runs, msgs int
			ctx := context.Background()
			_ = h.QueryRowContext(ctx, `SELECT count(*) FROM schedules WHERE status <> 'done'`).Scan(&notDone)
			_ = h.QueryRowContext(ctx, `SELECT count(*) FROM schedule_runs`).Scan(&runs)
			_ = h.QueryRowContext(ctx, `SELECT count(*) FROM messages`).Scan(&msgs)
			if notDone != 0 || runs != perChurch || msgs != perChurch {
				t.Fatalf("church %s: %d schedules not done, %d runs, %d broadcasts; want 0, %d, %d", c.ID, notDone, runs, msgs, perChurch, perChurch)
			}
		})
		if n := dueRows(t, s, c.ID); n != 0 {
			t.Fatalf("church %s: %d due rows left", c.ID, n)
		}
	}
	ins, err := s.Tenancy.Registry.StaleDispatchIntents(context.Background(), -time.Hour, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range ins {
		if in.Kind == tenancy.IntentBroadcast {
			t.Errorf("a broadcast dispatch intent is left behind: %+v", in)
		}
	}
}

// Two scheduler processes on one registry, both ticking all the time (and
// one of them, River's leader, also on its periodic tick): 100 schedules
// due, each sent exactly once by the simulator's count.
func TestTwoProcessesFireOnce(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		t.Parallel()
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		const text = "Harvest supper on Saturday"
		due := s.Clock.Now().Add(time.Minute)
		cs, phones := scheduleMany(t, s, 2, 50, text, due)
		dir := t.TempDir()
		// Both processes start before the schedules are due (their clocks
		// agree), so their ticks meet them at the same moment.
		offset := due.Add(-6 * time.Second).Sub(time.Now())
		for i := range 2 {
			startProcess(t, s, processSpec{Offset: offset, TickEvery: 5 * time.Millisecond,
				StatsFile: filepath.Join(dir, fmt.Sprintf("p%d", i))})
		}
		waitEach(t, s, phones, text, 60*time.Second)
		time.Sleep(500 * time.Millisecond) // more ticks, from both
		s.SettleQueue(t)
		wantOnceEach(t, s, phones, text)
		wantAllFired(t, s, cs, 50)
		if n := scalar(t, s, `SELECT count(*) FROM river_job WHERE kind = 'schedule_fire'`); n != len(phones) {
			t.Fatalf("%d fire jobs for %d occurrences", n, len(phones))
		}
		var stats []string
		seenAll := 0
		for i := range 2 {
			raw, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("p%d", i)))
			var calls, seen int
			_, _ = fmt.Sscanf(string(raw), "%d %d", &calls, &seen)
			if calls < 10 {
				t.Fatalf("process %d ticked %d times: the test proves nothing", i, calls)
			}
			stats = append(stats, fmt.Sprintf("process %d: %d ticks queued %d", i, calls, seen))
			seenAll += seen
		}
		who := `SELECT count(DISTINCT attempted_by[1]) FROM river_job WHERE kind = 'schedule_fire'`
		if !b.Postgres() {
			who = `SELECT count(DISTINCT json_extract(attempted_by, '$[0]')) FROM river_job WHERE kind = 'schedule_fire'`
		}
		fired := scalar(t, s, who)
		t.Logf("%s: %s; fire jobs run by %d processes", b.Name, strings.Join(stats, "; "), fired)
		if fired != 2 {
			t.Errorf("fire jobs were run by %d processes; want both", fired)
		}
		// (The leader's periodic tick may have queued some too.)
		if seenAll > len(phones) {
			t.Errorf("the two processes' ticks queued %d occurrences between them; %d were due", seenAll, len(phones))
		}
	})
}

// A scheduler process killed (SIGKILL) in the middle of firing changes
// nothing: after another process takes over, every occurrence has been
// sent once, with one broadcast and one run each.
//
// On PostgreSQL the kill comes while fires are inside their work: the test
// holds a lock on schedule_runs in every church, so each fire makes and
// dispatches its broadcast and then waits to record the run; the process is
// killed there (its connections end with it), and River's rescuer hands the
// stuck jobs to the next process. SQLite cannot hold one table, so there
// recording the run fails (as a crash right after the broadcast would) until
// the process has been killed.
func TestKilledMidFireFiresOnce(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		t.Parallel()
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		ctx := context.Background()
		// As many workers as a process may hold connections to one church
		// (MaxPerTenant), so that every one of them gets inside a fire.
		const text, workers, perChurch = "Snow day: services cancelled", 4, 20
		due := s.Clock.Now().Add(time.Minute)
		cs, phones := scheduleMany(t, s, 2, perChurch, text, due)
		spec := processSpec{Offset: due.Add(time.Minute).Sub(time.Now()), TickEvery: 20 * time.Millisecond, MaxWorkers: workers,
			AppName: b.AppName + "-doomed", RescueAfter: 3 * time.Minute, JobTimeout: 2 * time.Minute}

		var release func()
		if b.Postgres() {
			release = lockRuns(t, s, cs)
		} else {
			var undo []func()
			for _, c := range cs {
				undo = append(undo, blockRuns(t, s, b, c.ID))
			}
			release = func() {
				for _, u := range undo {
					u()
				}
			}
		}
		doomed := startProcess(t, s, spec)
		if b.Postgres() {
			// Every worker inside a fire, past its broadcast, waiting to record
			// it (some of those broadcasts may have gone out meanwhile, on a
			// worker free for a moment).
			var running, chunks int
			testkit.WaitUntil(t, 60*time.Second, func() bool {
				running = scalar(t, s, `SELECT count(*) FROM river_job WHERE kind = 'schedule_fire' AND state = 'running'`)
				chunks = scalar(t, s, `SELECT count(*) FROM river_job WHERE kind = 'send_chunk'`)
				return running == workers && chunks >= workers
			}, func() string {
				return fmt.Sprintf("the fires never got stuck recording their runs: %d running, %d chunks", running, chunks)
			})
			time.Sleep(200 * time.Millisecond)
			if n := scalar(t, s, `SELECT count(*) FROM river_job WHERE kind = 'schedule_fire' AND state = 'completed'`); n != 0 {
				t.Fatalf("%d fires completed with their runs locked", n)
			}
		} else {
			// Every fire has made its broadcast and failed to record it; the
			// texts are out.
			testkit.WaitUntil(t, 60*time.Second, func() bool {
				return scalar(t, s, `SELECT count(*) FROM river_job WHERE kind = 'schedule_fire' AND errors IS NOT NULL AND errors <> '[]'`) == len(phones)
			}, "the fires never all failed once")
			waitEach(t, s, phones, text, 30*time.Second)
			for _, c := range cs {
				testkit.WaitUntil(t, 30*time.Second, func() bool {
					var n int
					s.WithHandle(t, c.ID, func(h *tenancy.Handle) {
						_ = h.QueryRowContext(ctx, `SELECT count(*) FROM message_recipients WHERE status IN ('queued', 'sending')`).Scan(&n)
					})
					return n == 0
				}, "the broadcasts were not all sent before the kill")
			}
			// And River knows: no send job is left for the next process to
			// rescue (this test is about fires).
			testkit.WaitUntil(t, 30*time.Second, func() bool {
				return scalar(t, s, `SELECT count(*) FROM river_job WHERE kind = 'send_chunk' AND state <> 'completed'`) == 0
			}, "send jobs not completed before the kill")
		}
		if err := doomed.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = doomed.Wait()
		if b.Postgres() {
			// The dead process's statements die with its connections.
			testkit.QueryServer(t, b.Servers()[0], func(ctx context.Context, c *pgx.Conn) error {
				_, err := c.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, spec.AppName)
				return err
			})
			testkit.WaitUntil(t, 10*time.Second, func() bool {
				n := 0
				testkit.QueryServer(t, b.Servers()[0], func(ctx context.Context, c *pgx.Conn) error {
					return c.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, spec.AppName).Scan(&n)
				})
				return n == 0
			}, "the killed process's connections are still there")
		}
		atKill := len(s.Sim.Messages())
		release()

		startProcess(t, s, processSpec{Offset: due.Add(2 * time.Minute).Sub(time.Now()), TickEvery: 20 * time.Millisecond})
		waitEach(t, s, phones, text, 90*time.Second)
		testkit.WaitUntil(t, 90*time.Second, func() bool {
			return scalar(t, s, `SELECT count(*) FROM river_job WHERE kind = 'schedule_fire' AND state <> 'completed'`) == 0
		}, "fire jobs left unfinished")
		s.SettleQueue(t)
		wantOnceEach(t, s, phones, text)
		wantAllFired(t, s, cs, perChurch)
		again := scalar(t, s, `SELECT count(*) FROM river_job WHERE kind = 'schedule_fire' AND attempt > 1`)
		t.Logf("%s: %d texts out at the kill; %d fires ran again after it", b.Name, atKill, again)
		if b.Postgres() && again < workers {
			t.Fatalf("only %d fires ran again; the %d killed mid-fire should have", again, workers)
		}
		if again == 0 {
			t.Fatal("no fire ran again: the test proves nothing")
		}
	})
}

// lockRuns holds an exclusive lock on schedule_runs in every church's
// PostgreSQL database until the returned function is called.
func lockRuns(t *testing.T, s *testkit.Server, cs []*testkit.Church) func() {
	t.Helper()
	stop := make(chan struct{})
	done := make(chan error, len(cs))
	for _, c := range cs {
		h, err := s.Tenancy.Manager.Acquire(context.Background(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		locked := make(chan error, 1)
		go func() {
			defer h.Release()
			err := h.InTx(context.Background(), func(tx *sql.Tx) error {
				_, err := tx.Exec(`LOCK TABLE schedule_runs IN ACCESS EXCLUSIVE MODE`)
				locked <- err
				if err != nil {
					return err
				}
				<-stop
				return errRollback
			})
			if errors.Is(err, errRollback) {
				err = nil
			}
			done <- err
		}()
		if err := <-locked; err != nil {
			t.Fatal(err)
		}
	}
	var once atomic.Bool
	release := func() {
		if !once.CompareAndSwap(false, true) {
			return
		}
		close(stop)
		for range cs {
			if err := <-done; err != nil {
				t.Errorf("lock: %v", err)
			}
		}
	}
	t.Cleanup(release)
	return release
}

var errRollback = errors.New("test: roll back")
