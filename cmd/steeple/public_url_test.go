package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/httpapi"
	"github.com/steeple-sms/steeple/internal/testkit"
)

// serveAndLog runs serve on addr until the log holds until (or 15 s pass)
// and returns the log.
func serveAndLog(t *testing.T, addr, until string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuffer
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, []string{"--addr", addr}, &logs, &logs) }()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(logs.String(), until) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(logs.String(), until) {
		t.Fatalf("the log never said %q:\n%s", until, logs.String())
	}
	return logs.String()
}

// The public URL defaults from the listen address and reaches this very
// server; one pointing at another server, or at nothing, gets one WARN line
// at startup.
func TestServeChecksPublicURL(t *testing.T) {
	b := testkit.SQLite(t)
	useBackend(t, b)
	const warning = "STEEPLE_PUBLIC_URL does not reach this server"

	t.Setenv("STEEPLE_LOG_LEVEL", "debug")
	addr := freeAddr(t)
	logs := serveAndLog(t, addr, "the public URL reaches this server")
	if strings.Contains(logs, warning) || !strings.Contains(logs, "public_url=http://"+addr) {
		t.Fatalf("default public URL:\n%s", logs)
	}

	t.Setenv("STEEPLE_LOG_LEVEL", "warn")
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(httpapi.InstanceHeader, "another-process")
		w.Write([]byte(`{"status":"ok"}`))
	}))
	defer other.Close()
	t.Setenv("STEEPLE_PUBLIC_URL", other.URL)
	logs = serveAndLog(t, freeAddr(t), warning)
	if strings.Count(logs, warning) != 1 || !strings.Contains(logs, "another Steeple process answered") || !strings.Contains(logs, other.URL) {
		t.Fatalf("public URL at another server:\n%s", logs)
	}

	t.Setenv("STEEPLE_PUBLIC_URL", "http://"+freeAddr(t))
	logs = serveAndLog(t, freeAddr(t), warning)
	if strings.Count(logs, warning) != 1 || !strings.Contains(logs, "unreachable") {
		t.Fatalf("public URL reaching nothing:\n%s", logs)
	}
}
