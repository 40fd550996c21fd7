package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/config"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/secret"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
	"github.com/steeple-sms/steeple/tenancy"
)

// sundayProcs says how a --processes run's servers are set up.
type sundayProcs struct {
	n                     int
	workers, eventWorkers int
	rescueAfter           time.Duration
	dbMaxConns            int // each server's STEEPLE_DB_MAX_CONNS (PostgreSQL)
	maxOpen               int // each server's STEEPLE_MAX_OPEN_TENANTS (SQLite)
	registryConns         int // each server's STEEPLE_REGISTRY_MAX_CONNS
}

// checkProcessFlags refuses --processes and --kill-after combinations
// that cannot run.
func checkProcessFlags(b steeple.Backend, processes int, killAfter, rescueAfter time.Duration) error {
	switch {
	case processes < 0:
		return usageError{"--processes must be 0 (in-process) or more"}
	case processes > 1 && b != steeple.BackendPostgres:
		return usageError{fmt.Sprintf("--processes %d needs --backend postgres: SQLite is served by one process by design", processes)}
	case killAfter < 0 || (killAfter > 0 && processes == 0):
		return usageError{"--kill-after needs --processes 1 or more (it kills a server process) and a positive duration"}
	case rescueAfter < 3*time.Second:
		return usageError{"--rescue-after must be at least 3s"}
	}
	return nil
}

// sundayConnCounter counts the run's PostgreSQL connections: this
// process's, or with --processes the servers' (application_name
// "steeple") to the run's databases.
func sundayConnCounter(ctx context.Context, e *env, processes bool) (func(context.Context) (int, error), func(), error) {
	if !processes {
		return e.serverConnCounter(ctx)
	}
	dbs, err := e.tenantDatabases(ctx)
	if err != nil {
		return nil, nil, err
	}
	return e.serveConnCounter(ctx, append(dbs, e.regDB))
}

// startSessionCount counts the sessions started on the churches'
// PostgreSQL databases from now until the returned func is called (-1 on
// SQLite, or when it cannot): every one is a server process started and
// its church's statements prepared again, the cost of a connection budget
// smaller than the churches sending.
func startSessionCount(ctx context.Context, e *env, b steeple.Backend) func() int64 {
	if b != steeple.BackendPostgres {
		return func() int64 { return -1 }
	}
	dbs, err := e.tenantDatabases(ctx)
	if err != nil {
		e.r.logf("counting church database sessions: %v", err)
		return func() int64 { return -1 }
	}
	before := e.serverSessions(ctx, dbs)
	return func() int64 {
		after := e.serverSessions(ctx, dbs)
		if before < 0 || after < 0 {
			return -1
		}
		return after - before
	}
}

// startSundayProcs builds the stack of a --processes run: the simulator on
// a real port, a keys file, and an in-process Steeple whose queue is never
// started — it creates the broadcasts, and the send jobs it inserts are
// worked by the `steeple serve` children that launch starts.
func startSundayProcs(ctx context.Context, e *env, ten *tenancy.Tenancy, total int, p sundayProcs) (_ *sundayStack, err error) {
	dir, err := os.MkdirTemp("", "steeple-bench-sunday-")
	if err != nil {
		return nil, err
	}
	s := &sundayStack{dir: dir, stopSim: func() {}}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	// Telnyx retries a webhook for longer than the simulator's default (3
	// tries 50 ms apart): a backoff of 3 s spans a killed server's restart,
	// so its receipts and STOPs reach it once it is back.
	s.sim = telnyxsim.New(telnyxsim.Options{History: total + 20000 + 1000, WebhookBackoff: 3 * time.Second})
	if s.simURL, s.stopSim, err = s.sim.Start("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("telnyx simulator: %w", err)
	}
	keysFile := filepath.Join(dir, "keys.json")
	if err := secret.WriteFile(keysFile, secret.Generate()); err != nil {
		return nil, err
	}
	keys, err := secret.Load(keysFile)
	if err != nil {
		return nil, err
	}
	def := config.Default()
	def.TelnyxAPIKey, def.TelnyxBaseURL, def.TelnyxPublicKey = "simulated", s.simURL+"/v2", s.sim.PublicKeyBase64()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	s.app, err = app.New(ctx, app.Options{Config: def, Tenancy: ten, Keys: keys, PublicURL: "http://127.0.0.1:1", Logger: quiet,
		Tune: func(t *app.Tuning) {
			t.Messaging.AccountRate = 0
			t.Queue = jobs.Config{MaxWorkers: 1, Logger: quiet, NoPeriodicJobs: true}
		}})
	if err != nil {
		return nil, err
	}
	s.sink = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	set := serverSettings{dataDir: e.dataDir, keysFile: keysFile, simRoot: s.simURL, simKey: s.sim.PublicKeyBase64(),
		workers: p.workers, eventWorkers: p.eventWorkers, rescueAfter: p.rescueAfter, dbMaxConns: p.dbMaxConns, maxOpen: p.maxOpen, registryConns: p.registryConns}
	if e.backend == steeple.BackendPostgres {
		set.registryURL, set.tenantServer = e.regURL, e.serverURL
	}
	s.launch = func(ctx context.Context, r *runner) error {
		var err error
		s.servers, err = startSundayServers(ctx, r, dir, p.n, set)
		return err
	}
	return s, nil
}

