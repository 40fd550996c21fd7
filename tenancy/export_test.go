package tenancy

import (
	"context"
	"time"
)

// SetMoveHook makes fn run before each step of a move; an error from it
// stops the move there as if the process had died.
func SetMoveHook(tn *Tenancy, fn func(ctx context.Context, step ServerMoveStep) error) {
	tn.moveHook = fn
}

// SetMoveDrainTimeout shortens the wait for handles in use before a move's copy.
func SetMoveDrainTimeout(tn *Tenancy, d time.Duration) { tn.moveDrainTimeout = d }
