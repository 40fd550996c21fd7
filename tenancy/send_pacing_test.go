package tenancy_test

import (
	"context"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// The pacing arithmetic is the same whether it lives in the registry's
// table (PostgreSQL) or in the process (SQLite).
func TestSendPacingArithmetic(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		ten := b.Open(t, b.Options())
		reg, ctx := ten.Registry, context.Background()
		const key, interval = "number:+13125550199", 400 * time.Millisecond

		wait, claimed, err := reg.ClaimSendTime(ctx, key, interval)
		if err != nil || wait != 0 || claimed.IsZero() {
			t.Fatalf("first claim: wait %v, claimed %v, %v", wait, claimed, err)
		}
		wait, claimed, err = reg.ClaimSendTime(ctx, key, interval)
		if err != nil || !claimed.IsZero() || wait < 300*time.Millisecond || wait > interval {
			t.Fatalf("second claim at once: wait %v (want about %v), claimed %v, %v", wait, interval, claimed, err)
		}
		time.Sleep(wait)
		if wait, _, err = reg.ClaimSendTime(ctx, key, interval); err != nil || wait != 0 {
			t.Fatalf("claim once the interval passed: wait %v, %v", wait, err)
		}
		// A send that went late pushes the next free time a full interval
		// after it.
		if err := reg.DelaySendSlots(ctx, key, time.Now().Add(time.Second), interval); err != nil {
			t.Fatal(err)
		}
		if wait, _, err = reg.ClaimSendTime(ctx, key, interval); err != nil || wait < time.Second {
			t.Fatalf("claim after a delay: wait %v (want over 1 s), %v", wait, err)
		}
		// Slots reserved ahead are spaced by the interval.
		first, err := reg.ReserveSendSlot(ctx, "account", interval)
		if err != nil || first != 0 {
			t.Fatalf("first slot: %v, %v", first, err)
		}
		second, err := reg.ReserveSendSlot(ctx, "account", interval)
		if err != nil || second < 300*time.Millisecond || second > interval {
			t.Fatalf("second slot: %v (want about %v), %v", second, interval, err)
		}
		third, _ := reg.ReserveSendSlot(ctx, "account", interval)
		if d := third - second; d < 300*time.Millisecond || d > interval {
			t.Fatalf("third slot %v after the second (want about %v)", d, interval)
		}
	})
}
