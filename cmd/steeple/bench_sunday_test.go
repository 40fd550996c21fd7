package main

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// runAsSteeple makes the test binary stand in for the steeple binary: the
// Sunday bench's --processes children are this executable run as `steeple
// serve`, and they inherit the variable from the test.
const runAsSteeple = "STEEPLE_TEST_RUN_AS_BINARY"

func TestMain(m *testing.M) {
	if os.Getenv(runAsSteeple) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// sundayLine is one figure of `steeple bench sunday`, with the extra keys
// this test reads.
type sundayLine struct {
	Metric  string  `json:"metric"`
	Value   float64 `json:"value"`
	Stops   int     `json:"stops"`
	Applied int     `json:"applied"`
	Servers []struct {
		Server int `json:"server"`
		Sent   int `json:"sent"`
		Lives  []struct {
			PeakMB int  `json:"peak_mb"`
			Killed bool `json:"killed"`
		} `json:"lives"`
	} `json:"servers"`
	SentBeforeKill int `json:"sent_before_kill"`
}

// A small Sunday storm over two real `steeple serve` processes sharing a
// PostgreSQL registry, one of them SIGKILLed two seconds in and started
// again: nothing is lost, every STOP is applied and nothing goes after it,
// both processes send, and the duplicates are at most the texts that were
// marked sending when the kill came — a recipient is marked sending before
// the provider call and sent after it, so only those can have been accepted
// by the provider without their "sent" being written.
func TestSundayTwoProcessesPostgres(t *testing.T) {
	url := testkit.RequireEnv(t, "STEEPLE_TEST_POSTGRES_URL")
	t.Setenv("STEEPLE_BENCH_POSTGRES_URL", url)
	runSundayWithKill(t, "postgres", 2)
}

// The same on SQLite, whose one server process is killed and restarted.
func TestSundayOneProcessKilledSQLite(t *testing.T) {
	runSundayWithKill(t, "sqlite", 1)
}

// runSundayWithKill runs the small storm over n server processes, kills
// the first 2 s in, and checks the figures as the tests above say.
func runSundayWithKill(t *testing.T, backend string, n int) {
	t.Setenv(runAsSteeple, "1")
	code, out, errOut := runCLI(t, "bench", "sunday", "--backend", backend, "--processes", strconv.Itoa(n), "--kill-after", "2s",
		"--rescue-after", "20s", "--wait-limit", "2m", "--churches", "4", "--big-max", "400", "--stop-pct", "5", "--stop-window", "2s", "--workers", "8")
	if code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, errOut)
	}
	got := map[string]sundayLine{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var l sundayLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("stdout line %q: %v", line, err)
		}
		got[l.Metric] = l
	}
	t.Logf("stderr:\n%s", errOut)
	for _, m := range []string{"lost", "texts_after_stop"} {
		if l, ok := got[m]; !ok || l.Value != 0 {
			t.Errorf("%s = %v (printed: %v), want 0", m, l.Value, ok)
		}
	}
	if s := got["stop_applied_p99_ms"]; s.Stops == 0 || s.Applied != s.Stops {
		t.Errorf("STOPs texted %d, applied %d", s.Stops, s.Applied)
	}
	kill, ok := got["sending_at_kill"]
	if !ok {
		t.Fatalf("no sending_at_kill line:\n%s", out)
	}
	if dups := got["duplicates"].Value; dups > kill.Value {
		t.Errorf("%v duplicates, but only %v texts were marked sending at the kill", dups, kill.Value)
	}
	servers := got["server_rss_peak_mb"].Servers
	if len(servers) != n {
		t.Fatalf("servers reported: %+v", servers)
	}
	sent := 0
	for _, s := range servers {
		sent += s.Sent
		if s.Sent == 0 {
			t.Errorf("server %d sent nothing: the test does not show the processes sharing the work", s.Server)
		}
		for _, l := range s.Lives {
			if l.PeakMB <= 0 || l.PeakMB > 512 {
				t.Errorf("server %d peak RSS %d MiB; want within (0, 512]", s.Server, l.PeakMB)
			}
		}
	}
	if lives := servers[0].Lives; len(lives) != 2 || !lives[0].Killed || lives[1].Killed {
		t.Errorf("server 1 should have been killed once and restarted: %+v", lives)
	}
	if kill.SentBeforeKill == 0 || kill.SentBeforeKill >= sent {
		t.Errorf("the kill came after %d of %d texts; want mid-storm", kill.SentBeforeKill, sent)
	}
}
