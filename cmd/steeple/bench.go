package main

import (
	"context"
	"io"

	"github.com/steeple-sms/steeple/bench"
)

func runBench(ctx context.Context, args []string, out, errOut io.Writer) error {
	if code := bench.Main(ctx, args, out, errOut); code != 0 {
		return exitStatus(code)
	}
	return nil
}
