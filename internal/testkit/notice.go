package testkit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// skipNoticeOnce prints the skip notice once per test binary (one package).
var skipNoticeOnce sync.Once

// noticeSkipped tells the developer, once per package run, that the
// PostgreSQL halves of its tests were skipped and how to run them.
//
// `go test ./...` (package-list mode) shows nothing of a passing package
// but its "ok" line: the test binary's stdout and stderr are captured and
// dropped, t.Skip messages included. The line is therefore written to the
// stderr of the go command that runs the binary (our parent), which is the
// developer's terminal or the CI log; failing that, to /dev/tty. It is
// opened with syscall, not os, so the go command's test cache does not
// record the file (a cached package still shows "(cached)" and no line).
func noticeSkipped(variable string) {
	skipNoticeOnce.Do(func() {
		line := fmt.Sprintf("steeple: %s: PostgreSQL halves of the tests SKIPPED (%s is not set); run them with "+
			"%s='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' go test ./... (see README)\n",
			packageDir(), variable, variable)
		if !writeOutside(line) {
			fmt.Fprint(os.Stderr, line) // shown at least with -v or on failure
		}
	})
}

// packageDir is the test's package directory relative to the module root
// ("./messaging"): go test runs a test binary in its package's directory.
func packageDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "this package"
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			rel, err := filepath.Rel(dir, wd)
			if err != nil || rel == "." {
				return "."
			}
			return "./" + filepath.ToSlash(rel)
		}
		if filepath.Dir(dir) == dir {
			return strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
		}
	}
}
