package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/steeple-sms/steeple/config"
)

// sundayServer is one `steeple serve` child process of a --processes run:
// this very binary, configured only through STEEPLE_* variables as an
// operator would, on a port of its own that it keeps across a restart.
type sundayServer struct {
	n       int    // 1, 2, …
	url     string // http://127.0.0.1:PORT, also its STEEPLE_PUBLIC_URL and STEEPLE_PROCESS_URL
	exe     string
	env     []string
	logPath string // stdout and stderr of every incarnation, appended

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the current incarnation has exited
	ending  bool          // we are killing or stopping it: an exit is expected
	died    error         // an exit nobody asked for
	lives   []serverLife  // every incarnation, ended or not
	started time.Time
}

// serverLife is what one incarnation of a child used.
type serverLife struct {
	PeakMB int     `json:"peak_mb"` // VmHWM, read just before it ended
	CPU    float64 `json:"cpu_s"`   // user + system seconds
	Killed bool    `json:"killed,omitempty"`
	// HandedOver counts the members' texts it handed to the other process
	// sending for their church, HandOverFailures those it tried to and
	// took itself (read from its /metrics just before it ended).
	HandedOver       int `json:"handed_over"`
	HandOverFailures int `json:"hand_over_failures"`
	// GaveWay counts its send jobs' connections given up for members'
	// texts waiting for room in its full budget.
	GaveWay int `json:"gave_way"`
}

// serverSettings are the variables every child is given: where the data
// is, the keys, the simulator as its Telnyx, and the sending settings of
// the in-process run (no account-wide cap, no per-client bound on the
// simulator's webhooks, which all come from one address).
type serverSettings struct {
	dataDir, registryURL, tenantServer string
	keysFile, simRoot, simKey          string
	workers, eventWorkers              int
	rescueAfter                        time.Duration
	dbMaxConns, maxOpen, registryConns int
}

func (s serverSettings) environ(addr string) []string {
	vars := map[string]string{
		"STEEPLE_ADDR":                         addr,
		"STEEPLE_PUBLIC_URL":                   "http://" + addr,
		"STEEPLE_PROCESS_URL":                  "http://" + addr,
		"STEEPLE_KEYS_FILE":                    s.keysFile,
		"STEEPLE_TELNYX_BASE_URL":              s.simRoot + "/v2",
		"STEEPLE_TELNYX_API_KEY":               "simulated",
		"STEEPLE_TELNYX_PUBLIC_KEY":            s.simKey,
		"STEEPLE_WORKERS":                      strconv.Itoa(s.workers),
		"STEEPLE_EVENT_WORKERS":                strconv.Itoa(s.eventWorkers),
		"STEEPLE_SEND_RATE_ACCOUNT":            "0",
		"STEEPLE_HTTP_MAX_REQUESTS_PER_CLIENT": "0",
		"STEEPLE_HTTP_MAX_WEBHOOKS_PER_CLIENT": "0",
		// As the in-process run's manager: a send waits for its church's
		// connection rather than failing the chunk under the storm.
		"STEEPLE_ACQUIRE_TIMEOUT":   "30s",
		"STEEPLE_POOL_IDLE_TIMEOUT": "1m",
		// A killed process's sends wait this long to be picked up again; a
		// live send job is cut off (and resumes) before — but it finishes
		// its last text on its own clock, so with a rescue time this short
		// a loaded machine can see a live job rescued and a text sent twice
		// (docs/benchmarks.md: raise --rescue-after to rule that out).
		"STEEPLE_JOB_RESCUE_AFTER": s.rescueAfter.String(),
		"STEEPLE_SEND_JOB_TIMEOUT": (s.rescueAfter * 2 / 3).String(),
		"STEEPLE_DB_MAX_CONNS":     strconv.Itoa(s.dbMaxConns),
		"STEEPLE_LOG_LEVEL":        "info",
	}
	if s.maxOpen > 0 {
		vars["STEEPLE_MAX_OPEN_TENANTS"] = strconv.Itoa(s.maxOpen)
	}
	if s.registryConns > 0 {
		vars["STEEPLE_REGISTRY_MAX_CONNS"] = strconv.Itoa(s.registryConns)
	}
	if s.registryURL != "" {
		vars["STEEPLE_DATABASE_URL"], vars["STEEPLE_TENANT_SERVERS"] = s.registryURL, s.tenantServer
	} else {
		vars["STEEPLE_DATA_DIR"] = s.dataDir
	}
	out := inheritedEnviron()
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	slices.Sort(out[len(out)-len(vars):]) // a stable order to read in a log
	return out
}

// inheritedEnviron is this process's environment without any variable
// Steeple reads (or its _FILE form): the child gets only what the bench
// sets, whatever the shell that ran the bench exports.
func inheritedEnviron() []string {
	drop := map[string]bool{}
	for _, n := range config.EnvNames() {
		drop[n], drop[n+"_FILE"] = true, true
	}
	var out []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !drop[k] {
			out = append(out, kv)
		}
	}
	return out
}

