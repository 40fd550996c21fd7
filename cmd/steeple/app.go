package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/config"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// usageError marks bad command-line usage (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitStatus lets a command choose its exit status without printing more.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func exitCode(err error, errOut io.Writer) int {
	var u usageError
	var s exitStatus
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &s):
		return int(s)
	case errors.As(err, &u):
		fmt.Fprintln(errOut, "steeple:", u.msg)
		return 2
	default:
		fmt.Fprintln(errOut, "steeple:", err)
		return 1
	}
}

// env is what most commands share: configuration, a logger and, once
// opened, the tenancy core.
type env struct {
	cfg     *config.Config
	log     *slog.Logger
	metrics *prometheus.Registry
	ten     *tenancy.Tenancy
}

// newFlags makes a command's flag set with every configuration flag on it.
// Its --help lists only the command's own flags (added after this call) and
// says where configuration comes from; `steeple serve --help` lists the
// configuration flags, which are serve's own.
func newFlags(name string, errOut io.Writer) (*flag.FlagSet, *config.Config, error) {
	fs := flag.NewFlagSet("steeple "+name, flag.ContinueOnError)
	fs.SetOutput(errOut)
	cfg, err := config.Load(fs, os.LookupEnv)
	if err != nil {
		return nil, nil, err
	}
	if name == "serve" {
		fs.Usage = func() {
			fmt.Fprint(fs.Output(), "Usage: steeple serve [flags]\n\nRuns the HTTP server. Every flag can also be set with the STEEPLE_* variable in its help.\n\n")
			fs.PrintDefaults()
		}
		return fs, cfg, nil
	}
	configFlags := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { configFlags[f.Name] = true })
	fs.Usage = func() { printOwnFlags(fs, name, configFlags) }
	return fs, cfg, nil
}

// printOwnFlags writes a command's usage with its own flags only.
func printOwnFlags(fs *flag.FlagSet, name string, skip map[string]bool) {
	w := fs.Output()
	own := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	own.SetOutput(w)
	fs.VisitAll(func(f *flag.Flag) {
		if !skip[f.Name] {
			own.Var(f.Value, f.Name, f.Usage)
		}
	})
	fmt.Fprintf(w, "Usage: steeple %s [flags]\n\n", name)
	n := 0
	own.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprint(w, "Flags:\n")
		own.PrintDefaults()
		fmt.Fprintln(w)
	}
	fmt.Fprint(w, "Configuration (data directory, database, keys, mail…) comes from the STEEPLE_*\n"+
		"environment variables, as for serve: `steeple serve --help` lists them. Each may\n"+
		"also be given to this command as a flag.\n")
}

// parse parses args and validates the configuration.
func parse(fs *flag.FlagSet, cfg *config.Config, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration: %w", err)
	}
	return nil
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	level, _ := cfg.SlogLevel()
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// open connects to the registry and the tenant servers.
func open(ctx context.Context, cfg *config.Config, errOut io.Writer) (*env, error) {
	e := &env{cfg: cfg, log: newLogger(cfg, errOut), metrics: prometheus.NewRegistry()}
	o := tenancy.OptionsFromConfig(cfg, store.Schema())
	o.Logger, o.Metrics = e.log, e.metrics
	ten, err := tenancy.Open(ctx, o)
	if err != nil {
		return nil, err
	}
	e.ten = ten
	return e, nil
}

// openReady opens the tenancy core and makes sure the registry is usable
// (see app.OpenTenancy).
func openReady(ctx context.Context, cfg *config.Config, errOut io.Writer) (*env, error) {
	e := &env{cfg: cfg, log: newLogger(cfg, errOut), metrics: prometheus.NewRegistry()}
	ten, err := app.OpenTenancy(ctx, cfg, e.log, e.metrics)
	if err != nil {
		return nil, err
	}
	e.ten = ten
	return e, nil
}

func registryWhere(cfg *config.Config) string { return app.RegistryWhere(cfg) }

func (e *env) close() {
	if e.ten != nil {
		e.ten.Close()
	}
}

// describeErr renders an error for a terminal: the safe message for Steeple
// errors, the full chain otherwise.
func describeErr(err error) string {
	var se *steeple.Error
	if errors.As(err, &se) && se.Code != steeple.EINTERNAL {
		return se.Message
	}
	return err.Error()
}