// showLogs prints the end of every server's log (after a failure).
func (s *sundayStack) showLogs(r *runner) {
	for _, srv := range s.servers {
		r.logf("server %d log (%s), last lines:\n%s", srv.n, srv.logPath, srv.tail(30))
	}
}

// sundayKill is what one --kill-after did.
type sundayKill struct {
	at         time.Duration // after the storm's start
	server     int
	sentBefore int // texts the simulator had accepted when the kill came
	// sending is how many recipients were marked sending (handed to the
	// provider or about to be, their "sent" not yet written) just after
	// the kill: the killed server's are the only texts it can duplicate.
	sending int
	restart time.Duration
	err     error
}

// killLater SIGKILLs the first server after d and starts it again at once
// with the same settings, then counts what was in flight.
func (s *sundayStack) killLater(ctx context.Context, r *runner, ten *tenancy.Tenancy, fleet []*sundayChurch, storm time.Time, d time.Duration) <-chan sundayKill {
	done := make(chan sundayKill, 1)
	s.killing = make(chan struct{})
	go func() {
		defer close(s.killing)
		select {
		case <-ctx.Done():
			done <- sundayKill{err: ctx.Err()}
			return
		case <-time.After(time.Until(storm.Add(d))):
		}
		victim := s.servers[0]
		k := sundayKill{server: victim.n, sentBefore: len(s.sim.Messages())}
		pid := victim.pid()
		victim.kill()
		k.at = time.Since(storm)
		// The restart is timed on its own: counting what was in flight
		// meanwhile visits every church and may take longer.
		restarted := make(chan error, 1)
		go func() {
			err := victim.start(ctx)
			k.restart = time.Since(storm) - k.at
			restarted <- err
		}()
		sending, err := countSending(ctx, ten, fleet)
		k.sending = sending
		if rerr := <-restarted; rerr != nil {
			err = fmt.Errorf("restarting server %d: %w", victim.n, rerr)
		}
		k.err = err
		r.logf("killed server %d (pid %d) %.1fs into the storm after %d texts: %d recipients were sending; restarted as pid %d in %.1fs",
			victim.n, pid, k.at.Seconds(), k.sentBefore, sending, victim.pid(), k.restart.Seconds())
		done <- k
	}()
	return done
}

// countSending counts the fleet's recipients marked sending.
func countSending(ctx context.Context, ten *tenancy.Tenancy, fleet []*sundayChurch) (int, error) {
	total := 0
	for _, c := range fleet {
		h, err := ten.Manager.Acquire(ctx, c.id)
		if err != nil {
			return 0, err
		}
		var n int
		err = h.QueryRowContext(ctx, `SELECT COUNT(*) FROM message_recipients WHERE status = $1`, steeple.RecipientSending).Scan(&n)
		h.Release()
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// sentByServer counts the simulator's accepted texts by the server that
// sent them: each text carries its sender's public URL as webhook URL.
func (s *sundayStack) sentByServer() []int {
	out := make([]int, len(s.servers))
	for _, m := range s.sim.Messages() {
		for i, srv := range s.servers {
			if strings.HasPrefix(m.WebhookURL, srv.url+"/") {
				out[i]++
			}
		}
	}
	return out
}

// serverFigures reports each server's peak memory (VmHWM of every
// incarnation, read before it ended) and its texts.
func (s *sundayStack) serverFigures(r *runner, extra []kv) {
	peak := 0
	type serverReport struct {
		Server int          `json:"server"`
		Sent   int          `json:"sent"`
		Lives  []serverLife `json:"lives"`
	}
	sent := s.sentByServer()
	var each []serverReport
	for i, srv := range s.servers {
		srv.mu.Lock()
		lives := append([]serverLife(nil), srv.lives...)
		srv.mu.Unlock()
		for _, l := range lives {
			peak = max(peak, l.PeakMB)
		}
		each = append(each, serverReport{Server: srv.n, Sent: sent[i], Lives: lives})
	}
	r.out.metric("server_rss_peak_mb", float64(peak), "MiB", append(extra, kv{"servers", each})...)
}

// textStopOnce posts one STOP through the simulator to the servers in
// turn, starting with the i-th: a server killed meanwhile is skipped
// (the simulator's own retries span a restart; this is for one that took
// longer). A STOP posted twice is applied once more, harmlessly.
func (s *sundayStack) textStopOnce(ctx context.Context, i int, st *sundayStop) error {
	var err error
	for try := range 5 {
		url := s.webhookURLs[(i+try)%len(s.webhookURLs)]
		err = s.sim.Inbound(ctx, telnyxsim.InboundMessage{From: st.phone, To: st.church.number, Text: "STOP", WebhookURL: url})
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Second):
		}
	}
	return err
}
