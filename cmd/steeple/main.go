// Command steeple is the Steeple binary: the server, and the operator's
// commands for migrations, tenants, database servers and benchmarks. It only
// wires packages together; the work happens in them.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, out, errOut io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the HTTP server (embedded SQLite by default)", runServe},
		{"migrate", "migrate the registry, then every church database", runMigrate},
		{"tenants", "create, list, show, suspend, resume, delete, restore, purge and clean up churches", runTenants},
		{"admins", "invite someone to become a church's owner or admin", runAdmins},
		{"fleet", "move the SQLite deployment to PostgreSQL (move-to-postgres)", runFleet},
		{"servers", "list PostgreSQL tenant servers; drain or activate one", runServers},
		{"numbers", "assign a phone number to a church; list a church's numbers", runNumbers},
		{"backup", "copy the whole deployment while it serves; `backup verify` checks a copy", runBackup},
		{"restore", "restore a backup onto an empty data directory or empty servers", runRestore},
		{"keys", "generate a keys file (encryption, blind index, token signing)", runKeys},
		{"sim", "run the Telnyx simulator standalone", runSim},
		{"bench", "run a benchmark scenario (see docs/benchmarks.md)", runBench},
		{"version", "print the build's version, commit and Go version (also --version)", runVersion},
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, "Steeple: texting for churches, a database per church.\n\nUsage: steeple COMMAND [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun `steeple COMMAND --help` for a command's flags. Every flag can also be set\nwith its STEEPLE_* environment variable (shown in each flag's help).\n")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command and returns the process exit code:
// 0 success, 1 failure, 2 bad usage.
func run(args []string, out, errOut io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(out)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = append([]string{"version"}, args[1:]...)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], out, errOut)
			return exitCode(err, errOut)
		}
	}
	fmt.Fprintf(errOut, "steeple: unknown command %q\n\n", args[0])
	usage(errOut)
	return 2
}
