package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/steeple-sms/steeple/config"
	"github.com/steeple-sms/steeple/httpapi"
	"github.com/steeple-sms/steeple/tenancy"
)

func runServe(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs, cfg, err := newFlags("serve", errOut)
	if err != nil {
		return err
	}
	if err := parse(fs, cfg, args); err != nil {
		return err
	}
	e, err := openReady(ctx, cfg, errOut)
	if err != nil {
		return err
	}
	defer e.close()
	e.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	svc, err := wire(ctx, e)
	if err != nil {
		return err
	}
	defer svc.stopSim()
	if err := svc.queue.Start(ctx); err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	notes := map[string]string{"telnyx": "live"}
	if svc.sim != nil {
		notes["telnyx"] = "simulator (no STEEPLE_TELNYX_API_KEY): texts are not delivered to phones"
	}

	ui, err := svc.queue.UI(httpapi.OpsPrefix, e.log.With("component", "queue-ui"))
	if err != nil {
		return fmt.Errorf("queue UI: %w", err)
	}
	if cfg.OpsPassword != "" {
		if err := ui.Start(ctx); err != nil {
			return fmt.Errorf("queue UI: %w", err)
		}
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("STEEPLE_ADDR %s: %w", cfg.Addr, err)
	}
	srv := httpapi.NewHTTPServer(httpapi.New(httpapi.Deps{Tenancy: e.ten, Auth: svc.accounts, Members: svc.members, Messaging: svc.messaging,
		Inbox: svc.inbox, Webhooks: svc.webhooks, Numbers: svc.numbers, Registration: svc.registration, Schedules: svc.schedules, Metrics: e.metrics, Logger: e.log, AcquireTimeout: cfg.AcquireTimeout, Notes: notes,
		Ops: ui, OpsUser: cfg.OpsUser, OpsPassword: cfg.OpsPassword}), httpLimits(cfg, e.metrics))
	e.log.Info("steeple is serving", "addr", "http://"+ln.Addr().String(), "backend", e.ten.Backend(),
		"registry", registryWhere(cfg), "tenant_conn_budget", cfg.DBMaxConns)
	hintFirstSteps(ctx, e)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	e.log.Info("shutting down: draining requests")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		e.log.Warn("requests still running at shutdown", "err", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	e.log.Info("shutting down: finishing running jobs")
	if err := svc.queue.Stop(sctx); err != nil {
		e.log.Warn("jobs still running at shutdown; the queue will retry them", "err", err)
	}
	e.log.Info("stopped")
	return nil
}

// hintFirstSteps tells a new operator what to do next.
func hintFirstSteps(ctx context.Context, e *env) {
	ts, err := e.ten.Registry.Tenants(ctx, tenancy.TenantFilter{})
	if err != nil || len(ts) > 0 {
		return
	}
	e.log.Info("no churches yet: create one with `steeple tenants create --name \"Grace Chapel\" --timezone America/Chicago`")
}

// httpLimits are the HTTP server's limits from configuration.
func httpLimits(cfg *config.Config, reg prometheus.Registerer) httpapi.Limits {
	return httpapi.Limits{ReadHeaderTimeout: cfg.HTTPReadHeaderTimeout, ReadTimeout: cfg.HTTPReadTimeout,
		WriteTimeout: cfg.HTTPWriteTimeout, IdleTimeout: cfg.HTTPIdleTimeout,
		MaxRequestsPerClient: cfg.HTTPMaxRequestsPerClient, MaxWebhooksPerClient: cfg.HTTPMaxWebhooksPerClient, Metrics: reg}
}
