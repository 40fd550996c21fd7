package testkit_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
)

const noticeChild = "STEEPLE_TEST_NOTICE_CHILD"

// TestSkipNoticeReachesGoTest runs `go test` on this package, as a
// developer's `go test ./...` would, without the PostgreSQL variables: the
// package's output shows one line saying the PostgreSQL halves were
// skipped, although go test hides a passing package's own output. With
// STEEPLE_TEST_REQUIRE_POSTGRES set, the same run fails.
func TestSkipNoticeReachesGoTest(t *testing.T) {
	if os.Getenv(noticeChild) != "" {
		testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {})
		testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {}) // still one line
		return
	}
	if testing.Short() {
		t.Skip("runs go test")
	}
	run := func(extra ...string) (string, error) {
		cmd := exec.Command("go", "test", "-count=1", "-run", "^TestSkipNoticeReachesGoTest$", ".")
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "STEEPLE_TEST_") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, append(extra, noticeChild+"=1")...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run()
	if err != nil {
		t.Fatalf("go test without PostgreSQL: %v\n%s", err, out)
	}
	if n := strings.Count(out, "PostgreSQL halves of the tests SKIPPED"); n != 1 || !strings.Contains(out, "./internal/testkit") ||
		!strings.Contains(out, testkit.EnvPostgresURL+"=") {
		t.Fatalf("go test output has %d skip notices; want one naming the package and how to run them:\n%s", n, out)
	}
	out, err = run(testkit.EnvRequirePostgres + "=1")
	if err == nil || !strings.Contains(out, "FAIL") {
		t.Fatalf("go test with %s=1 and no PostgreSQL passed:\n%s", testkit.EnvRequirePostgres, out)
	}
}
