package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

const tenantsUsage = `Usage: steeple tenants SUBCOMMAND [flags]

  create --name NAME --timezone ZONE [--admin-email ADDRESS]
                                       provision a church (completes one stuck in provisioning);
                                       --admin-email invites its owner
  list [--status S]                    list churches
  show ID|SLUG                         one church: admins, numbers, registration, members,
                                       usage this month, database size and placement
  suspend ID|SLUG                      stop serving a church (its data is kept)
  resume ID|SLUG                       serve a suspended church again
  approve ID|SLUG                      approve a church that signed up under STEEPLE_SIGNUP=approval
  cleanup [--older-than 1h]            remove churches stuck in provisioning
  move ID|SLUG --to SERVER             move a church's database to another PostgreSQL server
  delete ID|SLUG                       close a church: refused at once, purged after
                                       STEEPLE_DELETE_GRACE (restorable until then)
  restore ID|SLUG                      undo a delete during the grace period
  purge ID [--now]                     destroy a deleted church's data (--now: before its
                                       grace is over); leaves only an audit record
  export ID|SLUG --out FILE            the church's data as a portable archive (.zip)
  import FILE [--name NAME]            restore an archive as a new church (no numbers)

Each takes --json for scripts, and the configuration flags (see --help of each).
`

func runTenants(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(out, tenantsUsage)
		if len(args) == 0 {
			return exitStatus(2)
		}
		return nil
	}
	sub, args := args[0], args[1:]
	if sub == "move" {
		return runTenantsMove(ctx, args, out, errOut)
	}
	if sub == "export" || sub == "import" {
		return runTenantsPort(ctx, sub, args, out, errOut)
	}
	fs, cfg, err := newFlags("tenants "+sub, errOut)
	if err != nil {
		return err
	}
	asJSON := fs.Bool("json", false, "print JSON")
	var name, tz, status, plan, adminEmail *string
	var olderThan *time.Duration
	var purgeNow *bool
	switch sub {
	case "create":
		name = fs.String("name", "", "the church's name (required)")
		tz = fs.String("timezone", "", "IANA time zone such as America/Chicago (required)")
		plan = fs.String("plan", "", "the church's plan (default STEEPLE_DEFAULT_PLAN)")
		adminEmail = fs.String("admin-email", "", "invite this address to be the church's owner (mailed, or to DATA_DIR/outbox without SMTP)")
	case "list":
		status = fs.String("status", "", "only churches in this status")
	case "cleanup":
		olderThan = fs.Duration("older-than", time.Hour, "only churches stuck for at least this long")
	case "purge":
		purgeNow = fs.Bool("now", false, "purge now, before the church's grace period is over")
	case "show", "suspend", "resume", "approve", "delete", "restore":
	default:
		fmt.Fprint(errOut, tenantsUsage)
		return usageError{fmt.Sprintf("unknown tenants subcommand %q", sub)}
	}
	pos, err := parseInterspersed(fs, cfg, args)
	if err != nil {
		return err
	}
	needsRef := sub == "show" || sub == "suspend" || sub == "resume" || sub == "approve" ||
		sub == "delete" || sub == "restore" || sub == "purge"
	if needsRef && len(pos) != 1 {
		return usageError{fmt.Sprintf("tenants %s takes one church id or slug", sub)}
	}
	if !needsRef && len(pos) != 0 {
		return usageError{fmt.Sprintf("tenants %s takes no arguments, got %q", sub, pos)}
	}
	if plan != nil && *plan != "" {
		if _, ok := cfg.Plans[*plan]; !ok {
			return usageError{fmt.Sprintf("--plan %q is not one of STEEPLE_PLANS", *plan)}
		}
	}
	if adminEmail != nil && *adminEmail != "" {
		if _, err := steeple.NormalizeEmail("admin-email", *adminEmail); err != nil {
			return usageError{"--admin-email " + steeple.FieldMessage(err, "admin-email")}
		}
	}
	e, err := openReady(ctx, cfg, errOut)
	if err != nil {
		return err
	}
	defer e.close()
	reg := e.ten.Registry
	switch sub {
	case "delete", "restore", "purge":
		return closeChurch(ctx, e, sub, pos[0], purgeNow != nil && *purgeNow, *asJSON, out, errOut)
	case "create":
		t, err := e.ten.Provisioner.Provision(ctx, tenancy.NewTenant{Name: *name, Timezone: *tz, Plan: *plan, Resume: true})
		if err != nil {
			return fmt.Errorf("create church: %s", describeErr(err))
		}
		if *adminEmail == "" {
			return printTenants(out, *asJSON, false, t)
		}
		return createdWithOwner(ctx, e, t, *adminEmail, *asJSON, out)
	case "list":
		ts, err := reg.Tenants(ctx, tenancy.TenantFilter{Status: steeple.TenantStatus(*status)})
		if err != nil {
			return err
		}
		return printTenants(out, *asJSON, true, ts...)
	case "show":
		t, err := reg.TenantByRef(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("%s", describeErr(err))
		}
		return showTenant(ctx, e, t, *asJSON, out)
	case "approve":
		t, err := reg.TenantByRef(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("%s", describeErr(err))
		}
		if err := approveChurch(ctx, e, t.ID); err != nil {
			return fmt.Errorf("approve church: %s", describeErr(err))
		}
		return printTenants(out, *asJSON, false, t)
	case "suspend", "resume":
		t, err := reg.TenantByRef(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("%s", describeErr(err))
		}
		to, from := steeple.TenantSuspended, steeple.TenantActive
		if sub == "resume" {
			to, from = from, to
		}
		if t, err = reg.SetStatus(ctx, t.ID, to, from); err != nil {
			return fmt.Errorf("%s", describeErr(err))
		}
		if sub == "suspend" {
			// Sessions do not survive a suspension: resuming the church
			// must not bring its browsers and API clients back signed in.
			if err := revokeChurchSessions(ctx, e, t.ID); err != nil {
				return fmt.Errorf("suspended, but signing out its admins failed: %s", describeErr(err))
			}
		}
		return printTenants(out, *asJSON, false, t)
	default: // cleanup
		removed, err := e.ten.Provisioner.Cleanup(ctx, *olderThan)
		if *asJSON {
			_ = json.NewEncoder(out).Encode(map[string]any{"removed": removed})
		} else {
			fmt.Fprintf(out, "removed %d church(es) stuck in provisioning\n", len(removed))
		}
		return err
	}
}

