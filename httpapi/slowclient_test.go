package httpapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steeple-sms/steeple/httpapi"
	"github.com/steeple-sms/steeple/internal/testkit"
)

// inFlight reads the server's steeple_http_requests_in_flight gauge.
func inFlight(t *testing.T, reg prometheus.Gatherer) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "steeple_http_requests_in_flight" {
			return int(mf.GetMetric()[0].GetGauge().GetValue())
		}
	}
	t.Fatal("no steeple_http_requests_in_flight metric")
	return 0
}

// waitInFlight polls the in-flight gauge until it reaches n.
func waitInFlight(t *testing.T, s *testkit.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for inFlight(t, s.Metrics) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d requests in flight after 60 s; want %d", inFlight(t, s.Metrics), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// slowRequest opens a connection from local (empty: any loopback address)
// and sends a request's headers and the first bytes of a body announced as
// length bytes long, then never finishes it. The connection closes when
// the test ends.
func slowRequest(t *testing.T, base, local, method, path, token, contentType, start string, length int) net.Conn {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	c, err := d.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n", method, path, u.Host, contentType, length)
	if token != "" {
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", token)
	}
	b.WriteString("\r\n" + start)
	if _, err := c.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	return c
}

// Hundreds of requests whose bodies never finish, spread over many
// churches, hold no church database connection: another church, and the
// churches being attacked themselves, are served in their normal time, and
// no handle is held meanwhile. (Before: each such request held a connection
// of its church, four of them held a church's whole share, and five
// churches' worth took the whole budget, so everyone got 503.)
func TestSlowBodiesHoldNoChurchConnection(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		const churches, conns = 20, 300
		tokens := make([]string, churches)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 4)
		for i := range churches {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				r := s.Signup(t, fmt.Sprintf("Slow Church %d", i), fmt.Sprintf("owner%d@slow.example.org", i), pw1)
				tokens[i] = r.Tokens(t).AccessToken
			}()
		}
		wg.Wait()
		good := signup(t, s, "Grace Chapel", "pat@grace.example.org", pw2)

		for i := range conns {
			tok := tokens[i%churches]
			if i%2 == 0 {
				slowRequest(t, s.URL, "", "POST", "/api/v1/groups", tok, "application/json", `{"name":`, 1000)
			} else {
				slowRequest(t, s.URL, "", "POST", "/api/v1/members/import", tok, "text/csv", "first_name,last_name,phone\n", 10<<20)
			}
		}
		waitInFlight(t, s, conns)
		held := s.Tenancy.Manager.Stats().InUse

		// Normal time: a few tens of milliseconds; 2 s leaves room for a
		// loaded machine and is well under the 5 s acquire timeout.
		const normal = 2 * time.Second
		timed := func(who, method, path, token string, body any, want int) {
			t.Helper()
			start := time.Now()
			r := s.Do(t, method, path, token, body)
			if took := time.Since(start); r.Status != want || took > normal {
				t.Fatalf("%s: %s %s: %d in %v (%s); want %d within %v", who, method, path, r.Status, took, r.Raw, want, normal)
			}
		}
		for i := range 3 {
			timed("another church", "GET", "/api/v1/me", good.access, nil, http.StatusOK)
			timed("another church", "POST", "/api/v1/groups", good.access, map[string]any{"name": fmt.Sprintf("Choir %d", i)}, http.StatusCreated)
			timed("another church", "GET", "/api/v1/members", good.access, nil, http.StatusOK)
			timed("an attacked church", "GET", "/api/v1/groups", tokens[i], nil, http.StatusOK)
			timed("an attacked church", "POST", "/api/v1/groups", tokens[i], map[string]any{"name": "Ushers"}, http.StatusCreated)
		}
		timed("login", "POST", "/api/v1/auth/login", "", map[string]any{"email": good.email, "password": good.password}, http.StatusOK)
		if held != 0 {
			t.Fatalf("%d church connections held by %d unfinished bodies; want none", held, conns)
		}
		if st := s.Tenancy.Manager.Stats(); st.InUse != 0 {
			t.Fatalf("%d church connections still held after the answers; want none", st.InUse)
		}
		if n := inFlight(t, s.Metrics); n < conns {
			t.Fatalf("only %d slow requests still open; the test no longer shows what it claims", n)
		}
	})
}

