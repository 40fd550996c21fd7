package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/steeple-sms/steeple/members"
)

const numbersUsage = `Usage: steeple numbers SUBCOMMAND [flags]

  assign --tenant ID|SLUG --number +1…   give a number already in the provider account to a church
  list --tenant ID|SLUG                  the church's numbers

A number belongs to exactly one church. Churches buy numbers themselves through
the API (a later feature); attaching an existing number is an operator's act.
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
		e164, msg := members.NormalizePhone(*number, members.DefaultRegion)
		if msg != "" {
			return usageError{"--number " + msg}
		}
		if err := e.ten.Registry.AssignNumber(ctx, t.ID, e164); err != nil {
			return fmt.Errorf("%s", describeErr(err))
		}
	}
	nums, err := e.ten.Registry.TenantNumbers(ctx, t.ID)
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
