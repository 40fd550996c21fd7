package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/closing"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/tenancy"
)

// closeChurch is `tenants delete|restore|purge`: it builds the one wiring
// (the purge gives numbers back to the provider) and prints the church's
// deletion record.
func closeChurch(ctx context.Context, e *env, sub, ref string, now, asJSON bool, out, errOut io.Writer) error {
	t, err := e.ten.Registry.TenantByRef(ctx, ref)
	if err != nil {
		return fmt.Errorf("%s", describeErr(err))
	}
	if sub == "purge" && ref != t.ID {
		// Purging cannot be undone: the operator names the church exactly.
		return usageError{"tenants purge takes the church's id (see `steeple tenants show " + ref + "`), not its slug"}
	}
	a, err := app.New(ctx, app.Options{Config: *e.cfg, Tenancy: e.ten, Logger: e.log, Metrics: e.metrics})
	if err != nil {
		return err
	}
	defer a.Close(ctx)
	var c *tenancy.Closure
	switch sub {
	case "delete":
		c, err = a.Closing.Close(ctx, t.ID, closing.Operator, nil)
	case "restore":
		if _, err = a.Closing.Restore(ctx, t.ID); err == nil {
			c, err = e.ten.Registry.Closure(ctx, t.ID)
		}
	default:
		c, err = a.Closing.Purge(ctx, t.ID, now)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %s", sub, t.ID, describeErr(err))
	}
	if sub == "purge" && e.cfg.Simulated() {
		fmt.Fprintln(errOut, "note: no Telnyx key, so no number was released at a provider")
	}
	return printClosure(out, c, asJSON)
}

func printClosure(w io.Writer, c *tenancy.Closure, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(c)
	}
	fmt.Fprintf(w, "church %s is %s\n", c.TenantID, c.Status)
	switch c.Status {
	case steeple.TenantDeleting:
		if c.PurgeAt != nil {
			fmt.Fprintf(w, "its data will be purged after %s; `steeple tenants restore %s` undoes the delete until then\n",
				c.PurgeAt.Format(time.RFC3339), c.TenantID)
		}
	case steeple.TenantDeleted:
		if c.PurgedAt != nil {
			fmt.Fprintf(w, "purged at %s; the registry keeps only the id, who asked (%s) and when\n", c.PurgedAt.Format(time.RFC3339), c.RequestedBy)
		}
	}
	return nil
}
