package main

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errOut := runCLI(t, args...)
		if code != 0 || !strings.HasPrefix(out, "steeple ") || !strings.Contains(out, runtime.Version()) {
			t.Fatalf("%v: exit %d, %q, %q", args, code, out, errOut)
		}
	}
	code, out, _ := runCLI(t, "version", "--json")
	var v buildVersion
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Version == "" || v.Go != runtime.Version() {
		t.Fatalf("version --json: exit %d, %q", code, out)
	}
	if code, _, _ := runCLI(t, "version", "extra"); code != 2 {
		t.Fatalf("version with an argument: exit %d, want 2", code)
	}
}
