package bench

import (
	"os/exec"
	"syscall"
)

// dieWithBench has the kernel SIGKILL a server when the bench process
// dies, so that a bench killed outright (or a test binary timing out)
// leaves no `steeple serve` running against databases being dropped.
func dieWithBench(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
