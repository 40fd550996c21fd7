package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

const serversUsage = `Usage: steeple servers SUBCOMMAND [flags]

  list             PostgreSQL tenant servers, their state and number of churches
  drain REF        place no new churches on this server (existing ones stay)
  drain REF --move ... and move every church on it to the other servers
  activate REF     place new churches on this server again

REF is host:port as shown by list. Servers come from STEEPLE_TENANT_SERVERS.
`

func runServers(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(out, serversUsage)
		if len(args) == 0 {
			return exitStatus(2)
		}
		return nil
	}
	sub, args := args[0], args[1:]
	if sub != "list" && sub != "drain" && sub != "activate" {
		fmt.Fprint(errOut, serversUsage)
		return usageError{fmt.Sprintf("unknown servers subcommand %q", sub)}
	}
	fs, cfg, err := newFlags("servers "+sub, errOut)
	if err != nil {
		return err
	}
	asJSON := fs.Bool("json", false, "print JSON")
	move := new(bool)
	if sub == "drain" {
		move = fs.Bool("move", false, "also move every church off the server, each to the active server with the fewest churches")
	}
	pos, err := parseInterspersed(fs, cfg, args)
	if err != nil {
		return err
	}
	if (sub == "list") != (len(pos) == 0) || len(pos) > 1 {
		return usageError{fmt.Sprintf("servers %s: wrong arguments %q", sub, pos)}
	}
	if !cfg.Postgres() {
		return usageError{"database servers apply to the PostgreSQL backend only (set STEEPLE_DATABASE_URL)"}
	}
	e, err := openReady(ctx, cfg, errOut)
	if err != nil {
		return err
	}
	defer e.close()
	if *move {
		return drainAndMove(ctx, e, pos[0], *asJSON, out, errOut)
	}
	if sub != "list" {
		state := map[string]string{"drain": "draining", "activate": "active"}[sub]
		if err := e.ten.Registry.SetServerState(ctx, pos[0], state); err != nil {
			return fmt.Errorf("%s", describeErr(err))
		}
	}
	servers, err := e.ten.Registry.Servers(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(out).Encode(servers)
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tSTATE\tCHURCHES")
	for _, s := range servers {
		fmt.Fprintf(tw, "%s\t%s\t%d\n", s.Ref, s.State, s.Tenants)
	}
	return tw.Flush()
}
