package bench

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/tenancy"
	"github.com/steeple-sms/steeple/webhooks"
)

// signedRequest is one webhook as the provider posts it.
type signedRequest struct {
	body      []byte
	signature string
	timestamp string
}

// signInbound prepares n signed message.received webhooks, each with its
// own event and message id, from one of 1,000 phones to one of numbers in
// turn, signed now (they stay within the five-minute tolerance).
func signInbound(ctx context.Context, priv ed25519.PrivateKey, numbers []string, n int, base string) ([]signedRequest, error) {
	out := make([]signedRequest, n)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	parts := runtime.NumCPU()
	for p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := p; i < n && ctx.Err() == nil; i += parts {
				now := time.Now().UTC()
				payload := telnyx.MessagePayload{
					ID: steeple.NewID(), RecordType: "message", Direction: "inbound", Type: "SMS",
					From: telnyx.Endpoint{PhoneNumber: fmt.Sprintf("+1415555%04d", i%1000), LineType: "Wireless"},
					To:   []telnyx.Recipient{{PhoneNumber: numbers[i%len(numbers)], Status: "webhook_delivered", LineType: "VoIP"}},
					Text: fmt.Sprintf("Hello pastor, see you Sunday (%d)", i), Media: []telnyx.Media{}, Parts: 1, Encoding: "GSM-7",
					Errors: []telnyx.MessageError{}, Cost: &telnyx.Cost{Amount: "0.0000", Currency: "USD"}, ReceivedAt: &now,
				}
				body, err := webhookBody(telnyx.EventMessageReceived, now, payload, base+"/webhooks/telnyx")
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				out[i] = signedRequest{body: body, signature: telnyx.Sign(priv, ts, body), timestamp: ts}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, ctx.Err()
}

// webhookBody is the provider's envelope around payload, with a new event id.
func webhookBody(eventType string, occurred time.Time, payload telnyx.MessagePayload, deliveredTo string) ([]byte, error) {
	p, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	return json.Marshal(telnyx.Webhook{
		Data: telnyx.Event{ID: steeple.NewID(), EventType: eventType, OccurredAt: occurred, Payload: p, RecordType: "event"},
		Meta: telnyx.WebhookMeta{Attempt: 1, DeliveredTo: deliveredTo},
	})
}

// loadConfig is the load generator: clients posting on keep-alive
// connections, one request at a time each.
type loadConfig struct {
	clients  int
	duration time.Duration
}

type loadResult struct {
	n       int
	elapsed time.Duration
	lat     []float64 // ms, one per request
	cpu     []kv
}

func (l loadResult) rate() float64 { return float64(l.n) / l.elapsed.Seconds() }

// run posts warm (untimed: it opens the connections) and then reqs until
// they are used up or the duration has passed. Every answer must be 200.
func (c loadConfig) run(ctx context.Context, target string, warm, reqs []signedRequest) (*loadResult, error) {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        c.clients,
		MaxIdleConnsPerHost: c.clients,
		MaxConnsPerHost:     c.clients,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	post := func(ctx context.Context, r signedRequest, buf []byte) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(r.body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(telnyx.HeaderSignature, r.signature)
		req.Header.Set(telnyx.HeaderTimestamp, r.timestamp)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		n, _ := io.ReadFull(resp.Body, buf)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Contains(buf[:n], []byte(`"accepted"`)) {
			return fmt.Errorf("answer %d %q, want 200 accepted", resp.StatusCode, buf[:n])
		}
		return nil
	}
	var (
		next     atomic.Int64
		mu       sync.Mutex
		lat      []float64
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	// Warm-up: every client opens its connection.
	for w := range c.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256)
			for i := w; i < len(warm); i += c.clients {
				if err := post(ctx, warm[i], buf); err != nil {
					fail(fmt.Errorf("warm-up: %w", err))
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	phase, cancel := context.WithTimeout(ctx, c.duration)
	defer cancel()
	cpu0 := readCPU()
	start := time.Now()
	for range c.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256)
			mine := make([]float64, 0, len(reqs)/c.clients+1)
			defer func() {
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
			for phase.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(reqs) {
					return
				}
				t0 := time.Now()
				err := post(ctx, reqs[i], buf) // not phase: a request started is finished
				if err != nil {
					fail(err)
					cancel()
					return
				}
				mine = append(mine, ms(time.Since(t0)))
			}
		}()
	}
	wg.Wait()
	res := &loadResult{elapsed: time.Since(start), lat: lat, n: len(lat)}
	res.cpu = cpuSince(cpu0, readCPU())
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if res.n == 0 {
		return nil, errors.New("no request completed")
	}
	return res, nil
}

// limitServer is the bare handler: read, verify, insert one row.
type limitServer struct {
	url   string
	close func()
}

func startLimitServer(ctx context.Context, e *env, pub ed25519.PublicKey, conns int) (*limitServer, error) {
	db, err := sql.Open("sqlite", tenancy.SQLiteDSN(filepath.Join(e.dataDir, "limit.db"), "rwc"))
	if err != nil {
		return nil, err
	}
	// As the registry's pool (tenancy's limitPool): conns connections, kept.
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	// The registry's webhook_events table, with its index.
	for _, q := range []string{
		`CREATE TABLE webhook_events (event_id TEXT PRIMARY KEY, received_at TIMESTAMP NOT NULL)`,
		`CREATE INDEX webhook_events_received ON webhook_events (received_at)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			db.Close()
			return nil, fmt.Errorf("limit database: %w", err)
		}
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, webhooks.MaxBody))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sig := r.Header.Get(telnyx.HeaderSignature)
		if err := telnyx.VerifySignature(pub, sig, r.Header.Get(telnyx.HeaderTimestamp), body, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if _, err := tenancy.InTx(dbExecer{db}).RecordWebhookEvent(r.Context(), sig, time.Now().UTC()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"accepted"}`+"\n")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		db.Close()
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &limitServer{url: "http://" + ln.Addr().String() + "/webhooks/telnyx", close: func() {
		_ = srv.Close()
		_ = db.Close()
	}}, nil
}

// dbExecer runs the registry's typed writes on a plain database, outside
// any queue transaction (the bench's stand-in endpoint has no queue).
type dbExecer struct{ db *sql.DB }

func (e dbExecer) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := e.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
