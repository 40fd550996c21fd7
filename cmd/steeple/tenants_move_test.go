package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/tenancy"
)

func createChurch(t *testing.T, name string) steeple.Tenant {
	t.Helper()
	code, out, errOut := runCLI(t, "tenants", "create", "--name", name, "--timezone", "America/Chicago", "--json")
	if code != 0 {
		t.Fatalf("create %s: exit %d: %s", name, code, errOut)
	}
	var c steeple.Tenant
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// On SQLite a church is a file: move refuses, saying so, and nothing changes.
func TestTenantsMoveRefusedOnSQLite(t *testing.T) {
	useBackend(t, testkit.SQLite(t))
	c := createChurch(t, "Grace Chapel")
	code, _, errOut := runCLI(t, "tenants", "move", c.Slug, "--to", "127.0.0.1:5433")
	if code != 2 || !strings.Contains(errOut, "PostgreSQL") {
		t.Fatalf("move on SQLite: exit %d: %s", code, errOut)
	}
	code, out, _ := runCLI(t, "tenants", "show", c.Slug, "--json")
	if code != 0 || !strings.Contains(out, `"status": "active"`) {
		t.Fatalf("church after the refused move: %d %s", code, out)
	}
	if code, _, errOut := runCLI(t, "tenants", "move", c.Slug); code != 2 {
		t.Errorf("move without --to: exit %d %s", code, errOut)
	}
}

func serverList(t *testing.T) map[string]tenancy.Server {
	t.Helper()
	code, out, errOut := runCLI(t, "servers", "list", "--json")
	if code != 0 {
		t.Fatalf("servers list: %d %s", code, errOut)
	}
	var list []tenancy.Server
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	m := map[string]tenancy.Server{}
	for _, s := range list {
		m[s.Ref] = s
	}
	return m
}

// tenants move and servers drain --move on two PostgreSQL servers.
func TestTenantsMoveAndDrain(t *testing.T) {
	useBackend(t, testkit.Postgres(t, true))
	var churches []steeple.Tenant
	for i := range 3 {
		churches = append(churches, createChurch(t, fmt.Sprintf("Church %d", i)))
	}
	first := churches[0]
	var other string
	for ref := range serverList(t) {
		if ref != first.Server {
			other = ref
		}
	}
	code, out, errOut := runCLI(t, "tenants", "move", first.Slug, "--to", other, "--json")
	if code != 0 {
		t.Fatalf("move: exit %d: %s", code, errOut)
	}
	var res tenancy.MoveResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.From != first.Server || res.To != other || res.Rows == 0 {
		t.Errorf("move result %+v", res)
	}
	if code, _, errOut := runCLI(t, "tenants", "move", first.Slug, "--to", other); code != 1 || !strings.Contains(errOut, "already on") {
		t.Errorf("moving again to the same server: exit %d: %s", code, errOut)
	}
	// Drain the server that now holds churches: every one ends on the other.
	code, out, errOut = runCLI(t, "servers", "drain", other, "--move")
	if code != 0 {
		t.Fatalf("drain --move: exit %d: %s%s", code, out, errOut)
	}
	if !strings.Contains(out, "failed") || strings.Contains(out, "FAILED") {
		t.Errorf("drain report:\n%s", out)
	}
	servers := serverList(t)
	if servers[other].State != "draining" || servers[other].Tenants != 0 || servers[first.Server].Tenants != 3 {
		t.Errorf("servers after the drain: %+v", servers)
	}
	code, out, _ = runCLI(t, "tenants", "list", "--json")
	var list []steeple.Tenant
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil {
		t.Fatalf("tenants list: %d %s", code, out)
	}
	for _, c := range list {
		if c.Server != first.Server || c.Status != steeple.TenantActive {
			t.Errorf("%s after the drain: %s on %s", c.Name, c.Status, c.Server)
		}
	}
	if code, _, errOut := runCLI(t, "tenants", "move", first.Slug, "--to", other); code != 1 || !strings.Contains(errOut, "draining") {
		t.Errorf("move to a draining server: exit %d: %s", code, errOut)
	}
	if code, out, _ := runCLI(t, "tenants", "move", "--resume"); code != 0 || !strings.Contains(out, "no move under way") {
		t.Errorf("resume with nothing to do: %d %s", code, out)
	}
}
