//go:build !linux

package bench

import "os/exec"

// dieWithBench does nothing where the kernel cannot tie a child's life to
// its parent's: stop the servers by hand if the bench is killed outright.
func dieWithBench(*exec.Cmd) {}
