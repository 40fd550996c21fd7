//go:build unix

package bench

import "syscall"

// syncDisks writes every dirty file page to disk.
func syncDisks() { syscall.Sync() }
