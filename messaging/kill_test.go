package messaging_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/jobs"
)

// workerEnv carries the spec of a send-worker process.
const workerEnv = "STEEPLE_TEST_SEND_WORKER"

// TestMain lets the test binary run as a separate send-worker process (see
// TestBroadcastSurvivesKilledWorker).
func TestMain(m *testing.M) { testkit.ProcessMain(m, workerEnv, runWorker) }

// runWorker is a send worker on the test's registry until it is killed.
func runWorker(p testkit.ProcessSpec) int {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, err := testkit.StartProcessApp(context.Background(), p, log, func(t *app.Tuning) {
		t.Messaging.JobTimeout = 4 * time.Second
		// Jobs left running by a killed process are rescued after 5 s; a
		// chunk here takes well under a second, so no live job is rescued.
		t.Queue = jobs.Config{MaxWorkers: 8, Logger: log, PollInterval: 50 * time.Millisecond,
			RescueAfter: 5 * time.Second, JobTimeout: 4 * time.Second, NoPeriodicJobs: true}
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	select {} // until killed
}

// A 2,000-recipient broadcast whose worker process is killed (SIGKILL) mid
// way and started again: every recipient gets the text, and duplicates are
// at most one per job that was running at the kill (a text the provider
// accepted whose "sent" was never recorded).
func TestBroadcastSurvivesKilledWorker(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		t.Parallel()
		const total, workers = 2000, 8
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true, Tenancy: wallClock})
		c := s.Church(t, testkit.ChurchOptions{Name: "Killed Worker Chapel", Email: "owner@killed.example.org", Number: "+13125550800"})
		if a := importMembers(t, s, c, membersCSV("Kill", 6000, 6000+total)); a.Created != total {
			t.Fatalf("import: %+v", a)
		}
		id := c.API(s).Broadcast(t, map[string]any{"text": "Service cancelled: snow", "audience": map[string]any{"all": true}})
		start := func() *exec.Cmd { return testkit.StartProcess(t, workerEnv, s.ProcessSpec()) }
		first := start()
		testkit.WaitUntil(t, time.Minute, func() bool { return len(s.SentFrom(c.Number)) >= 600 },
			func() string { return "the first worker process never sent 600 texts" })
		if err := first.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = first.Wait()
		atKill := len(s.SentFrom(c.Number))
		if atKill >= total {
			t.Fatalf("the first worker sent all %d texts before it was killed; the test proves nothing", total)
		}
		start()
		wantAllSent(t, waitDone(t, s, c, id, 3*time.Minute), total)
		counts := map[string]int{}
		for _, m := range s.SentFrom(c.Number) {
			counts[m.To]++
		}
		dups := 0
		for _, n := range counts {
			dups += n - 1
		}
		if len(counts) != total {
			t.Fatalf("%d of %d members got the text", len(counts), total)
		}
		t.Logf("%s: killed after %d texts; %d duplicates", b.Name, atKill, dups)
		if dups > workers {
			t.Fatalf("%d duplicates after one kill; at most %d (one per running job) expected", dups, workers)
		}
	})
}
