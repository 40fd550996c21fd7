package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/internal/app"
)

const adminsUsage = `Usage: steeple admins SUBCOMMAND [flags]

  invite --tenant ID|SLUG --email ADDRESS [--role owner|admin|sender]
        send someone an invitation to become an admin (default: owner) of a church

The link is mailed (STEEPLE_SMTP_URL), or without SMTP written as an .eml file
under DATA_DIR/outbox; it works once, for 7 days. The plan's admin limit holds.
`

func runAdmins(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 || args[0] != "invite" {
		fmt.Fprint(errOut, adminsUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return exitStatus(2)
	}
	fs, cfg, err := newFlags("admins invite", errOut)
	if err != nil {
		return err
	}
	tenant := fs.String("tenant", "", "church id or slug (required)")
	email := fs.String("email", "", "the invited person's email address (required)")
	role := fs.String("role", string(steeple.RoleOwner), "owner, admin or sender")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, cfg, args[1:]); err != nil {
		return err
	}
	if *tenant == "" || *email == "" {
		return usageError{"admins invite: --tenant and --email are required"}
	}
	if *role != string(steeple.RoleOwner) && *role != string(steeple.RoleAdmin) {
		return usageError{"admins invite: --role must be owner or admin"}
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
	inv, err := inviteAdmin(ctx, e, t, *email, steeple.Role(*role))
	if err != nil {
		return fmt.Errorf("invite: %s", describeErr(err))
	}
	if *asJSON {
		return json.NewEncoder(out).Encode(inv)
	}
	printInvitation(out, inv)
	return nil
}

// operatorInvitation is an invitation an operator sent, as printed.
type operatorInvitation struct {
	TenantID string `json:"tenant_id"`
	Church   string `json:"church"`
	auth.Invited
	// Outbox is the directory the mail was written to, without SMTP.
	Outbox string `json:"outbox,omitempty"`
}

// inviteAdmin invites email to the church as role and mails the link after
// releasing the church's handle.
func inviteAdmin(ctx context.Context, e *env, t *steeple.Tenant, email string, role steeple.Role) (*operatorInvitation, error) {
	accounts, _, err := app.Accounts(*e.cfg, e.ten, e.log)
	if err != nil {
		return nil, err
	}
	h, err := e.ten.Manager.AcquireToRecord(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	inv, deliver, err := accounts.OperatorInvite(ctx, h, email, role)
	h.Release()
	if err != nil {
		return nil, err
	}
	res := &operatorInvitation{TenantID: t.ID, Church: t.Name}
	if err := deliver(ctx); err != nil {
		return nil, fmt.Errorf("the invitation is stored but its mail failed (revoke it in the web app and invite again): %w", err)
	}
	res.Invited = *inv
	if e.cfg.SMTPURL == "" {
		res.Outbox = app.OutboxDir(*e.cfg)
	}
	return res, nil
}

func printInvitation(w io.Writer, inv *operatorInvitation) {
	fmt.Fprintf(w, "invited %s as %s of %s (expires %s)\n", inv.Invitation.Email, inv.Invitation.Role, inv.Church,
		inv.Invitation.ExpiresAt.Format("2006-01-02 15:04 MST"))
	if inv.Outbox != "" {
		fmt.Fprintf(w, "no STEEPLE_SMTP_URL: the invitation mail was written to %s; forward it to them yourself\n", inv.Outbox)
	} else {
		fmt.Fprintln(w, "the invitation link was mailed")
	}
}
