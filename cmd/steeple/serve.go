package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/steeple-sms/steeple/config"
	"github.com/steeple-sms/steeple/httpapi"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/tenancy"
)

// runServe opens the listener, builds Steeple with app.New and serves
// until ctx ends.
func runServe(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs, cfg, err := newFlags("serve", errOut)
	if err != nil {
		return err
	}
	if err := parse(fs, cfg, args); err != nil {
		return err
	}
	log, metrics := newLogger(cfg, errOut), prometheus.NewRegistry()
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("STEEPLE_ADDR %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	a, err := app.New(ctx, app.Options{Config: *cfg, Logger: log, Metrics: metrics})
	if err != nil {
		return err
	}
	defer func() {
		log.Info("shutting down: finishing running jobs")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := a.Close(sctx); err != nil {
			log.Warn("jobs still running at shutdown; the queue will retry them", "err", err)
		}
		log.Info("stopped")
	}()
	if a.Sim != nil {
		log.Warn("NO TELNYX KEY: texts go to the built-in Telnyx simulator, not to phones", "simulator", a.SimURL,
			"hint", "set STEEPLE_TELNYX_API_KEY and STEEPLE_TELNYX_PUBLIC_KEY to send for real")
	}
	if err := a.Start(ctx); err != nil {
		return err
	}
	srv := httpapi.NewHTTPServer(a.Handler, httpLimits(cfg, metrics))
	log.Info("steeple is serving", "addr", "http://"+ln.Addr().String(), "backend", a.Tenancy.Backend(),
		"public_url", cfg.PublicURL, "registry", registryWhere(cfg), "tenant_conn_budget", cfg.DBMaxConns)
	hintFirstSteps(ctx, a)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	checked := make(chan struct{})
	go func() { defer close(checked); checkPublicURL(ctx, log, cfg.PublicURL, a.Instance) }()
	defer func() { <-checked }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("requests still running at shutdown", "err", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// hintFirstSteps tells a new operator what to do next.
func hintFirstSteps(ctx context.Context, a *app.App) {
	ts, err := a.Tenancy.Registry.Tenants(ctx, tenancy.TenantFilter{})
	if err != nil || len(ts) > 0 {
		return
	}
	a.Logger.Info("no churches yet: create one with `steeple tenants create --name \"Grace Chapel\" --timezone America/Chicago`")
}

// httpLimits are the HTTP server's timeouts and per-client bounds from cfg.
func httpLimits(cfg *config.Config, reg prometheus.Registerer) httpapi.Limits {
	return httpapi.Limits{ReadHeaderTimeout: cfg.HTTPReadHeaderTimeout, ReadTimeout: cfg.HTTPReadTimeout,
		WriteTimeout: cfg.HTTPWriteTimeout, IdleTimeout: cfg.HTTPIdleTimeout,
		MaxRequestsPerClient: cfg.HTTPMaxRequestsPerClient, MaxWebhooksPerClient: cfg.HTTPMaxWebhooksPerClient, Metrics: reg}
}
