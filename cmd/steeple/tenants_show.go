package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// tenantDetail is `steeple tenants show`: the registry's row, then what
// the church's own database says. Emails are decrypted for the operator's
// terminal only; nothing here is logged.
type tenantDetail struct {
	*steeple.Tenant
	Numbers      []*tenancy.Number   `json:"numbers"`
	Registration registrationState   `json:"registration"`
	Admins       []steeple.Admin     `json:"admins"`
	Invitations  []store.Invitation  `json:"pending_invitations"`
	Facts        *store.ChurchFacts  `json:"usage,omitempty"`
	Quota        int                 `json:"monthly_parts_quota"` // 0: no limit
	Unavailable  string              `json:"database_unavailable,omitempty"`
	Invited      *operatorInvitation `json:"invited,omitempty"` // tenants create --admin-email
	// Closure is the deletion record of a deleting or purged church.
	Closure *tenancy.Closure `json:"closure,omitempty"`
}

// registrationState is the church's 10DLC registration, "not_submitted"
// before it applies.
type registrationState struct {
	Status  string   `json:"status"`
	Reasons []string `json:"reasons,omitempty"`
}

func showTenant(ctx context.Context, e *env, t *steeple.Tenant, asJSON bool, out io.Writer) error {
	d, err := describeTenant(ctx, e, t)
	if err != nil {
		return err
	}
	return printDetail(out, d, asJSON)
}

func describeTenant(ctx context.Context, e *env, t *steeple.Tenant) (*tenantDetail, error) {
	d := &tenantDetail{Tenant: t, Quota: e.cfg.Plans[t.Plan].MonthlySegments, Registration: registrationState{Status: "not_submitted"},
		Admins: []steeple.Admin{}, Invitations: []store.Invitation{}}
	nums, err := e.ten.Registry.ChurchNumbers(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	d.Numbers = append([]*tenancy.Number{}, nums...)
	if t.Status == steeple.TenantDeleting || t.Status == steeple.TenantDeleted {
		if d.Closure, err = e.ten.Registry.Closure(ctx, t.ID); err != nil {
			return nil, err
		}
	}
	if t.Status == steeple.TenantProvisioning {
		d.Unavailable = "still provisioning (`steeple tenants create` again completes it)"
		return d, nil
	}
	keys, err := app.LoadKeys(*e.cfg, e.log)
	if err != nil {
		return nil, err
	}
	st := store.New(keys, nil)
	h, err := e.ten.Manager.AcquireToRecord(ctx, t.ID)
	if err != nil {
		d.Unavailable = describeErr(err)
		return d, nil
	}
	defer h.Release()
	if d.Admins, err = st.Admins(ctx, h); err != nil {
		return nil, err
	}
	if d.Invitations, err = st.PendingInvitationList(ctx, h); err != nil {
		return nil, err
	}
	if d.Facts, err = st.ChurchFacts(ctx, h); err != nil {
		return nil, err
	}
	reg, err := st.Registration(ctx, h)
	switch {
	case err == nil:
		d.Registration = registrationState{Status: string(reg.Status), Reasons: reg.Reasons}
	case steeple.ErrorCode(err) != steeple.ENOTFOUND:
		return nil, err
	}
	return d, nil
}

func printDetail(w io.Writer, d *tenantDetail, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	}
	t := d.Tenant
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	line := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, a...)...) }
	line("church", "%s (%s)", t.Name, t.Slug)
	line("id", "%s", t.ID)
	line("status", "%s, plan %s, timezone %s", t.Status, t.Plan, t.Timezone)
	if c := d.Closure; c != nil && c.PurgeAt != nil {
		line("deleted", "by %s; purged after %s unless restored (was %s)", c.RequestedBy, c.PurgeAt.Format(time.RFC3339), c.PriorStatus)
	} else if c != nil && c.PurgedAt != nil {
		line("purged", "at %s (deleted by %s)", c.PurgedAt.Format(time.RFC3339), c.RequestedBy)
	}
	where := "SQLite file " + t.DatabaseName
	if t.Backend == steeple.BackendPostgres {
		where = "PostgreSQL server " + t.Server + ", database " + t.DatabaseName
	}
	line("placement", "%s (schema %d)", where, t.SchemaVersion)
	if d.Facts != nil {
		f := d.Facts
		line("database", "%s", humanBytes(f.DatabaseBytes))
		line("members", "%d", f.Members)
		quota := "no quota"
		if d.Quota > 0 {
			quota = fmt.Sprintf("quota %d parts", d.Quota)
		}
		line("this month", "%s: %d texts, %d parts (%s)", f.Month, f.Texts, f.Parts, quota)
	}
	if d.Unavailable != "" {
		line("database", "unavailable: %s", d.Unavailable)
	}
	reg := strings.ReplaceAll(d.Registration.Status, "_", " ")
	if len(d.Registration.Reasons) > 0 {
		reg += ": " + strings.Join(d.Registration.Reasons, "; ")
	}
	line("10DLC", "%s", reg)
	list := func(k string, items []string) {
		if len(items) == 0 {
			line(k, "none")
		}
		for i, s := range items {
			if i > 0 {
				k = ""
			}
			line(k, "%s", s)
		}
	}
	var nums, admins, invs []string
	for _, n := range d.Numbers {
		nums = append(nums, fmt.Sprintf("%s (%s)", n.E164, n.State))
	}
	for _, a := range d.Admins {
		mfa := ""
		if a.MFAEnabled {
			mfa = ", two-step sign-in"
		}
		admins = append(admins, fmt.Sprintf("%s <%s> %s%s", a.Name, a.Email, a.Role, mfa))
	}
	for _, i := range d.Invitations {
		invs = append(invs, fmt.Sprintf("%s as %s, until %s", i.Email, i.Role, i.ExpiresAt.Format("2006-01-02")))
	}
	list("numbers", nums)
	list("admins", admins)
	list("invited", invs)
	return tw.Flush()
}

// humanBytes writes a size the way people read it.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// createdWithOwner invites the new church's owner and prints both.
func createdWithOwner(ctx context.Context, e *env, t *steeple.Tenant, email string, asJSON bool, out io.Writer) error {
	inv, err := inviteAdmin(ctx, e, t, email, steeple.RoleOwner)
	if err != nil {
		return fmt.Errorf("church %s created, but inviting its owner failed: %s; run `steeple admins invite --tenant %s --email %s`",
			t.ID, describeErr(err), t.ID, email)
	}
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			*steeple.Tenant
			Invited *operatorInvitation `json:"invited"`
		}{t, inv})
	}
	if err := printTenants(out, false, false, t); err != nil {
		return err
	}
	printInvitation(out, inv)
	return nil
}
