package tenancy_test

import (
	"context"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// A connection the server has begun to start is finished even when the
// caller's deadline passes meanwhile: on a loaded PostgreSQL a start took
// over a second, and a STOP that gave it up half made at its 1 s wait was
// queued to pay for another. A caller already gone is not waited for.
// (PostgreSQL only: a SQLite connection is a file opened at once.)
func TestConnectionFinishedPastCallersDeadline(t *testing.T) {
	b := testkit.Postgres(t)
	proxy, viaProxy := proxied(t, b)
	o := b.Options()
	o.TenantServers = []string{viaProxy}
	ten := b.Open(t, o)
	tenants := provision(t, ten, "Slow", 2)
	const delay = 700 * time.Millisecond
	proxy.SetDelay(delay)

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	began := time.Now()
	h, err := ten.Manager.AcquireToRecordBriefly(ctx, tenants[0].ID)
	cancel()
	if err != nil {
		t.Fatalf("a connection begun within a 300 ms wait and made in %v: %v; want it finished", delay, err)
	}
	if took := time.Since(began); took < delay {
		t.Fatalf("acquired in %v; the proxy should have delayed the connection %v", took, delay)
	}
	var one int
	if err := h.QueryRowContext(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("the finished connection: %d, %v", one, err)
	}
	h.Release()

	gone, leave := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, leave)
	began = time.Now()
	if h, err := ten.Manager.AcquireToRecordBriefly(gone, tenants[1].ID); err == nil {
		h.Release()
		t.Fatal("a caller that left while its connection was being made got a handle")
	}
	if took := time.Since(began); took >= delay {
		t.Fatalf("a caller that left was answered after %v; want before the connection's %v", took, delay)
	}
}
