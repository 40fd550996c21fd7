package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

func runSim(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("steeple sim", flag.ContinueOnError)
	fs.SetOutput(errOut)
	addr := fs.String("addr", "127.0.0.1:4010", "address to listen on")
	fs.Usage = func() { simUsage(fs) }
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err.Error()}
	}
	sim := telnyxsim.New(telnyxsim.Options{Logger: slog.New(slog.NewTextHandler(errOut, nil))})
	root, stop, err := sim.Start(*addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", *addr, err)
	}
	defer stop()
	fmt.Fprintf(out, "Telnyx simulator\n  base URL:   %s/v2   (STEEPLE_TELNYX_BASE_URL)\n  public key: %s   (STEEPLE_TELNYX_PUBLIC_KEY, also at %s/sim/public-key)\n",
		root, sim.PublicKeyBase64(), root)
	<-ctx.Done()
	return nil
}

// simUsage explains the simulator: its flags, where to point Steeple, and
// the control endpoints that script it.
func simUsage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprint(w, `Usage: steeple sim [--addr HOST:PORT]

Runs the Telnyx simulator on its own: the Telnyx API under /v2 (point
STEEPLE_TELNYX_BASE_URL at http://ADDR/v2, any STEEPLE_TELNYX_API_KEY) and
signed webhooks posted back to Steeple. `+"`steeple serve`"+` without a Telnyx key runs
one inside itself instead.

Flags:
`)
	fs.PrintDefaults()
	fmt.Fprint(w, "\nControl endpoints (JSON, no authentication; for local use):\n")
	for _, e := range telnyxsim.ControlEndpoints() {
		fmt.Fprintf(w, "  %-32s %s\n", e.Pattern, e.Summary)
	}
}
