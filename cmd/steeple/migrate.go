package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/steeple-sms/steeple/tenancy"
)

func runMigrate(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs, cfg, err := newFlags("migrate", errOut)
	if err != nil {
		return err
	}
	parallel := fs.Int("parallel", 4, "churches migrated at once (each holds one connection of the budget)")
	canary := fs.String("canary", "", "church id migrated alone first (default: the first that is behind)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parse(fs, cfg, args); err != nil {
		return err
	}
	if *parallel < 1 {
		return usageError{"--parallel must be at least 1"}
	}
	e, err := open(ctx, cfg, errOut)
	if err != nil {
		return err
	}
	defer e.close()
	rep, err := e.ten.MigrateFleet(ctx, tenancy.FleetOptions{Parallel: min(*parallel, cfg.DBMaxConns), Canary: *canary})
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
		printFleetReport(out, rep)
	}
	if !rep.OK() {
		return exitStatus(1)
	}
	return nil
}

func printFleetReport(w io.Writer, rep *tenancy.FleetReport) {
	fmt.Fprintf(w, "registry: schema version %d, job queue current\n", rep.RegistryVersion)
	for _, t := range rep.Tenants {
		canary := ""
		if t.Canary {
			canary = " (canary)"
		}
		switch t.Outcome {
		case tenancy.OutcomeFailed:
			fmt.Fprintf(w, "FAILED    %s  %q%s at version %d: %s\n", t.TenantID, t.Name, canary, t.To, t.Error)
		case tenancy.OutcomeSkipped:
			fmt.Fprintf(w, "skipped   %s  %q: %s\n", t.TenantID, t.Name, t.Error)
		default:
			fmt.Fprintf(w, "migrated  %s  %q%s %d → %d (%s)\n", t.TenantID, t.Name, canary, t.From, t.To, t.Took.Round(1e6))
		}
	}
	fmt.Fprintf(w, "churches: %d already current, %d migrated, %d failed, %d skipped (latest version %d, %s)\n",
		rep.Current, rep.Migrated, rep.Failed, rep.Skipped, rep.Latest, rep.Took.Round(1e6))
	if !rep.OK() {
		fmt.Fprintln(w, "some churches are not current: fix the cause and run `steeple migrate` again; it resumes where it stopped")
	}
}
