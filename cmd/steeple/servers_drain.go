package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/steeple-sms/steeple/tenancy"
)

// drainAndMove is `steeple servers drain REF --move`: one line per church as
// it goes (text), or one JSON document at the end. Exit status 1 when any
// church could not be moved.
func drainAndMove(ctx context.Context, e *env, ref string, asJSON bool, out, errOut io.Writer) error {
	items, err := e.ten.Drain(ctx, ref, func(it tenancy.DrainItem) {
		if asJSON {
			return
		}
		switch {
		case it.Moved:
			fmt.Fprintf(out, "moved    %s %q → %s (writes paused %.0f ms, %d rows checked)\n", it.TenantID, it.Name, it.To, it.Result.PauseMS, it.Result.Rows)
		case it.Skipped != "":
			fmt.Fprintf(out, "skipped  %s %q: %s\n", it.TenantID, it.Name, it.Skipped)
		default:
			fmt.Fprintf(out, "FAILED   %s %q: %s\n", it.TenantID, it.Name, it.Error)
		}
	})
	if err != nil && items == nil {
		return fmt.Errorf("drain %s: %s", ref, describeErr(err))
	}
	moved, failed, skipped := 0, 0, 0
	for _, it := range items {
		switch {
		case it.Moved:
			moved++
		case it.Skipped != "":
			skipped++
		default:
			failed++
		}
	}
	if asJSON {
		if items == nil {
			items = []tenancy.DrainItem{}
		}
		_ = json.NewEncoder(out).Encode(map[string]any{"server": ref, "churches": items, "moved": moved, "failed": failed, "skipped": skipped})
	} else {
		fmt.Fprintf(out, "%s draining: %d moved, %d failed, %d skipped\n", ref, moved, failed, skipped)
	}
	if err != nil {
		return fmt.Errorf("drain %s interrupted: %s", ref, describeErr(err))
	}
	if failed > 0 {
		return exitStatus(1)
	}
	return nil
}
