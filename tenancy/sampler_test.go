package tenancy_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/tenancy"
)

// holdCounter counts, from outside the manager, what the test's Tenancy
// holds open right now. raw is what the outside view shows; held leaves out
// what is demonstrably already let go (see pgConnCounter).
type holdCounter func() (held, raw int, err error)

// sampler watches, every 5 ms, what this test holds open as seen from
// outside the manager, and the manager's own accounting.
type sampler struct {
	done   chan struct{}
	result chan sampleResult
}

type sampleResult struct {
	samples, peak, rawPeak int
	err                    error
	statsErr               string // first time the manager's own counts exceeded its config
}

func startSampler(t *testing.T, b *testkit.Backend, ten *tenancy.Tenancy, mc tenancy.ManagerConfig) *sampler {
	t.Helper()
	count := openTenantFiles(b.TenantsDir())
	if b.Postgres() {
		count = pgConnCounter(t, b)
	}
	s := &sampler{done: make(chan struct{}), result: make(chan sampleResult, 1)}
	go func() {
		var r sampleResult
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.done:
				s.result <- r
				return
			case <-tick.C:
			}
			held, raw, err := count()
			if err != nil {
				r.err = err
				continue
			}
			r.samples++
			r.peak, r.rawPeak = max(r.peak, held), max(r.rawPeak, raw)
			if st := ten.Manager.Stats(); r.statsErr == "" && (st.Conns > mc.MaxConns || st.Pools > mc.MaxPools) {
				r.statsErr = fmt.Sprintf("%+v", st)
			}
		}
	}()
	return s
}

func (s *sampler) stop() sampleResult {
	close(s.done)
	return <-s.result
}

// pgConnCounter counts the server connections named b.AppName, from a
// connection of its own (named otherwise) that is closed when the test ends.
//
// PostgreSQL lists a backend until it has noticed that its client hung up
// and has exited, which on a loaded machine takes a few milliseconds after
// the client closed the connection; raw counts those too. held leaves out
// the backends whose client had already closed its end before the sample
// began (the server's socket was in CLOSE_WAIT), so it is never less than
// what the process really held when pg_stat_activity was read.
func pgConnCounter(t *testing.T, b *testkit.Backend) holdCounter {
	cfg, err := pgx.ParseConfig(b.Servers()[0])
	if err != nil {
		t.Fatal(err)
	}
	port := int(cfg.Port)
	cfg.RuntimeParams["application_name"] = b.AppName + "-sampler"
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return func() (int, int, error) {
		gone, err := hungUpClients(port)
		if err != nil {
			return 0, 0, err
		}
		rows, err := conn.Query(context.Background(),
			`SELECT COALESCE(client_port, -1) FROM pg_stat_activity WHERE application_name = $1`, b.AppName)
		if err != nil {
			return 0, 0, err
		}
		ports, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		held := 0
		for _, p := range ports {
			if !gone[int(p)] {
				held++
			}
		}
		return held, len(ports), err
	}
}

// hungUpClients returns the client ports of local TCP connections to
// serverPort whose client has closed its end while the server's end is still
// open (CLOSE_WAIT). It asks the kernel through NETLINK_SOCK_DIAG, filtered
// to that state, so it stays cheap however many sockets the machine has.
func hungUpClients(serverPort int) (map[int]bool, error) {
	const (
		netlinkSockDiag  = 4  // NETLINK_SOCK_DIAG
		sockDiagByFamily = 20 // SOCK_DIAG_BY_FAMILY
		tcpCloseWait     = 8  // TCP_CLOSE_WAIT
	)
	gone := map[int]bool{}
	for _, family := range []byte{syscall.AF_INET, syscall.AF_INET6} {
		fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, netlinkSockDiag)
		if err != nil {
			return nil, err
		}
		// A netlink header (16 bytes), then struct inet_diag_req_v2 (56 bytes):
		// family, protocol, ext, pad, the states wanted, a socket id (zero).
		req := make([]byte, 16+56)
		binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
		binary.NativeEndian.PutUint16(req[4:], sockDiagByFamily)
		binary.NativeEndian.PutUint16(req[6:], syscall.NLM_F_REQUEST|syscall.NLM_F_DUMP)
		req[16], req[17] = family, syscall.IPPROTO_TCP
		binary.NativeEndian.PutUint32(req[20:], 1<<tcpCloseWait)
		err = syscall.Sendto(fd, req, 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK})
		if err == nil {
			err = readSockDiag(fd, serverPort, gone)
		}
		syscall.Close(fd)
		if err != nil {
			return nil, fmt.Errorf("sock_diag: %w", err)
		}
	}
	return gone, nil
}

// readSockDiag reads a sock_diag dump into gone. Each struct inet_diag_msg
// starts with family, state, timer, retrans, then the source and destination
// ports in network byte order.
func readSockDiag(fd, serverPort int, gone map[int]bool) error {
	buf := make([]byte, 32<<10)
	for {
		n, _, err := syscall.Recvfrom(fd, buf, 0)
		if err != nil {
			return err
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return err
		}
		for _, m := range msgs {
			switch {
			case m.Header.Type == syscall.NLMSG_DONE:
				return nil
			case m.Header.Type == syscall.NLMSG_ERROR:
				return fmt.Errorf("error %d", int32(binary.NativeEndian.Uint32(m.Data)))
			case len(m.Data) >= 8 && int(binary.BigEndian.Uint16(m.Data[4:])) == serverPort:
				gone[int(binary.BigEndian.Uint16(m.Data[6:]))] = true
			}
		}
	}
}

func serverConns(t *testing.T, b *testkit.Backend) int {
	var n int
	testkit.QueryServer(t, b.Servers()[0], func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1`, b.AppName).Scan(&n)
	})
	return n
}

// openTenantFiles counts the distinct tenant databases under dir that this
// process has open, from /proc/self/fd (a database and its -wal and -shm
// files count once). Reading the links is not atomic and descriptor numbers
// are reused at once, so each descriptor is read twice and counted only if
// it named the same file both times: every file counted was then open at the
// moment between the two passes, and the count never exceeds what was truly
// open at one instant.
func openTenantFiles(dir string) holdCounter {
	if real, err := filepath.EvalSymlinks(filepath.Dir(dir)); err == nil {
		dir = filepath.Join(real, filepath.Base(dir))
	}
	links := func(fds []string) map[string]string {
		out := make(map[string]string, len(fds))
		for _, fd := range fds {
			if target, err := os.Readlink("/proc/self/fd/" + fd); err == nil {
				out[fd] = target
			}
		}
		return out
	}
	return func() (int, int, error) {
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			return 0, 0, err
		}
		fds := make([]string, len(entries))
		for i, e := range entries {
			fds[i] = e.Name()
		}
		first, second := links(fds), links(fds)
		open := map[string]bool{}
		for fd, target := range first {
			if second[fd] != target || !strings.HasPrefix(target, dir+string(filepath.Separator)) {
				continue // reused between the passes, or not a tenant file
			}
			// A -shm or -wal file unlinked while still open reads "… (deleted)".
			name := strings.TrimSuffix(filepath.Base(target), " (deleted)")
			for _, suffix := range []string{"-wal", "-shm", "-journal"} {
				name = strings.TrimSuffix(name, suffix)
			}
			open[name] = true
		}
		return len(open), len(open), nil
	}
}
