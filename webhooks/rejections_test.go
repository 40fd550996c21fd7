package webhooks_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/webhooks"
)

type logSink struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }

// refusals returns the rejection lines logged for reason: level and count.
func (l *logSink) refusals(reason string) (lines []string, total int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	sc := bufio.NewScanner(bytes.NewReader(l.b.Bytes()))
	for sc.Scan() {
		var rec struct {
			Level, Msg, Reason string
			Count              int
		}
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "webhook events refused or dropped" && rec.Reason == reason {
			lines = append(lines, fmt.Sprintf("%s %d", rec.Level, rec.Count))
			total += rec.Count
		}
	}
	return lines, total
}

// A burst of refused webhooks costs one log line per reason at once and
// one with the count of the rest when the window ends — not a line each.
func TestRejectionsLoggedPerWindow(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		k := newSigner(t)
		var logs logSink
		o := k.options(func(c *webhooks.Config) { c.RejectionLogEvery = 2 * time.Second })
		o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
		s := testkit.NewServer(t, b, o)

		body := eventBody(t, newUUID(), telnyx.EventMessageReceived, time.Now(),
			inboundPayload(newUUID(), "+13125559001", "+13125559999", "hello", ""))
		forged := k.headers(time.Now(), body)
		forged[telnyx.HeaderSignature] = k.headers(time.Now(), []byte("other"))[telnyx.HeaderSignature]
		for range 6 {
			if code, _ := postWebhook(t, s, forged, body); code != http.StatusUnauthorized {
				t.Fatalf("forged webhook: %d", code)
			}
		}
		if code, outcome := postWebhook(t, s, k.headers(time.Now().Add(-time.Hour), body), body); code != http.StatusUnauthorized {
			t.Fatalf("stale webhook: %d %s", code, outcome)
		}
		// Signed texts to a number no church owns are accepted, then dropped by the worker.
		for range 3 {
			k.mustAccept(t, s, eventBody(t, newUUID(), telnyx.EventMessageReceived, time.Now(),
				inboundPayload(newUUID(), "+13125559001", "+13125559999", "hello", "")))
		}
		waitMetric(t, s, telnyx.EventMessageReceived, webhooks.OutcomeUnrouted, 3)

		want := map[string]struct {
			lines []string
			total int
		}{
			webhooks.OutcomeBadSignature: {[]string{"WARN 1", "WARN 5"}, 6},
			webhooks.OutcomeStale:        {[]string{"WARN 1"}, 1},
		}
		testkit.Eventually(t, 10*time.Second, func() string {
			for reason, w := range want {
				if lines, total := logs.refusals(reason); total != w.total || strings.Join(lines, ",") != strings.Join(w.lines, ",") {
					return fmt.Sprintf("%s: lines %v (total %d); want %v", reason, lines, total, w.lines)
				}
			}
			if lines, total := logs.refusals(webhooks.OutcomeUnrouted); total != 3 || len(lines) > 2 || lines[0] != "INFO 1" {
				return fmt.Sprintf("unrouted: lines %v (total %d); want INFO 1 then the rest counted", lines, total)
			}
			return ""
		})
		logs.mu.Lock()
		out := logs.b.String()
		logs.mu.Unlock()
		if strings.Contains(out, "3125559001") || strings.Contains(out, "3125559999") {
			t.Fatalf("a phone number reached the log:\n%s", out)
		}
	})
}
