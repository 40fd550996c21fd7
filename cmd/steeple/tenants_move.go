package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/steeple-sms/steeple/tenancy"
)

const tenantsMoveUsage = `Usage: steeple tenants move ID|SLUG --to SERVER [--json]
       steeple tenants move --resume [--json]

Copies a church's database to another PostgreSQL server (SERVER as shown by
` + "`steeple servers list`" + `), pausing its writes only for the final copy, switches
the church over and drops the old copy. Rerunning it (or --resume, for every
move left part-way) finishes a move that was interrupted.
`

// runTenantsMove is `steeple tenants move`.
func runTenantsMove(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs, cfg, err := newFlags("tenants move", errOut)
	if err != nil {
		return err
	}
	ownUsage := fs.Usage
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), tenantsMoveUsage+"\n")
		ownUsage()
	}
	asJSON := fs.Bool("json", false, "print JSON")
	to := fs.String("to", "", "the server to move the church to (host:port)")
	resume := fs.Bool("resume", false, "finish every move an earlier run left part-way")
	pos, err := parseInterspersed(fs, cfg, args)
	if err != nil {
		return err
	}
	switch {
	case *resume && (len(pos) != 0 || *to != ""):
		return usageError{"tenants move --resume takes no church and no --to"}
	case !*resume && len(pos) != 1:
		return usageError{"tenants move takes one church id or slug (and --to SERVER)"}
	}
	if !cfg.Postgres() {
		return usageError{"tenants move needs the PostgreSQL backend (STEEPLE_DATABASE_URL): on SQLite each church is a file in STEEPLE_DATA_DIR, so move the whole data directory instead"}
	}
	e, err := openReady(ctx, cfg, errOut)
	if err != nil {
		return err
	}
	defer e.close()
	if *resume {
		done, failed, err := e.ten.ResumeMoves(ctx)
		if err != nil {
			return err
		}
		for _, r := range done {
			printMove(out, errOut, *asJSON, r)
		}
		for _, err := range failed {
			fmt.Fprintf(errOut, "FAILED %s\n", describeErr(err))
		}
		if len(done) == 0 && len(failed) == 0 && !*asJSON {
			fmt.Fprintln(out, "no move under way")
		}
		if len(failed) > 0 {
			return exitStatus(1)
		}
		return nil
	}
	res, err := e.ten.Move(ctx, pos[0], *to)
	if err != nil {
		return fmt.Errorf("move church: %s", describeErr(err))
	}
	printMove(out, errOut, *asJSON, res)
	return nil
}

func printMove(out, errOut io.Writer, asJSON bool, r *tenancy.MoveResult) {
	if asJSON {
		_ = json.NewEncoder(out).Encode(r)
		return
	}
	resumed := ""
	if r.Resumed != "" {
		resumed = fmt.Sprintf(" (resumed at step %s)", r.Resumed)
	}
	fmt.Fprintf(out, "moved %s %q %s → %s%s: writes paused %.0f ms, %d rows in %d tables checked, old copy dropped\n",
		r.TenantID, r.Name, r.From, r.To, resumed, r.PauseMS, r.Rows, len(r.Tables))
	for _, c := range r.Tables {
		fmt.Fprintf(errOut, "  %-40s %d rows\n", c.Table, c.To)
	}
}
