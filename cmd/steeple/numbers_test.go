package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

// `steeple numbers assign` on the built-in simulator records the number for
// the church (saying the provider was not checked); against a provider (a
// simulator standing in for Telnyx) it refuses a number not in the account
// and gives one that is the church's messaging profile. Either way a
// number belongs to one church.
func TestNumbersAssign(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		useBackend(t, b)
		for _, name := range []string{"Grace Chapel", "Hope Fellowship"} {
			if code, _, errOut := runCLI(t, "tenants", "create", "--name", name, "--timezone", "America/Chicago"); code != 0 {
				t.Fatalf("create %s: %s", name, errOut)
			}
		}
		code, out, errOut := runCLI(t, "numbers", "assign", "--tenant", "grace-chapel", "--number", "+13125550100", "--json")
		var got struct{ Numbers []string }
		if code != 0 || json.Unmarshal([]byte(out), &got) != nil || len(got.Numbers) != 1 || got.Numbers[0] != "+13125550100" ||
			!strings.Contains(errOut, "not checked") {
			t.Fatalf("assign on the simulator: exit %d, %q, %q", code, out, errOut)
		}
		if code, _, errOut := runCLI(t, "numbers", "assign", "--tenant", "hope-fellowship", "--number", "+13125550100"); code != 1 ||
			!strings.Contains(errOut, "already belongs") {
			t.Fatalf("assigning Grace's number to Hope: exit %d, %q", code, errOut)
		}

		// Against a provider.
		sim := telnyxsim.New(telnyxsim.Options{})
		root, stop, err := sim.Start("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		t.Setenv("STEEPLE_TELNYX_API_KEY", "test")
		t.Setenv("STEEPLE_TELNYX_BASE_URL", root+"/v2")
		t.Setenv("STEEPLE_TELNYX_PUBLIC_KEY", sim.PublicKeyBase64())
		const n = "+13125550101"
		if code, _, errOut := runCLI(t, "numbers", "assign", "--tenant", "hope-fellowship", "--number", n); code != 1 ||
			!strings.Contains(errOut, "not in the provider account") {
			t.Fatalf("a number not in the account: exit %d, %q", code, errOut)
		}
		sim.AddNumber(n)
		if code, out, errOut := runCLI(t, "numbers", "assign", "--tenant", "hope-fellowship", "--number", n); code != 0 ||
			strings.TrimSpace(out) != n {
			t.Fatalf("a number in the account: exit %d, %q, %q", code, out, errOut)
		}
		pns, err := telnyx.New(telnyx.Config{BaseURL: root + "/v2", APIKey: "test"}).ListNumbers(context.Background(), n)
		if err != nil || len(pns) != 1 || pns[0].MessagingProfileID == "" {
			t.Fatalf("the provider's number after assigning: %+v %v; want the church's messaging profile", pns, err)
		}
	})
}
