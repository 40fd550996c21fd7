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
	e, err := openReady(ctx, cfg, errOut)
	if err != nil {
		return err
	}
	defer e.close()
	e.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("STEEPLE_ADDR %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	a, err := app.New(ctx, app.Options{Config: *cfg, Tenancy: e.ten, Logger: e.log, Metrics: e.metrics})
	if err != nil {
		return err
	}
	defer func() {
		e.log.Info("shutting down: finishing running jobs")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := a.Close(sctx); err != nil {
			e.log.Warn("jobs still running at shutdown; the queue will retry them", "err", err)
		}
		e.log.Info("stopped")
	}()
	if err := a.Start(ctx); err != nil {
		return err
	}
	srv := &http.Server{Handler: a.Handler, ReadHeaderTimeout: 10 * time.Second}
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
