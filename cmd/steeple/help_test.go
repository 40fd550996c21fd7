package main

import (
	"strings"
	"testing"

	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

// Every command's --help exits 0 and lists its own flags, not the ~30
// server settings (only serve's help lists those, as its own).
func TestHelpShowsOwnFlags(t *testing.T) {
	t.Setenv("STEEPLE_LOG_LEVEL", "warn")
	code, out, _ := runCLI(t, "--help")
	if code != 0 {
		t.Fatalf("steeple --help: exit %d", code)
	}
	for _, c := range commands() {
		if !strings.Contains(out, "  "+c.name+" ") || !strings.Contains(out, c.summary) {
			t.Errorf("steeple --help does not list %s with its summary", c.name)
		}
	}
	const serverFlag = "-telnyx-api-key"
	cases := map[string]string{ // args → a flag or word the help must show
		"migrate":         "-parallel",
		"tenants":         "show ID|SLUG",
		"tenants create":  "-timezone",
		"tenants list":    "-status",
		"tenants show":    "-json",
		"tenants cleanup": "-older-than",
		"tenants move":    "-resume",
		"servers drain":   "-move",
		"tenants delete":  "-json",
		"tenants restore": "-json",
		"tenants purge":   "-now",
		"tenants export":  "-out",
		"tenants import":  "-name",
		"servers":         "drain REF",
		"servers list":    "-json",
		"numbers":         "assign",
		"numbers assign":  "-number",
		"keys":            "generate",
		"keys generate":   "generate",
		"keys rotate":     "-resume",
		"keys status":     "-json",
		"keys retire":     "-signing",
		"sim":             "/sim/inbound",
		"bench":           "SCENARIO",
		"version":         "--json",
		"serve":           serverFlag,
		"backup":          "-out",
		"backup verify":   "-from",
		"restore":         "-check",
	}
	for args, want := range cases {
		code, out, errOut := runCLI(t, append(strings.Fields(args), "--help")...)
		help := out + errOut
		if code != 0 {
			t.Errorf("steeple %s --help: exit %d: %s", args, code, help)
		}
		if !strings.Contains(help, want) {
			t.Errorf("steeple %s --help does not mention %q:\n%s", args, want, help)
		}
		if args != "serve" && strings.Contains(help, serverFlag) {
			t.Errorf("steeple %s --help lists the server's flags:\n%s", args, help)
		}
	}
	// sim --help lists every control endpoint the simulator serves.
	_, out, errOut := runCLI(t, "sim", "--help")
	for _, e := range telnyxsim.ControlEndpoints() {
		if !strings.Contains(out+errOut, e.Pattern) {
			t.Errorf("sim --help misses %s", e.Pattern)
		}
	}
	if len(telnyxsim.ControlEndpoints()) < 8 {
		t.Fatalf("only %d control endpoints", len(telnyxsim.ControlEndpoints()))
	}
}
