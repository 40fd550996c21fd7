package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"reflect"

	"github.com/steeple-sms/steeple/config"
	"github.com/steeple-sms/steeple/secret"
	"github.com/steeple-sms/steeple/tenancy"
)

const fleetUsage = `Usage: steeple fleet SUBCOMMAND [flags]

  move-to-postgres [--parallel N]   move the SQLite deployment in STEEPLE_DATA_DIR (registry,
                                    queued jobs, every church) to the PostgreSQL registry
                                    STEEPLE_DATABASE_URL and servers STEEPLE_TENANT_SERVERS;
                                    resumable: run it again after a failure

Stop every ` + "`steeple serve`" + ` of the SQLite deployment first. Takes --json for scripts.
`

func runFleet(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(out, fleetUsage)
		if len(args) == 0 {
			return exitStatus(2)
		}
		return nil
	}
	sub, args := args[0], args[1:]
	if sub != "move-to-postgres" {
		fmt.Fprint(errOut, fleetUsage)
		return usageError{fmt.Sprintf("unknown fleet subcommand %q", sub)}
	}
	fs, cfg, err := newFlags("fleet "+sub, errOut)
	if err != nil {
		return err
	}
	parallel := fs.Int("parallel", 4, "churches moved at once (each holds one connection of the budget, two while its database is created)")
	asJSON := fs.Bool("json", false, "print the report as JSON (progress still goes to stderr)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("fleet %s takes no arguments, got %q", sub, fs.Args())}
	}
	if *parallel < 1 {
		return usageError{"--parallel must be at least 1"}
	}
	if !cfg.Postgres() {
		return usageError{"set STEEPLE_DATABASE_URL (and STEEPLE_TENANT_SERVERS) to the PostgreSQL side, and STEEPLE_DATA_DIR to the SQLite deployment"}
	}
	keysPath, err := moveKeys(cfg)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration: %w", err)
	}
	e, err := open(ctx, cfg, errOut)
	if err != nil {
		return err
	}
	defer e.close()
	// Two connections per church at most (its own, and the server's
	// maintenance database while creating it): stay within the budget.
	par := max(1, min(*parallel, cfg.DBMaxConns/2))
	rep, err := e.ten.MoveFromSQLite(ctx, tenancy.MoveOptions{SourceDir: cfg.DataDir, Parallel: par,
		Progress: func(done, total int, c tenancy.MovedChurch) { printMovedChurch(errOut, done, total, c) }})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printMoveReport(out, rep, keysPath)
	}
	if !rep.OK() {
		return exitStatus(1)
	}
	return nil
}

// moveKeys makes sure the PostgreSQL side will read the SQLite side's
// encrypted data: STEEPLE_KEYS_FILE, when set, must hold the same keys as
// DATA_DIR/keys.json; unset, it is taken to be that file. The command never
// copies keys itself: where the file lives is the operator's decision.
func moveKeys(cfg *config.Config) (string, error) {
	own, err := filepath.Abs(filepath.Join(cfg.DataDir, "keys.json"))
	if err != nil {
		return "", err
	}
	want, _, err := secret.ReadFile(own)
	if err != nil {
		return "", fmt.Errorf("the SQLite deployment's keys file: %w", err)
	}
	if cfg.KeysFile == "" {
		cfg.KeysFile = own
		return own, nil
	}
	got, _, err := secret.ReadFile(cfg.KeysFile)
	if err != nil {
		return "", fmt.Errorf("STEEPLE_KEYS_FILE: %w", err)
	}
	if !reflect.DeepEqual(got, want) {
		return "", fmt.Errorf("STEEPLE_KEYS_FILE %s does not hold the same keys as %s: the churches' encrypted data could not be read on PostgreSQL; "+
			"point it at %s or at a copy of it", cfg.KeysFile, own, own)
	}
	return filepath.Abs(cfg.KeysFile)
}

func printMovedChurch(w io.Writer, done, total int, c tenancy.MovedChurch) {
	if c.Outcome == tenancy.MoveFailed {
		fmt.Fprintf(w, "[%d/%d] FAILED %s %q: %s\n", done, total, c.TenantID, c.Name, c.Error)
		return
	}
	fmt.Fprintf(w, "[%d/%d] moved %s %q → %s/%s (%d tables, %d rows, %s)\n", done, total, c.TenantID, c.Name,
		c.Server, c.Database, c.Tables, c.Rows, c.Took.Round(1e6))
}

func printMoveReport(w io.Writer, rep *tenancy.MoveReport, keysPath string) {
	if rep.RegistryCopied {
		var rows int64
		for _, n := range rep.RegistryRows {
			rows += n
		}
		fmt.Fprintf(w, "registry: %d tables, %d rows copied; job queue: %d unfinished jobs carried over\n", len(rep.RegistryRows), rows, rep.Jobs)
	} else {
		fmt.Fprintln(w, "registry: already copied by an earlier run (every church was moved); nothing copied again")
	}
	for _, c := range rep.Churches {
		switch c.Outcome {
		case tenancy.MoveFailed:
			fmt.Fprintf(w, "FAILED    %s  %q: %s\n", c.TenantID, c.Name, c.Error)
		case tenancy.MoveSkipped:
			fmt.Fprintf(w, "skipped   %s  %q: %s\n", c.TenantID, c.Name, c.Error)
		}
	}
	fmt.Fprintf(w, "churches: %d moved, %d already moved, %d failed, %d skipped (%s, %.1f churches/s)\n",
		rep.Moved, rep.AlreadyMoved, rep.Failed, rep.Skipped, rep.Took.Round(1e6), rep.ChurchesPerSecond)
	if !rep.OK() {
		fmt.Fprintln(w, "some churches were not moved: fix the cause and run `steeple fleet move-to-postgres` again; it resumes where it stopped")
		return
	}
	fmt.Fprintf(w, "done. The SQLite files in %s were only read: keep them as the rollback until you are satisfied.\n", rep.Source)
	fmt.Fprintf(w, "Serve from PostgreSQL with the same STEEPLE_DATABASE_URL and STEEPLE_TENANT_SERVERS, and\n  STEEPLE_KEYS_FILE=%s\n"+
		"(or a copy of that file: every process needs the same keys), then run `steeple migrate` once and `steeple serve`.\n", keysPath)
}
