// Package bench holds Steeple's benchmark scenarios, run as
// `steeple bench SCENARIO [--backend sqlite|postgres] [flags]`.
//
// The contract (see the project's benchmark notes): one JSON object per line
// on stdout, one line per figure and nothing else; progress on stderr; every
// scenario cleans up what it created (a temporary data directory, or the
// PostgreSQL databases of its run) and finishes in under a minute with its
// default flags on a 2-core machine.
//
// PostgreSQL comes from STEEPLE_BENCH_POSTGRES_URL, a server URL whose role
// may create databases. Each run creates its own registry database under a
// random name, places its tenants on that server, and drops the registry and
// every tenant database it created when it ends, also after an error or an
// interrupt. Every connection Steeple makes in a run carries the run's own
// application_name, so pg_stat_activity can be filtered to that run.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/steeple-sms/steeple"
)

// EnvPostgresURL names the PostgreSQL server benchmarks run against.
const EnvPostgresURL = "STEEPLE_BENCH_POSTGRES_URL"

// scenario is one benchmark: it parses its own flags and prints its figures.
type scenario struct {
	summary string
	run     func(ctx context.Context, r *runner, args []string) error
}

var scenarios = map[string]scenario{
	"tenancy":   {"provisioning latency and fleet migration speed", runTenancy},
	"budget":    {"throughput of many tenants within one connection budget", runBudget},
	"scheduler": {"the scheduler tick: cost by churches due, not churches", runScheduler},
	"broadcast": {"the send pipeline: persist and enqueue, drain, pacing", runBroadcast},
	"webhook":   {"inbound webhooks against a bare handler; receipts over few and many churches", runWebhook},
	"web":       {"web pages of a church with 10,000 members, and an import through the web upload", runWeb},
	"move":      {"moving a church of 10,000 members between two PostgreSQL servers: how long its writes pause", runMove},
	"sunday":    {"Sunday morning: a fleet broadcasting at once, receipts and STOPs flowing", runSunday},
	"ops":       {"operators' commands on a large church: export and import", runOps},
}

// usageError makes Main exit with status 2 (bad scenario or flags).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// Main runs the scenario named by args[0] with the flags that follow. It
// returns the process exit status: 0 on success, 2 for an unknown scenario
// or bad flags, 1 for any other failure.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "" {
		printUsage(stderr)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr)
		return 0
	}
	sc, ok := scenarios[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "steeple bench: unknown scenario %q\n", args[0])
		printUsage(stderr)
		return 2
	}

	// The first interrupt cancels the run so that cleanup still happens; a
	// second one kills the process as usual.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	r := &runner{
		scenario: args[0],
		out:      &output{w: stdout, scenario: args[0]},
		errw:     &syncWriter{w: stderr},
		start:    time.Now(),
	}
	watching := make(chan struct{})
	defer func() {
		stop()
		<-watching
	}()
	go func() {
		defer close(watching)
		<-ctx.Done()
		stop()
		// A signal cancels with a cause of its own; Main's return with the plain error.
		if cause := context.Cause(ctx); cause != context.Canceled && cause != context.DeadlineExceeded {
			r.logf("%v: stopping, then cleaning up (interrupt again to quit at once, leaving data behind)", cause)
		}
	}()
	err := sc.run(ctx, r, args[1:])
	if err == nil {
		err = r.out.err
	}
	var ue usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 2
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "steeple bench %s: %s\n", args[0], ue.msg)
		return 2
	case err != nil:
		if ctx.Err() != nil {
			r.logf("stopped early (cleanup done): %v", context.Cause(ctx))
		}
		fmt.Fprintf(stderr, "steeple bench %s: FAILED: %v\n", args[0], err)
		return 1
	}
	r.logf("done in %.1fs", time.Since(r.start).Seconds())
	return 0
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: steeple bench SCENARIO [--backend sqlite|postgres] [flags]")
	fmt.Fprintln(w, "scenarios (steeple bench SCENARIO -h lists its flags):")
	names := make([]string, 0, len(scenarios))
	for n := range scenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, scenarios[n].summary)
	}
	fmt.Fprintf(w, "PostgreSQL runs need %s (a server URL whose role may create databases).\n", EnvPostgresURL)
}

// runner carries what every scenario needs: output, progress, cleanup.
type runner struct {
	scenario string
	out      *output
	errw     *syncWriter
	start    time.Time
}

// logf prints a progress line on stderr.
func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.errw, "[%6.1fs] %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

