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
