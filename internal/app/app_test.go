package app_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/config"
	"github.com/steeple-sms/steeple/inbox"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/numbers"
	"github.com/steeple-sms/steeple/registration"
	"github.com/steeple-sms/steeple/schedule"
	"github.com/steeple-sms/steeple/secret"
	"github.com/steeple-sms/steeple/webhooks"
)

func keys(t *testing.T) *secret.Keys {
	t.Helper()
	k, err := secret.New(secret.Generate())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func build(t *testing.T, b *testkit.Backend, o app.Options) (*app.App, error) {
	t.Helper()
	o.Tenancy = b.Open(t, b.Options())
	o.Config = config.Default()
	o.Keys = keys(t)
	a, err := app.New(context.Background(), o)
	if err == nil {
		t.Cleanup(func() { _ = a.Close(context.Background()) })
	}
	return a, err
}

// Every service is complete with a zero configuration: New fills the
// defaults, and the whole of Steeple serves and runs its queue.
func TestNewWithZeroServiceConfigs(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		t.Parallel()
		a, err := build(t, b, app.Options{Tune: func(tu *app.Tuning) {
			tu.Messaging, tu.Schedule, tu.Inbox = messaging.Config{}, schedule.Config{}, inbox.Config{}
			tu.Webhooks, tu.Numbers, tu.Registration = webhooks.Config{}, numbers.Config{}, registration.Config{}
			tu.Queue = jobs.Config{NoPeriodicJobs: true}
		}})
		if err != nil {
			t.Fatal(err)
		}
		if a.Sim == nil {
			t.Fatal("no Telnyx key but no simulator")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Start(ctx); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(a.Handler)
		defer srv.Close()
		resp, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/healthz: %d", resp.StatusCode)
		}
		if err := a.Close(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// A bad setting is refused by New with the field named, before anything
// runs.
func TestNewRefusesInvalidSettings(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		t.Parallel()
		_, err := build(t, b, app.Options{Tune: func(tu *app.Tuning) { tu.Messaging.PerNumberRate = -1 }})
		var se *steeple.Error
		if !errors.As(err, &se) || se.Code != steeple.EINVALID || se.Fields["rates"] == "" {
			t.Fatalf("got %v; want EINVALID naming the rates", err)
		}
		_, err = build(t, b, app.Options{Tune: func(tu *app.Tuning) { tu.Queue.JobTimeout, tu.Queue.RescueAfter = time.Hour, time.Minute }})
		if err == nil {
			t.Fatal("a job timeout longer than the rescue time was accepted")
		}
	})
}

// The web app takes every path the API does not own.
func TestHandlerRoutesToWeb(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		t.Parallel()
		a, err := build(t, b, app.Options{Tune: func(tu *app.Tuning) { tu.Queue.NoPeriodicJobs = true }})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(a.Handler)
		defer srv.Close()
		for path, wantWeb := range map[string]bool{"/": true, "/login": true, "/healthz": false, "/readyz": false,
			"/metrics": false, "/api/v1/me": false, "/webhooks/telnyx": false, "/ops/queue": false} {
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// Only the web app answers in HTML.
			if got := strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html"); got != wantWeb {
				t.Errorf("GET %s went to web: %v; want %v (%d %s)", path, got, wantWeb, resp.StatusCode, body)
			}
		}
	})
}

// The operator's send-job timeout and rescue time reach the send worker
// and the queue; a short send timeout bounds every other job too, so no
// live job outlasts the rescue time.
func TestTuningFromConfigRescue(t *testing.T) {
	cfg := config.Default()
	cfg.SendJobTimeout, cfg.JobRescueAfter, cfg.SendRateAccount = 20*time.Second, 30*time.Second, 0
	tu := app.TuningFromConfig(cfg, "http://127.0.0.1:1")
	if tu.Messaging.JobTimeout != 20*time.Second || tu.Queue.RescueAfter != 30*time.Second || tu.Queue.JobTimeout != 20*time.Second ||
		tu.Messaging.AccountRate != 0 {
		t.Fatalf("messaging timeout %v, rescue %v, queue timeout %v, account rate %v",
			tu.Messaging.JobTimeout, tu.Queue.RescueAfter, tu.Queue.JobTimeout, tu.Messaging.AccountRate)
	}
	cfg.Workers = 40
	if tu := app.TuningFromConfig(cfg, "http://127.0.0.1:1"); tu.Telnyx.MaxConns < 40 {
		t.Fatalf("40 send workers share %d connections to the provider; want one each at least", tu.Telnyx.MaxConns)
	}
	def := app.TuningFromConfig(config.Default(), "http://127.0.0.1:1")
	if def.Messaging.JobTimeout != 10*time.Minute || def.Queue.RescueAfter != 11*time.Minute || def.Queue.JobTimeout != 0 {
		t.Fatalf("defaults: messaging timeout %v, rescue %v, queue timeout %v", def.Messaging.JobTimeout, def.Queue.RescueAfter, def.Queue.JobTimeout)
	}
}

// Unset, the event workers follow the registry New was given (the config
// here names none): 16 on SQLite, 4 on PostgreSQL.
func TestEventWorkersFollowTheRegistry(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		t.Parallel()
		got := -1
		if _, err := build(t, b, app.Options{Tune: func(tu *app.Tuning) { got = tu.Queue.EventWorkers }}); err != nil {
			t.Fatal(err)
		}
		want := 16
		if b.Name == "postgres" {
			want = 4
		}
		if got != want {
			t.Fatalf("%d event workers, want %d", got, want)
		}
	})
}