// newFlags returns a flag set that reports to stderr and never exits.
func (r *runner) newFlags() *flag.FlagSet {
	fs := flag.NewFlagSet("steeple bench "+r.scenario, flag.ContinueOnError)
	fs.SetOutput(r.errw)
	return fs
}

// parseFlags parses args, turning every complaint into a usageError.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	return nil
}

// backendFlag validates --backend.
func backendFlag(v string) (steeple.Backend, error) {
	switch v {
	case "sqlite":
		return steeple.BackendSQLite, nil
	case "postgres", "postgresql", "pg":
		return steeple.BackendPostgres, nil
	}
	return "", usageError{fmt.Sprintf("--backend must be sqlite or postgres, not %q", v)}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// ---- JSON output ----------------------------------------------------------

// kv is one extra key of an output line; order is kept as given.
type kv struct {
	k string
	v any
}

// output writes one JSON object per figure:
// {"scenario":…,"backend":…,"metric":…,"value":…,"unit":…, extra keys…}.
type output struct {
	mu       sync.Mutex
	w        io.Writer
	scenario string
	backend  string
	common   []kv // extra keys on every line (e.g. the machine)
	err      error
}

func (o *output) metric(name string, value float64, unit string, extra ...kv) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var b strings.Builder
	b.WriteByte('{')
	write := func(k string, v any) {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		if f, ok := v.(float64); ok {
			b.WriteString(formatValue(f))
			return
		}
		vb, err := json.Marshal(v)
		if err != nil {
			vb = []byte("null")
		}
		b.Write(vb)
	}
	write("scenario", o.scenario)
	write("backend", o.backend)
	write("metric", name)
	write("value", value)
	write("unit", unit)
	seen := map[string]bool{"scenario": true, "backend": true, "metric": true, "value": true, "unit": true}
	for _, e := range append(append([]kv(nil), extra...), o.common...) {
		if !seen[e.k] {
			seen[e.k] = true
			write(e.k, e.v)
		}
	}
	b.WriteString("}\n")
	if _, err := io.WriteString(o.w, b.String()); err != nil && o.err == nil {
		o.err = fmt.Errorf("writing results: %w", err)
	}
}

// formatValue prints a figure with the precision it deserves: one decimal
// from 100 up, four significant digits below. JSON has no NaN or infinity;
// those print as null.
func formatValue(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "null"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
	}
	s, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 4, 64), 64)
	return strconv.FormatFloat(s, 'f', -1, 64)
}

func machine() map[string]any {
	return map[string]any{"cpus": runtime.NumCPU()}
}

// ---- statistics -----------------------------------------------------------

// percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of xs.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ---- environments ---------------------------------------------------------

// cpuSample is the CPU time used so far by this process and by the whole
// host, read from /proc. A phase's figures are the difference of two.
type cpuSample struct {
	ok                  bool
	process             time.Duration // this process, user + system
	hostBusy, hostTotal uint64        // host-wide, in clock ticks
}

// clockTick is USER_HZ, 100 on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

func readCPU() cpuSample {
	process, ok := processCPU("self")
	host, err := os.ReadFile("/proc/stat")
	if !ok || err != nil {
		return cpuSample{}
	}
	line, _, _ := strings.Cut(string(host), "\n")
	hf := strings.Fields(line)
	if len(hf) < 5 || hf[0] != "cpu" {
		return cpuSample{}
	}
	s := cpuSample{ok: true, process: process}
	for i, v := range hf[1:] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return cpuSample{}
		}
		if i < 8 { // user nice system idle iowait irq softirq steal; guest time is inside user
			s.hostTotal += n
			if i != 3 && i != 4 {
				s.hostBusy += n
			}
		}
	}
	return s
}

// processCPU is the user + system CPU time a process (pid, or "self") has
// used so far, from /proc/PID/stat.
func processCPU(pid string) (time.Duration, bool) {
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, false
	}
	// Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
	rest := string(stat)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * clockTick, true
}

// cpuSince describes the CPU used between two samples as extra keys: this
// process's CPU seconds and how busy the host's CPUs were (0…1).
func cpuSince(a, b cpuSample) []kv {
	if !a.ok || !b.ok || b.hostTotal <= a.hostTotal {
		return nil
	}
	return []kv{
		{"process_cpu_s", roundTo((b.process - a.process).Seconds(), 2)},
		{"host_cpu_busy", roundTo(float64(b.hostBusy-a.hostBusy)/float64(b.hostTotal-a.hostTotal), 3)},
	}
}
