package messaging_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/config"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/secret"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// workerEnv carries what a worker process needs to join a test's backend.
const workerEnv = "STEEPLE_TEST_SEND_WORKER"

type workerSpec struct {
	DataDir, DatabaseURL, AppName, SimURL, SimKey string
	TenantServers                                 []string
	Keys                                          secret.File
}

// TestMain lets the test binary run as a separate send-worker process (see
// TestBroadcastSurvivesKilledWorker).
func TestMain(m *testing.M) {
	if spec := os.Getenv(workerEnv); spec != "" {
		os.Exit(runWorker(spec))
	}
	os.Exit(m.Run())
}

// runWorker is a send worker on the test's registry until it is killed.
func runWorker(spec string) int {
	var w workerSpec
	if err := json.Unmarshal([]byte(spec), &w); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	ten, err := tenancy.Open(ctx, tenancy.Options{DataDir: w.DataDir, DatabaseURL: w.DatabaseURL, TenantServers: w.TenantServers,
		RegistryMaxConns: 5, AppName: w.AppName, TenantSchema: store.Schema(),
		Manager: tenancy.ManagerConfig{MaxConns: 20, MaxPerTenant: 4, MaxPools: 20, IdleTimeout: time.Minute, AcquireTimeout: 10 * time.Second}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	keys, err := secret.New(w.Keys)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := config.Default()
	cfg.TelnyxAPIKey, cfg.TelnyxBaseURL, cfg.TelnyxPublicKey = "test", w.SimURL+"/v2", w.SimKey
	a, err := app.New(ctx, app.Options{Config: cfg, Tenancy: ten, Keys: keys, PublicURL: "http://127.0.0.1:1", Logger: log,
		Tune: func(t *app.Tuning) {
			t.Messaging.PerNumberRate, t.Messaging.AccountRate, t.Messaging.UnregisteredDailyCap = 1000, 0, 0
			t.Messaging.JobTimeout = 4 * time.Second
			// Jobs left running by a killed process are rescued after 5 s; a
			// chunk here takes well under a second, so no live job is rescued.
			t.Queue = jobs.Config{MaxWorkers: 8, Logger: log, PollInterval: 50 * time.Millisecond,
				RescueAfter: 5 * time.Second, JobTimeout: 4 * time.Second, NoPeriodicJobs: true}
		}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := a.Start(ctx); err != nil {
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
		spec, _ := json.Marshal(workerSpec{DataDir: b.DataDir(), DatabaseURL: b.RegistryURL(), TenantServers: b.Servers(),
			AppName: b.AppName, SimURL: s.SimURL, SimKey: s.Sim.PublicKeyBase64(), Keys: s.KeysFile})
		start := func() *exec.Cmd {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), workerEnv+"="+string(spec))
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			return cmd
		}
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
