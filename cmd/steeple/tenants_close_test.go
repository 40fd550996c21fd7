package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
)

// tenants delete, restore and purge from the terminal: delete refuses the
// church at once and names the purge time; restore undoes it; purge needs
// the id and --now before the grace is over, refuses a church that is not
// deleted, and leaves the scrubbed row.
func TestTenantsDeleteRestorePurge(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		useBackend(t, b)
		t.Setenv("STEEPLE_DELETE_GRACE", "48h")
		code, out, errOut := runCLI(t, "tenants", "create", "--name", "Grace Chapel", "--timezone", "America/Chicago", "--json")
		if code != 0 {
			t.Fatalf("create: %d %s", code, errOut)
		}
		var created steeple.Tenant
		if err := json.Unmarshal([]byte(out), &created); err != nil {
			t.Fatal(err)
		}
		closure := func(args ...string) (int, map[string]any, string) {
			t.Helper()
			code, out, errOut := runCLI(t, append([]string{"tenants"}, append(args, "--json")...)...)
			var m map[string]any
			if code == 0 {
				if err := json.Unmarshal([]byte(out), &m); err != nil {
					t.Fatalf("%v: %v in %s", args, err, out)
				}
			}
			return code, m, errOut
		}
		if code, _, errOut := closure("purge", created.ID, "--now"); code != 1 || !strings.Contains(errOut, "only a deleted church") {
			t.Fatalf("purge an active church: %d %s", code, errOut)
		}
		code, m, errOut := closure("delete", created.Slug)
		if code != 0 || m["status"] != "deleting" || m["prior_status"] != "active" || m["requested_by"] != "operator" {
			t.Fatalf("delete: %d %v %s", code, m, errOut)
		}
		at, err := time.Parse(time.RFC3339, m["purge_at"].(string))
		if err != nil || at.Sub(time.Now()) < 47*time.Hour || at.Sub(time.Now()) > 49*time.Hour {
			t.Fatalf("purge_at %v (%v); want STEEPLE_DELETE_GRACE from now", m["purge_at"], err)
		}
		if code, out, _ := runCLI(t, "tenants", "show", created.ID, "--json"); code != 0 || !strings.Contains(out, `"purge_at"`) {
			t.Fatalf("show a deleting church: %d %s", code, out)
		}
		if code, m, errOut := closure("restore", created.ID); code != 0 || m["status"] != "active" {
			t.Fatalf("restore: %d %v %s", code, m, errOut)
		}
		if code, _, errOut := closure("restore", created.ID); code != 1 || !strings.Contains(errOut, "nothing to restore") {
			t.Fatalf("restore an active church: %d %s", code, errOut)
		}
		if code, _, _ := closure("delete", created.ID); code != 0 {
			t.Fatal("delete again")
		}
		if code, _, errOut := closure("purge", created.ID); code != 1 || !strings.Contains(errOut, "--now") {
			t.Fatalf("purge before the grace without --now: %d %s", code, errOut)
		}
		if code, _, errOut := closure("purge", created.Slug, "--now"); code != 2 || !strings.Contains(errOut, "id") {
			t.Fatalf("purge by slug: %d %s", code, errOut)
		}
		code, m, errOut = closure("purge", created.ID, "--now")
		if code != 0 || m["status"] != "deleted" || m["purged_at"] == nil || m["requested_by"] != "operator" {
			t.Fatalf("purge: %d %v %s", code, m, errOut)
		}
		if code, out, _ := runCLI(t, "tenants", "list", "--json"); code != 0 || strings.Contains(out, "Grace Chapel") || !strings.Contains(out, "deleted church") {
			t.Fatalf("list after purge: %d %s", code, out)
		}
		// The short name is free again.
		if code, _, errOut := runCLI(t, "tenants", "create", "--name", "Grace Chapel", "--timezone", "America/Chicago"); code != 0 {
			t.Fatalf("create again after the purge: %d %s", code, errOut)
		}
	})
}
