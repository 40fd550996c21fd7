package registration_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

const password = "correct horse battery"

// church is a signed-up church and its owner's access token.
type church struct {
	id, name, email, token string
}

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

// buy orders a number through the API (so the provider account has it)
// and waits until it is the church's.
func buy(t *testing.T, s *testkit.Server, c *church, area string) string {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/numbers/available?area_code="+area, c.token, nil)
	var found struct {
		Numbers []struct{ Number string } `json:"numbers"`
	}
	decodeJSON(t, r.Raw, &found)
	if r.Status != http.StatusOK || len(found.Numbers) == 0 {
		t.Fatalf("search %s: %d %s", area, r.Status, r.Raw)
	}
	n := found.Numbers[0].Number
	if r := s.Do(t, "POST", "/api/v1/numbers", c.token, map[string]any{"number": n}); r.Status != http.StatusAccepted {
		t.Fatalf("order %s: %d %s", n, r.Status, r.Raw)
	}
	eventually(t, 15*time.Second, func() string {
		ids, err := s.Tenancy.Registry.SendingNumbers(context.Background(), c.id)
		for _, id := range ids {
			if id == n {
				return ""
			}
		}
		return fmt.Sprintf("%s is not %s's yet (%v, %v)", n, c.name, ids, err)
	})
	return n
}

// profile is a valid brand profile; change fields with set.
func profile(set ...string) map[string]any {
	p := map[string]any{"legal_name": "Grace Chapel of Springfield", "ein": "27-4615093", "street": "1 Main St",
		"city": "Springfield", "state": "IL", "postal_code": "62701", "website": "https://grace.example.org",
		"contact_email": "office@grace.example.org", "contact_phone": "+13125550199"}
	for i := 0; i+1 < len(set); i += 2 {
		p[set[i]] = set[i+1]
	}
	return p
}

// The EIN of profile(), in the forms it could be stored.
var einForms = []string{"274615093", "27-4615093"}

// regView is GET /api/v1/registration.
type regView struct {
	Status  string         `json:"status"`
	Profile map[string]any `json:"profile"`
	BrandID string         `json:"brand_id"`
	CampID  string         `json:"campaign_id"`
	Reasons []string       `json:"reasons"`
	Numbers []struct {
		Number          string `json:"number"`
		State           string `json:"state"`
		CampaignState   string `json:"campaign_state"`
		CampaignReasons string `json:"campaign_reasons"`
	} `json:"numbers"`
	raw string
}

func (v *regView) campaignState(n string) string {
	for _, x := range v.Numbers {
		if x.Number == n {
			return x.CampaignState
		}
	}
	return "(not listed)"
}

func getReg(t *testing.T, s *testkit.Server, c *church) *regView {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/registration", c.token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("get registration of %s: %d %s", c.name, r.Status, r.Raw)
	}
	var v regView
	decodeJSON(t, r.Raw, &v)
	v.raw = r.Raw
	return &v
}

// submit is POST /api/v1/registration, wanting 202.
func submit(t *testing.T, s *testkit.Server, c *church, p map[string]any) *regView {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/registration", c.token, p)
	if r.Status != http.StatusAccepted {
		t.Fatalf("submit registration of %s: %d %s", c.name, r.Status, r.Raw)
	}
	var v regView
	decodeJSON(t, r.Raw, &v)
	v.raw = r.Raw
	return &v
}

// waitReg waits until the registration is in status and every number
// given has campaign state want.
func waitReg(t *testing.T, s *testkit.Server, c *church, status string, numbers map[string]string) *regView {
	t.Helper()
	var v *regView
	eventually(t, 15*time.Second, func() string {
		v = getReg(t, s, c)
		if v.Status != status {
			return fmt.Sprintf("%s's registration is %s; want %s: %s", c.name, v.Status, status, v.raw)
		}
		for n, want := range numbers {
			if got := v.campaignState(n); got != want {
				return fmt.Sprintf("%s's number %s is %q; want %q: %s", c.name, n, got, want, v.raw)
			}
		}
		return ""
	})
	return v
}

// eventually polls cond ("" once satisfied) every 25 ms until timeout.
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

// polled reports whether the registry lists the church for the poller.
func polled(t testing.TB, s *testkit.Server, c *church) bool {
	return registryCount(t, s, `SELECT COUNT(*) FROM registration_polls WHERE tenant_id = $1`, c.id) == 1
}

// simBrand, simCampaign and simAssignment find the simulator's objects.
func simBrand(s *testkit.Server, id string) *telnyxsim.Brand {
	for _, b := range s.Sim.Brands() {
		if b.BrandID == id {
			return &b
		}
	}
	return nil
}

func simCampaign(s *testkit.Server, id string) *telnyxsim.Campaign {
	for _, c := range s.Sim.Campaigns() {
		if c.CampaignID == id {
			return &c
		}
	}
	return nil
}

func simAssignment(s *testkit.Server, phone string) *telnyxsim.NumberAssignment {
	for _, a := range s.Sim.Assignments() {
		if a.PhoneNumber == phone {
			return &a
		}
	}
	return nil
}

func setOutcome(t *testing.T, s *testkit.Server, kind string, o telnyxsim.RegistrationOutcome) {
	t.Helper()
	if err := s.Sim.ScriptRegistration(kind, o); err != nil {
		t.Fatal(err)
	}
}