// startSundayServers starts n children, each on a free port, and waits
// until each answers /healthz.
func startSundayServers(ctx context.Context, r *runner, dir string, n int, set serverSettings) ([]*sundayServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("--processes: finding this binary to run `serve`: %w", err)
	}
	var servers []*sundayServer
	for i := 1; i <= n; i++ {
		addr, err := freeAddr()
		if err != nil {
			return servers, err
		}
		s := &sundayServer{n: i, url: "http://" + addr, exe: exe, env: set.environ(addr),
			logPath: filepath.Join(dir, fmt.Sprintf("serve-%d.log", i))}
		servers = append(servers, s)
		if err := s.start(ctx); err != nil {
			return servers, err
		}
		r.logf("server %d: pid %d at %s (log %s)", i, s.pid(), s.url, s.logPath)
	}
	return servers, nil
}

// freeAddr is a loopback address with a port nobody listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// start runs a new incarnation and waits until it serves.
func (s *sundayServer) start(ctx context.Context) error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own copy
	fmt.Fprintf(logf, "--- bench: starting server %d (incarnation %d) at %s\n", s.n, len(s.lives)+1, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(s.exe, "serve")
	cmd.Env, cmd.Stdout, cmd.Stderr = s.env, logf, logf
	dieWithBench(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("server %d: %w", s.n, err)
	}
	exited := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.exited, s.ending, s.started = cmd, exited, false, time.Now()
	s.lives = append(s.lives, serverLife{})
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		if !s.ending && s.died == nil {
			s.died = fmt.Errorf("server %d (pid %d) exited on its own: %v", s.n, cmd.Process.Pid, err)
		}
		s.mu.Unlock()
		close(exited)
	}()
	return s.waitServing(ctx, exited, time.Minute)
}

// waitServing polls /healthz until it answers 200, the child exits, or
// limit passes.
func (s *sundayServer) waitServing(ctx context.Context, exited <-chan struct{}, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("server %d exited before serving:\n%s", s.n, s.tail(20))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server %d did not serve /healthz within %s:\n%s", s.n, limit, s.tail(20))
		}
	}
}

func (s *sundayServer) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd.Process.Pid
}

// end records the incarnation's peak memory and CPU, then signals it and
// waits for it to exit (SIGKILL after grace).
func (s *sundayServer) end(sig syscall.Signal, grace time.Duration) {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	if cmd == nil {
		s.mu.Unlock()
		return
	}
	select {
	case <-exited:
		s.mu.Unlock()
		return // already gone: its figures could not be read
	default:
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	life := &s.lives[len(s.lives)-1]
	life.PeakMB = procStatusKB(pid, "VmHWM") / 1024
	if cpu, ok := processCPU(pid); ok {
		life.CPU = roundTo(cpu.Seconds(), 2)
	}
	life.Killed = sig == syscall.SIGKILL
	url := s.url
	s.ending = true
	s.mu.Unlock()
	c := readServerCounts(url)
	s.mu.Lock()
	life.HandedOver, life.HandOverFailures, life.GaveWay = c.handedOver, c.handOverFailures, c.gaveWay
	s.mu.Unlock()
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// kill ends the incarnation at once, as a crash would.
func (s *sundayServer) kill() { s.end(syscall.SIGKILL, 0) }

// stop shuts it down as an operator would (SIGTERM: running jobs finish).
func (s *sundayServer) stop() { s.end(syscall.SIGTERM, 40*time.Second) }

// failure is an exit nobody asked for, if any.
func (s *sundayServer) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.died
}

// tail is the last n lines of the child's log.
func (s *sundayServer) tail(n int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(log %s: %v)", s.logPath, err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// serversAlive is nil while every child runs (or was ended by us).
func serversAlive(servers []*sundayServer) error {
	var errs []error
	for _, s := range servers {
		if err := s.failure(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// stopServers stops every child still running, together.
func stopServers(servers []*sundayServer) {
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Add(1)
		go func() { defer wg.Done(); s.stop() }()
	}
	wg.Wait()
}

// serverCounts are a server's counters that serverLife reports.
type serverCounts struct{ handedOver, handOverFailures, gaveWay int }

// readServerCounts reads the server's counts of members' texts handed
// over, of hand-overs that failed and of connections given way (0 if its
// metrics cannot be read).
func readServerCounts(url string) (out serverCounts) {
	c := http.Client{Timeout: time.Second} // before a kill too: keep it short
	resp, err := c.Get(url + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return out
	}
	value := func(line string) int {
		f := strings.Fields(line)
		if len(f) != 2 {
			return 0
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		return int(v)
	}
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "steeple_webhook_events_total{") && strings.Contains(line, `outcome="handed_over"`):
			out.handedOver += value(line)
		case strings.HasPrefix(line, "steeple_webhook_hand_over_failures_total "):
			out.handOverFailures += value(line)
		case strings.HasPrefix(line, "steeple_tenant_conns_given_way_total "):
			out.gaveWay += value(line)
		}
	}
	return out
}

// procStatusKB reads a "kB" field of /proc/PID/status (0 where absent).
func procStatusKB(pid, field string) int {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb
		}
	}
	return 0
}
