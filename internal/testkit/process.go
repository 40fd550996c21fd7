package testkit

// Multi-process tests run the test binary again as a second Steeple over
// the test server's backend, to kill it or race it: the spec it is given,
// the TestMain that turns the binary into that process, and the Steeple it
// runs are here once rather than in each package with such tests.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/config"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/secret"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// ProcessSpec is what a child process needs to join a test server's
// backend: its registry and church servers, its keys and its simulator.
type ProcessSpec struct {
	DataDir, DatabaseURL, AppName, SimURL, SimKey string
	TenantServers                                 []string
	Keys                                          secret.File
	// Offset is how far the process's clock runs ahead of real time.
	Offset time.Duration
	// Test carries the test's own settings for the process (JSON).
	Test json.RawMessage
}

// ProcessSpec returns the spec of a child process over the server's
// backend, its connections named after the test (Backend.AppName).
func (s *Server) ProcessSpec() ProcessSpec {
	b := s.Backend
	return ProcessSpec{DataDir: b.DataDir(), DatabaseURL: b.RegistryURL(), TenantServers: b.Servers(), AppName: b.AppName,
		SimURL: s.SimURL, SimKey: s.Sim.PublicKeyBase64(), Keys: s.KeysFile}
}

// ProcessMain is TestMain for a package with multi-process tests: started
// by StartProcess (the environment variable env set), the binary runs run
// with its spec and exits with run's code; otherwise it runs the tests.
func ProcessMain(m *testing.M, env string, run func(ProcessSpec) int) {
	if v := os.Getenv(env); v != "" {
		var p ProcessSpec
		if err := json.Unmarshal([]byte(v), &p); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(run(p))
	}
	os.Exit(m.Run())
}

// StartProcess runs the test binary again as a child process (see
// ProcessMain) with p in the variable env. The child is killed when the
// test ends, if the test has not killed it before.
func StartProcess(t testing.TB, env string, p ProcessSpec) *exec.Cmd {
	t.Helper()
	spec, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env+"="+string(spec))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// StartProcessApp builds and starts, inside a child process, the Steeple
// it runs: tenancy over the spec's backend on its clock (real time plus
// Offset), the spec's keys, the simulator as the provider, fast sends,
// then tune. Its workers run until the process is killed.
func StartProcessApp(ctx context.Context, p ProcessSpec, log *slog.Logger, tune func(*app.Tuning)) (*app.App, error) {
	now := func() time.Time { return time.Now().Add(p.Offset) }
	ten, err := tenancy.Open(ctx, tenancy.Options{DataDir: p.DataDir, DatabaseURL: p.DatabaseURL, TenantServers: p.TenantServers,
		RegistryMaxConns: 5, AppName: p.AppName, TenantSchema: store.Schema(), Now: now,
		Manager: tenancy.ManagerConfig{MaxConns: 20, MaxPerTenant: 4, MaxPools: 20, IdleTimeout: time.Minute, AcquireTimeout: 10 * time.Second}})
	if err != nil {
		return nil, err
	}
	keys, err := secret.New(p.Keys)
	if err != nil {
		return nil, err
	}
	cfg := config.Default()
	cfg.TelnyxAPIKey, cfg.TelnyxBaseURL, cfg.TelnyxPublicKey = "test", p.SimURL+"/v2", p.SimKey
	a, err := app.New(ctx, app.Options{Config: cfg, Tenancy: ten, Keys: keys, PublicURL: "http://127.0.0.1:1", Logger: log,
		Tune: func(t *app.Tuning) {
			t.Now = now
			t.Messaging.PerNumberRate, t.Messaging.AccountRate, t.Messaging.UnregisteredDailyCap = 1000, 0, 0
			if tune != nil {
				tune(t)
			}
		}})
	if err != nil {
		return nil, err
	}
	return a, a.Start(ctx)
}