// An answer is built while the church's connection is held and sent after
// it is released: a client that never reads its (large) answer holds no
// connection either.
func TestSlowReaderHoldsNoChurchConnection(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		a := signup(t, s, "Grace Chapel", "pat@grace.example.org", pw1)
		// An import of 9,000 invalid rows answers with a reason per row:
		// about 800 KB, far more than the sockets buffer for a client that
		// does not read.
		var csv strings.Builder
		csv.WriteString("first_name,phone\n")
		long := strings.Repeat("x", 101)
		for i := range 9000 {
			fmt.Fprintf(&csv, "%s,+1312555%04d\n", long, i)
		}
		// The same API on a server whose sockets buffer little, as a slow
		// client over a real network makes them.
		reg := prometheus.NewRegistry()
		srv := httpapi.NewHTTPServer(httpapi.New(httpapi.Deps{Tenancy: s.Tenancy, Auth: s.Auth, Members: s.Members,
			Metrics: reg, Logger: slog.New(slog.DiscardHandler)}), httpapi.Limits{Metrics: reg})
		srv.ConnState = func(c net.Conn, st http.ConnState) {
			if tc, ok := c.(*net.TCPConn); ok && st == http.StateNew {
				_ = tc.SetWriteBuffer(4096)
			}
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { srv.Close() })
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		}}
		const readers = 3
		for range readers {
			c, err := d.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			fmt.Fprintf(c, "POST /api/v1/members/import HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: text/csv\r\nContent-Length: %d\r\n\r\n%s",
				ln.Addr(), a.access, csv.Len(), csv.String())
		}
		// The answers are stuck in the sockets (the requests stay in flight);
		// meanwhile the church's connections must be free.
		deadline := time.Now().Add(60 * time.Second)
		for inFlight(t, reg) < readers || s.Tenancy.Manager.Stats().InUse != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("in flight %d, church connections held %d: a slow reader holds a connection", inFlight(t, reg), s.Tenancy.Manager.Stats().InUse)
			}
			time.Sleep(20 * time.Millisecond)
		}
		for range 5 {
			start := time.Now()
			if r := s.Do(t, "GET", "/api/v1/me", a.access, nil); r.Status != http.StatusOK || time.Since(start) > 2*time.Second {
				t.Fatalf("/me beside slow readers: %d in %v", r.Status, time.Since(start))
			}
		}
		if n := inFlight(t, reg); n < readers {
			t.Fatalf("only %d slow readers still in flight; the test no longer shows what it claims", n)
		}
	})
}

