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

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/numbers"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/tenancy"
)

const password = "correct horse battery"

// church is a signed-up church and its owner's access token.
type church struct {
	id, name, email, token string
}

// newChurch signs a church up through the API.
func newChurch(t *testing.T, s *testkit.Server, name string) *church {
	t.Helper()
	email := "owner@" + strings.ToLower(strings.ReplaceAll(name, " ", "-")) + ".example.org"
	r := s.Signup(t, name, email, password)
	var body struct {
		Tenant      struct{ ID string } `json:"tenant"`
		AccessToken string              `json:"access_token"`
	}
	decodeJSON(t, r.Raw, &body)
	return &church{id: body.Tenant.ID, name: name, email: email, token: body.AccessToken}
}

// relogin gets a fresh access token (after the clock moved past its life).
func (c *church) relogin(t *testing.T, s *testkit.Server) {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": c.email, "password": password, "tenant_id": c.id})
	if r.Status != http.StatusOK {
		t.Fatalf("login %s: %d %s", c.name, r.Status, r.Raw)
	}
	c.token, _ = r.Body["access_token"].(string)
}

func decodeJSON(t testing.TB, raw string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		t.Fatalf("decode %q: %v", raw, err)
	}
}

// numberView and orderView are what GET /api/v1/numbers shows.
type numberView struct {
	Number        string              `json:"number"`
	State         steeple.NumberState `json:"state"`
	ReleaseAt     *time.Time          `json:"release_at"`
	CampaignState string              `json:"campaign_state"`
	CreatedAt     time.Time           `json:"created_at"`
}

type orderView struct {
	ID     string `json:"id"`
	Number string `json:"number"`
	Step   string `json:"step"`
	Error  string `json:"error"`
}

type listView struct {
	Numbers []numberView `json:"numbers"`
	Orders  []orderView  `json:"orders"`
}

func (l *listView) number(e164 string) *numberView {
	for i := range l.Numbers {
		if l.Numbers[i].Number == e164 {
			return &l.Numbers[i]
		}
	}
	return nil
}

// order is the newest listed order for e164.
func (l *listView) order(e164 string) *orderView {
	for i := len(l.Orders) - 1; i >= 0; i-- {
		if l.Orders[i].Number == e164 {
			return &l.Orders[i]
		}
	}
	return nil
}

// list is GET /api/v1/numbers.
func list(t *testing.T, s *testkit.Server, c *church) *listView {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/numbers", c.token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list numbers of %s: %d %s", c.name, r.Status, r.Raw)
	}
	var l listView
	decodeJSON(t, r.Raw, &l)
	return &l
}

// available searches the provider through the API and returns the numbers.
func available(t *testing.T, s *testkit.Server, c *church, query string) []string {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/numbers/available?"+query, c.token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("search %q: %d %s", query, r.Status, r.Raw)
	}
	var body struct {
		Numbers []struct {
			Number   string   `json:"number"`
			Features []string `json:"features"`
		} `json:"numbers"`
	}
	decodeJSON(t, r.Raw, &body)
	var out []string
	for _, n := range body.Numbers {
		out = append(out, n.Number)
	}
	return out
}

// order is POST /api/v1/numbers; it fails the test unless the answer is 202.
func order(t *testing.T, s *testkit.Server, c *church, e164 string) orderView {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/numbers", c.token, map[string]any{"number": e164})
	if r.Status != http.StatusAccepted {
		t.Fatalf("order %s for %s: %d %s", e164, c.name, r.Status, r.Raw)
	}
	var body struct {
		Order orderView `json:"order"`
	}
	decodeJSON(t, r.Raw, &body)
	return body.Order
}

// waitActive waits until the church's list shows e164 active and no order
// for it under way (failed ones stay listed for a week).
func waitActive(t *testing.T, s *testkit.Server, c *church, e164 string) *listView {
	t.Helper()
	var l *listView
	eventually(t, 15*time.Second, func() string {
		l = list(t, s, c)
		if n := l.number(e164); n == nil || n.State != steeple.NumberActive {
			return fmt.Sprintf("%s is not an active number of %s: %+v", e164, c.name, l)
		}
		for _, o := range l.Orders {
			if o.Number == e164 && o.Step != tenancy.OrderFailed {
				return fmt.Sprintf("order for %s still listed: %+v", e164, o)
			}
		}
		return ""
	})
	return l
}

// buy orders a number the provider offers in area code and waits until it
// is the church's.
func buy(t *testing.T, s *testkit.Server, c *church, area string) string {
	t.Helper()
	found := available(t, s, c, "area_code="+area)
	if len(found) == 0 {
		t.Fatalf("no number available in %s", area)
	}
	order(t, s, c, found[0])
	waitActive(t, s, c, found[0])
	return found[0]
}

// eventually polls cond ("" once satisfied, else what is still wrong) every
// 25 ms, failing with its last answer after timeout.
func eventually(t testing.TB, timeout time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, msg)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// registryCount runs a count query on the registry database.
func registryCount(t testing.TB, s *testkit.Server, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.Tenancy.Registry.DB().QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

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
func ordersFor(t testing.TB, s *testkit.Server, e164 string) []orderView {
	t.Helper()
	rows, err := s.Tenancy.Registry.DB().QueryContext(context.Background(),
		`SELECT id, e164, step, error FROM number_orders WHERE e164 = $1 ORDER BY created_at, id`, e164)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []orderView
	for rows.Next() {
		var o orderView
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
	e, _ := r.Body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
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
