package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
)

// `tenants create --admin-email` invites the owner (SMTP on one backend,
// the outbox on the other); the link works on a running server; `admins
// invite` adds an admin; `tenants show` tells the operator everything.
func TestOperatorInvitesAndShow(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		useBackend(t, b)
		dataDir := b.DataDir()
		var smtp *testkit.SMTPServer
		if b.Postgres() {
			dataDir = t.TempDir()
			t.Setenv("STEEPLE_DATA_DIR", dataDir)
			smtp = testkit.NewSMTPServer(t, testkit.SMTPOptions{NoTLS: true})
			t.Setenv("STEEPLE_SMTP_URL", smtp.URL())
		}
		addr := freeAddr(t)
		t.Setenv("STEEPLE_PUBLIC_URL", "http://"+addr)

		code, out, errOut := runCLI(t, "tenants", "create", "--name", "Grace Chapel", "--timezone", "America/Chicago",
			"--admin-email", "Pastor@Example.org", "--json")
		var created struct {
			steeple.Tenant
			Invited operatorInvitation `json:"invited"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &created) != nil {
			t.Fatalf("create: exit %d, %q, %q", code, out, errOut)
		}
		inv := created.Invited
		if created.Slug != "grace-chapel" || inv.Invitation == nil || inv.Invitation.Email != "pastor@example.org" ||
			inv.Invitation.Role != steeple.RoleOwner || !inv.Mailed || (inv.Outbox != "") != !b.Postgres() {
			t.Fatalf("created %+v", created)
		}
		if strings.Contains(errOut, "inv1.") {
			t.Fatalf("the invitation link reached the log: %s", errOut)
		}

		// The mail holds the link, and the link makes the owner.
		var mailText string
		if smtp != nil {
			mailText = smtp.WaitFor(t, "pastor@example.org", "invitations/accept", "as its owner").Body()
		} else {
			files, _ := filepath.Glob(filepath.Join(dataDir, "outbox", "*.eml"))
			if len(files) != 1 {
				t.Fatalf("outbox: %v", files)
			}
			raw, _ := os.ReadFile(files[0])
			mailText = string(raw)
		}
		mailText = strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(mailText, "=\r\n", ""), "=\n", ""), "=3D", "=")
		m := regexp.MustCompile(`/invitations/accept\?token=(inv1\.[A-Za-z0-9.-]+)`).FindStringSubmatch(mailText)
		if m == nil || !strings.Contains(mailText, "http://"+addr) {
			t.Fatalf("invitation mail:\n%s", mailText)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- runServe(ctx, []string{"--addr", addr}, io.Discard, io.Discard) }()
		defer func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Error("serve did not stop")
			}
		}()
		waitFor(t, "http://"+addr+"/healthz")
		if code, body := postJSON(t, "http://"+addr+"/api/v1/invitations/accept", "", map[string]any{
			"token": m[1], "name": "Pat Pastor", "password": "correct horse battery"}); code != http.StatusCreated {
			t.Fatalf("accept: %d %v", code, body)
		}

		// admins invite: an admin; the owner again is refused; bad input is named.
		if code, out, errOut = runCLI(t, "admins", "invite", "--tenant", "grace-chapel", "--email", "helper@example.org", "--role", "admin"); code != 0 ||
			!strings.Contains(out, "helper@example.org as admin of Grace Chapel") {
			t.Fatalf("admins invite: exit %d, %q, %q", code, out, errOut)
		}
		if code, _, errOut = runCLI(t, "admins", "invite", "--tenant", created.ID, "--email", "pastor@example.org"); code != 1 || !strings.Contains(errOut, "already an admin") {
			t.Fatalf("inviting the owner again: exit %d, %q", code, errOut)
		}
		if code, _, _ = runCLI(t, "admins", "invite", "--tenant", created.ID, "--email", "x@example.org", "--role", "boss"); code != 2 {
			t.Fatalf("bad role: exit %d, want 2", code)
		}
		if code, _, errOut = runCLI(t, "admins", "invite", "--tenant", "no-such-church", "--email", "x@example.org"); code != 1 || !strings.Contains(errOut, "not found") {
			t.Fatalf("unknown church: exit %d, %q", code, errOut)
		}
		if code, _, errOut = runCLI(t, "tenants", "create", "--name", "Hope", "--timezone", "America/Chicago", "--admin-email", "not-an-email"); code != 2 {
			t.Fatalf("bad --admin-email: exit %d, %q", code, errOut)
		}
		if code, _, errOut = runCLI(t, "numbers", "assign", "--tenant", created.ID, "--number", "+13125550177"); code != 0 {
			t.Fatalf("numbers assign: %s", errOut)
		}

		code, out, errOut = runCLI(t, "tenants", "show", "grace-chapel", "--json")
		var d struct {
			steeple.Tenant
			Numbers      []struct{ Number, State string }
			Registration struct{ Status string }
			Admins       []steeple.Admin
			Invitations  []struct{ Email, Role string } `json:"pending_invitations"`
			Usage        struct {
				Members       int    `json:"members"`
				Month         string `json:"month"`
				DatabaseBytes int64  `json:"database_bytes"`
			}
		}
		if code != 0 || json.Unmarshal([]byte(out), &d) != nil {
			t.Fatalf("show --json: exit %d, %q, %q", code, out, errOut)
		}
		if d.ID != created.ID || len(d.Admins) != 1 || d.Admins[0].Email != "pastor@example.org" || d.Admins[0].Role != steeple.RoleOwner ||
			len(d.Invitations) != 1 || d.Invitations[0].Email != "helper@example.org" || d.Invitations[0].Role != "admin" ||
			len(d.Numbers) != 1 || d.Numbers[0].Number != "+13125550177" || d.Registration.Status != "not_submitted" ||
			d.Usage.Members != 0 || d.Usage.Month != time.Now().In(mustZone(t, "America/Chicago")).Format("2006-01") ||
			d.Usage.DatabaseBytes <= 0 || (d.Backend == steeple.BackendPostgres) != b.Postgres() {
			t.Fatalf("show --json:\n%s", out)
		}
		code, out, _ = runCLI(t, "tenants", "show", created.ID)
		where := map[bool]string{true: "PostgreSQL server", false: "SQLite file"}[b.Postgres()]
		for _, want := range []string{"Pat Pastor <pastor@example.org> owner", "helper@example.org as admin", "+13125550177", where, "not submitted", "texts"} {
			if code != 0 || !strings.Contains(out, want) {
				t.Fatalf("show lacks %q:\n%s", want, out)
			}
		}
	})
}

func mustZone(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
