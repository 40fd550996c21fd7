package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/members"
)

const numbersUsage = `Usage: steeple numbers SUBCOMMAND [flags]

  assign --tenant ID|SLUG --number +1…   give a number already in the provider account to a church
  list --tenant ID|SLUG                  the church's numbers

A number belongs to exactly one church. Churches buy numbers themselves through
the API (POST /api/v1/numbers); attaching a number already in the provider
account is an operator's act. Against Telnyx the number must be in the account
and active; it gets the church's messaging profile and, once the church's 10DLC
campaign is provisioned, joins it. On the built-in simulator (which runs inside
steeple serve) the number is only recorded for the church.
`

func runNumbers(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 || (args[0] != "assign" && args[0] != "list") {
		fmt.Fprint(errOut, numbersUsage)
		if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return exitStatus(2)
	}
	sub := args[0]
	fs, cfg, err := newFlags("numbers "+sub, errOut)
	if err != nil {
		return err
	}
	tenant := fs.String("tenant", "", "church id or slug (required)")
	number := fs.String("number", "", "phone number (assign)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, cfg, args[1:]); err != nil {
		return err
	}
	if *tenant == "" || (sub == "assign" && *number == "") {
		return usageError{"numbers " + sub + ": --tenant" + map[bool]string{true: " and --number are", false: " is"}[sub == "assign"] + " required"}
	}
	e, err := openReady(ctx, cfg, errOut)
	if err != nil {
		return err
	}
	defer e.close()
	t, err := e.ten.Registry.TenantByRef(ctx, *tenant)
	if err != nil {
		return fmt.Errorf("%s", describeErr(err))
	}
	if sub == "assign" {
		e164, err := steeple.NormalizePhone("number", *number, members.DefaultRegion)
		if err != nil {
			return usageError{"--number " + steeple.FieldMessage(err, "number")}
		}
		if err := assignNumber(ctx, e, t.ID, e164, errOut); err != nil {
			return fmt.Errorf("%s", describeErr(err))
		}
	}
	nums, err := e.ten.Registry.SendingNumbers(ctx, t.ID)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(out).Encode(map[string]any{"tenant_id": t.ID, "numbers": nums})
	}
	for _, n := range nums {
		fmt.Fprintln(out, n)
	}
	return nil
}

// assignNumber attaches a number to a church. Against Telnyx it is checked
// there and given the church's messaging profile (numbers.Attach). The
// built-in simulator lives inside `steeple serve`, out of this process's
// reach: the number is recorded in the registry only, and the church's
// registration is looked at by serve's next poll (to join its campaign).
func assignNumber(ctx context.Context, e *env, tenantID, e164 string, errOut io.Writer) error {
	if e.cfg.Simulated() {
		if err := e.ten.Registry.AssignNumber(ctx, tenantID, e164); err != nil {
			return err
		}
		fmt.Fprintln(errOut, "note: no Telnyx key, so the provider was not checked; the number is recorded for the church")
		return e.ten.Registry.SchedulePoll(ctx, tenantID, time.Now())
	}
	a, err := app.New(ctx, app.Options{Config: *e.cfg, Tenancy: e.ten, Logger: e.log, Metrics: e.metrics})
	if err != nil {
		return err
	}
	defer a.Close(ctx)
	return a.Numbers.Attach(ctx, tenantID, e164)
}
