package registration_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

const password = "correct horse battery"

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

func getReg(t *testing.T, s *testkit.Server, c *testkit.Church) *regView {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/registration", c.Token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("get registration of %s: %d %s", c.Name, r.Status, r.Raw)
	}
	var v regView
	testkit.DecodeJSON(t, r.Raw, &v)
	v.raw = r.Raw
	return &v
}

// submit is POST /api/v1/registration, wanting 202 and one more
// registration.submitted entry in the church's audit log.
func submit(t *testing.T, s *testkit.Server, c *testkit.Church, p map[string]any) *regView {
	t.Helper()
	audited := func() int {
		var page struct{ Entries []struct{ Action string } }
		c.API(s).Call(t, "GET", "/api/v1/audit?action=registration.", nil, http.StatusOK, &page)
		return len(page.Entries)
	}
	before := audited()
	r := s.Do(t, "POST", "/api/v1/registration", c.Token, p)
	if r.Status != http.StatusAccepted {
		t.Fatalf("submit registration of %s: %d %s", c.Name, r.Status, r.Raw)
	}
	if n := audited(); n != before+1 {
		t.Fatalf("%d registration.submitted entries after a submission; want %d", n, before+1)
	}
	var v regView
	testkit.DecodeJSON(t, r.Raw, &v)
	v.raw = r.Raw
	return &v
}

// waitReg waits until the registration is in status and every number
// given has campaign state want.
func waitReg(t *testing.T, s *testkit.Server, c *testkit.Church, status string, numbers map[string]string) *regView {
	t.Helper()
	var v *regView
	testkit.Eventually(t, 15*time.Second, func() string {
		v = getReg(t, s, c)
		if v.Status != status {
			return fmt.Sprintf("%s's registration is %s; want %s: %s", c.Name, v.Status, status, v.raw)
		}
		for n, want := range numbers {
			if got := v.campaignState(n); got != want {
				return fmt.Sprintf("%s's number %s is %q; want %q: %s", c.Name, n, got, want, v.raw)
			}
		}
		return ""
	})
	return v
}

// polled reports whether the registry lists the church for the poller.
func polled(t testing.TB, s *testkit.Server, c *testkit.Church) bool {
	return s.RegistryCount(t, `SELECT COUNT(*) FROM registration_polls WHERE tenant_id = $1`, c.ID) == 1
}

// waitUnpolled waits for the poller to stop looking at the church. The
// church's status is written before its poll is unscheduled, so the poll
// may linger a moment after the status a test waited for.
func waitUnpolled(t testing.TB, s *testkit.Server, c *testkit.Church, what string) {
	t.Helper()
	testkit.Eventually(t, 5*time.Second, func() string {
		if polled(t, s, c) {
			return "the poller still looks at " + what
		}
		return ""
	})
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