// parseInterspersed parses flags that may come before or after positional
// arguments (`show ID --json` as well as `show --json ID`).
func parseInterspersed(fs *flag.FlagSet, cfg interface{ Validate() error }, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	return pos, nil
}

func printTenants(w io.Writer, asJSON, list bool, ts ...*steeple.Tenant) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if list {
			if ts == nil {
				ts = []*steeple.Tenant{}
			}
			return enc.Encode(ts)
		}
		return enc.Encode(ts[0])
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSLUG\tNAME\tSTATUS\tTIMEZONE\tSCHEMA\tWHERE")
	for _, t := range ts {
		where := t.DatabaseName
		if t.Server != "" {
			where = t.Server + "/" + t.DatabaseName
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", t.ID, t.Slug, t.Name, t.Status, t.Timezone, t.SchemaVersion, where)
	}
	return tw.Flush()
}

// approveChurch opens the approval part of a church's gate (its owner must
// still verify the email, if not done yet).
// revokeChurchSessions ends a (suspended) church's web sessions and revokes
// its API refresh tokens.
func revokeChurchSessions(ctx context.Context, e *env, tenantID string) error {
	keys, err := app.LoadKeys(*e.cfg, e.log)
	if err != nil {
		return err
	}
	st := store.New(keys, nil)
	h, err := e.ten.Manager.AcquireToRecord(ctx, tenantID)
	if err != nil {
		return err
	}
	defer h.Release()
	n, err := st.RevokeChurchSessions(ctx, h)
	if err != nil {
		return err
	}
	return st.Audit(ctx, h, store.AuditEntry{ActorID: "operator", Action: "church.suspended", Target: tenantID,
		Detail: fmt.Sprintf("%d web session(s) ended, API refresh tokens revoked", n)})
}

func approveChurch(ctx context.Context, e *env, tenantID string) error {
	keys, err := app.LoadKeys(*e.cfg, e.log)
	if err != nil {
		return err
	}
	st := store.New(keys, nil)
	h, err := e.ten.Manager.Acquire(ctx, tenantID)
	if err != nil {
		return err
	}
	defer h.Release()
	if err := st.ApproveChurch(ctx, h); err != nil {
		return err
	}
	return st.Audit(ctx, h, store.AuditEntry{ActorID: "operator", Action: "church.approved", Target: tenantID})
}