// One address may have only so many requests in flight; the next gets 429
// with Retry-After, while other addresses and the provider's webhooks from
// the same address are still served, and the address is served again once
// its requests end.
func TestRequestsPerClientBound(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		const maxReq = 4
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true, HTTP: func(l *httpapi.Limits) {
			l.MaxRequestsPerClient, l.MaxWebhooksPerClient = maxReq, 2
		}})
		var slow []net.Conn
		for range maxReq {
			slow = append(slow, slowRequest(t, s.URL, "127.0.0.1", "POST", "/api/v1/auth/login", "", "application/json", "{", 100))
		}
		waitInFlight(t, s, maxReq)
		r := s.Do(t, "GET", "/healthz", "", nil)
		if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || !strings.Contains(r.Raw, `"too_many"`) {
			t.Fatalf("request %d from one address: %d %v %s; want 429 with Retry-After", maxReq+1, r.Status, r.Header, r.Raw)
		}
		// Webhooks are counted apart: the provider is not starved by the API.
		if r := s.Do(t, "POST", "/webhooks/telnyx", "", `{}`); r.Status == http.StatusTooManyRequests {
			t.Fatalf("webhook from a busy address: 429 %s", r.Raw)
		}
		// Another address is served.
		u, _ := url.Parse(s.URL)
		other := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}}
		resp, err := other.Get(s.URL + "/healthz")
		if err != nil {
			t.Fatalf("from 127.0.0.2 to %s: %v", u.Host, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("another address: %d", resp.StatusCode)
		}
		// The webhook bound holds too.
		for range 2 {
			slow = append(slow, slowRequest(t, s.URL, "127.0.0.1", "POST", "/webhooks/telnyx", "", "application/json", "{", 100))
		}
		waitInFlight(t, s, maxReq+2)
		if r := s.Do(t, "POST", "/webhooks/telnyx", "", `{}`); r.Status != http.StatusTooManyRequests {
			t.Fatalf("webhook beyond its bound: %d %s; want 429", r.Status, r.Raw)
		}
		for _, c := range slow {
			c.Close()
		}
		deadline := time.Now().Add(30 * time.Second)
		for s.Do(t, "GET", "/healthz", "", nil).Status != http.StatusOK {
			if time.Now().After(deadline) {
				t.Fatal("the address is still refused after its requests ended")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// A church at its share of the budget waits and then gets 503 with
// Retry-After; other churches are served meanwhile in their normal time.
func TestChurchAtItsShareDoesNotAffectOthers(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true, AcquireTimeout: 500 * time.Millisecond})
		greedy := signup(t, s, "Greedy Chapel", "pat@greedy.example.org", pw1)
		others := []*account{signup(t, s, "Grace Chapel", "sam@grace.example.org", pw2), signup(t, s, "Hope Church", "kim@hope.example.org", pw3)}
		// Hold the greedy church's whole share (4 in the test kit).
		ctx := context.Background()
		for range 4 {
			h, err := s.Tenancy.Manager.Acquire(ctx, greedy.tenantID)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(h.Release)
		}
		start := time.Now()
		r := s.Do(t, "GET", "/api/v1/me", greedy.access, nil)
		if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
			t.Fatalf("church beyond its share: %d %v %s; want 503 with Retry-After", r.Status, r.Header, r.Raw)
		}
		if took := time.Since(start); took < 400*time.Millisecond {
			t.Fatalf("church beyond its share refused after %v; want a wait up to the acquire timeout", took)
		}
		var wg sync.WaitGroup
		for _, o := range others {
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					start := time.Now()
					if r := s.Do(t, "GET", "/api/v1/me", o.access, nil); r.Status != http.StatusOK || time.Since(start) > 2*time.Second {
						t.Errorf("another church beside one at its share: %d in %v", r.Status, time.Since(start))
					}
				}()
			}
		}
		// The greedy church keeps asking meanwhile.
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := s.Do(t, "GET", "/api/v1/me", greedy.access, nil); r.Status != http.StatusServiceUnavailable {
					t.Errorf("church beyond its share: %d", r.Status)
				}
			}()
		}
		wg.Wait()
	})
}

// The server does not wait forever on a client: a body or headers that do
// not arrive within the read timeouts end the request and free what it held.
func TestSlowClientIsCutOff(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true, HTTP: func(l *httpapi.Limits) {
			// The write timeout stays long: it also bounds the signup below,
			// which on PostgreSQL (CREATE DATABASE) can pass 2 s.
			l.ReadHeaderTimeout, l.ReadTimeout, l.WriteTimeout = 300*time.Millisecond, 600*time.Millisecond, 30*time.Second
		}})
		a := signup(t, s, "Grace Chapel", "pat@grace.example.org", pw1)
		body := slowRequest(t, s.URL, "", "POST", "/api/v1/groups", a.access, "application/json", `{"name":`, 1000)
		u, _ := url.Parse(s.URL)
		headers, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { headers.Close() })
		fmt.Fprintf(headers, "GET /api/v1/me HTTP/1.1\r\nHost: %s\r\n", u.Host) // and never the blank line
		for name, c := range map[string]net.Conn{"slow body": body, "slow headers": headers} {
			start := time.Now()
			_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
			buf := make([]byte, 4096)
			for {
				if _, err := c.Read(buf); err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						t.Fatalf("%s: connection still open after %v", name, time.Since(start))
					}
					break // closed by the server (after an answer, if any)
				}
			}
		}
		deadline := time.Now().Add(20 * time.Second)
		for inFlight(t, s.Metrics) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d requests still in flight after their clients were cut off", inFlight(t, s.Metrics))
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
