package numbers_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/numbers"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/tenancy"
)

const password = "correct horse battery"

// owner is the church owning e164 in the registry ("" for none).
func owner(t testing.TB, s *testkit.Server, e164 string) string {
	t.Helper()
	id, err := s.Tenancy.Registry.NumberOwner(context.Background(), e164)
	if err != nil {
		return ""
	}
	return id
}

// ordersFor lists every registry order for a number, any church, any step.
func ordersFor(t testing.TB, s *testkit.Server, e164 string) []testkit.OrderView {
	t.Helper()
	rows, err := s.Tenancy.Registry.DB().QueryContext(context.Background(),
		`SELECT id, e164, step, error FROM number_orders WHERE e164 = $1 ORDER BY created_at, id`, e164)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []testkit.OrderView
	for rows.Next() {
		var o testkit.OrderView
		if err := rows.Scan(&o.ID, &o.Number, &o.Step, &o.Error); err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

// wantConsistent checks the registry's invariants for a number: at most
// one live order, and a phone_numbers row only for a church whose order is
// done (or an operator's assignment: owner given as want).
func wantConsistent(t testing.TB, s *testkit.Server, e164, wantOwner string) {
	t.Helper()
	live := 0
	for _, o := range ordersFor(t, s, e164) {
		if o.Step == tenancy.OrderPlacing || o.Step == tenancy.OrderOrdered || o.Step == tenancy.OrderActive {
			live++
		}
	}
	if live > 1 {
		t.Errorf("%s has %d live orders", e164, live)
	}
	if got := owner(t, s, e164); got != wantOwner {
		t.Errorf("registry owner of %s = %q; want %q", e164, got, wantOwner)
	}
}

// providerClient talks to the simulator directly, as an operator would.
func providerClient(s *testkit.Server) *telnyx.Client {
	return telnyx.New(telnyx.Config{BaseURL: s.SimURL + "/v2", APIKey: "test"})
}

// providerNumber is the simulator account's number e164 (nil when the
// account does not have it).
func providerNumber(t testing.TB, s *testkit.Server, e164 string) *telnyx.PhoneNumber {
	t.Helper()
	ns, err := providerClient(s).ListNumbers(context.Background(), e164)
	if err != nil {
		t.Fatalf("list provider numbers: %v", err)
	}
	for i := range ns {
		if ns[i].PhoneNumber == e164 {
			return &ns[i]
		}
	}
	return nil
}

// profiles lists the church's messaging profiles in the registry.
func profiles(t testing.TB, s *testkit.Server, tenantID string) []string {
	t.Helper()
	rows, err := s.Tenancy.Registry.DB().QueryContext(context.Background(),
		`SELECT provider_id FROM provider_objects WHERE tenant_id = $1 AND kind = $2 ORDER BY provider_id`, tenantID, numbers.KindMessagingProfile)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

// newService builds another Steeple over the same registry, as a second
// process (or the same one after a restart) would, talking to the provider
// at providerURL (the simulator's root or a proxy in front of it), and
// returns its numbers service.
func newService(t *testing.T, s *testkit.Server, providerURL string) *numbers.Service {
	return s.Another(t, providerURL, func(tu *app.Tuning) { tu.Telnyx.Timeout = 5 * time.Second }).Numbers
}

// fault breaks matching provider calls.
type fault struct {
	method string
	path   func(string) bool
	times  int  // how many more calls to break
	status int  // the answer given instead
	after  bool // pass the call on first: the provider acts, its answer is lost
	hits   int
}

// faultyProvider is a proxy to the simulator that breaks chosen calls: a
// provider failing one kind of call, or one whose answer never arrives.
type faultyProvider struct {
	mu     sync.Mutex
	faults []*fault
	proxy  *httputil.ReverseProxy
	URL    string
}

func newFaultyProvider(t *testing.T, s *testkit.Server) *faultyProvider {
	target, err := url.Parse(s.SimURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultyProvider{proxy: httputil.NewSingleHostReverseProxy(target)}
	hs := httptest.NewServer(p)
	t.Cleanup(hs.Close)
	p.URL = hs.URL
	return p
}

func (p *faultyProvider) add(f *fault) *fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, f)
	return f
}

func (f *fault) hitCount(p *faultyProvider) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return f.hits
}

func (p *faultyProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	var hit *fault
	for _, f := range p.faults {
		if f.times > 0 && r.Method == f.method && f.path(r.URL.Path) {
			f.times--
			f.hits++
			hit = f
			break
		}
	}
	p.mu.Unlock()
	if hit == nil {
		p.proxy.ServeHTTP(w, r)
		return
	}
	if hit.after {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		p.proxy.ServeHTTP(httptest.NewRecorder(), r)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(hit.status)
	_, _ = fmt.Fprintf(w, `{"errors":[{"code":"10007","title":"%s","detail":"Injected by the test."}]}`, http.StatusText(hit.status))
}

// isMessagingPatch matches PATCH /v2/phone_numbers/{id}/messaging.
func isMessagingPatch(p string) bool {
	return strings.HasPrefix(p, "/v2/phone_numbers/") && strings.HasSuffix(p, "/messaging")
}

func isNumberOrders(p string) bool { return p == "/v2/number_orders" }

// errCode is the error code of an API answer ("" when it has none).
func errCode(r *testkit.Response) string {
	var e testkit.ErrorAnswer
	_ = json.Unmarshal([]byte(r.Raw), &e)
	return e.Error.Code
}

// jobErrors returns the errors River recorded on the jobs of kind whose
// arguments mention id (each error as stored, JSON).
func jobErrors(t testing.TB, s *testkit.Server, kind, id string) []string {
	t.Helper()
	rows, err := s.Tenancy.Registry.DB().QueryContext(context.Background(), `SELECT args, errors FROM river_job WHERE kind = $1`, kind)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var args, errs sql.NullString
		if err := rows.Scan(&args, &errs); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(args.String, id) || !errs.Valid {
			continue
		}
		var list []json.RawMessage
		if err := json.Unmarshal([]byte(errs.String), &list); err != nil {
			// PostgreSQL answers a jsonb[] as an array literal: {"{…}","{…}"}.
			out = append(out, strings.Split(strings.Trim(errs.String, "{}"), `","`)...)
			continue
		}
		for _, e := range list {
			out = append(out, string(e))
		}
	}
	return out
}
