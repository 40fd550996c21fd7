package testkit

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/members"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// Password is the password of every admin the kit signs up.
const Password = "correct horse battery"

// ChurchOptions describe the church Server.Church signs up. The zero value
// is a church with a unique name, its verified owner, no number and no members.
type ChurchOptions struct {
	Name  string // default "Church N", unique in the test binary
	Email string // the owner's; default owner@<name-with-dashes>.example.org
	// Number is a sending number assigned to the church in the registry
	// (not bought through the provider); "" for none.
	Number string
	// Members is how many opted-in members to add straight to the
	// church's database (no welcome texts), with phones MemberPhone(i).
	Members int
	// MemberPhone is the i-th member's phone (default Phone(i)).
	MemberPhone func(i int) string
	// QuietHoursOff sets the church's quiet hours to none, so the time of
	// day the test runs does not matter.
	QuietHoursOff bool
	// Unverified leaves the owner's email unverified.
	Unverified bool
}

// Church is a signed-up church as a test uses it.
type Church struct {
	ID, Name, Email, Password string
	Token                     string // the owner's access token
	Number                    string // its sending number ("" for none)
	MemberIDs, Phones         []string
}

var churchSeq atomic.Int64

// Church signs a church up through the API as o describes.
func (s *Server) Church(t testing.TB, o ChurchOptions) *Church {
	t.Helper()
	if o.Name == "" {
		o.Name = fmt.Sprintf("Church %d", churchSeq.Add(1))
	}
	if o.Email == "" {
		o.Email = "owner@" + strings.ToLower(strings.ReplaceAll(o.Name, " ", "-")) + ".example.org"
	}
	var r *Response
	if o.Unverified {
		r = s.SignupUnverified(t, o.Name, o.Email, Password)
	} else {
		r = s.Signup(t, o.Name, o.Email, Password)
	}
	var a SessionAnswer
	r.Decode(t, &a)
	c := &Church{ID: a.Tenant.ID, Name: o.Name, Email: o.Email, Password: Password, Token: a.AccessToken, Number: o.Number}
	if o.Number != "" {
		if err := s.Tenancy.Registry.AssignNumber(context.Background(), c.ID, o.Number); err != nil {
			t.Fatalf("assign %s to %s: %v", o.Number, o.Name, err)
		}
	}
	if o.QuietHoursOff {
		s.SetQuietHours(t, c.ID, "00:00", "00:00")
	}
	if o.Members > 0 {
		c.MemberIDs, c.Phones = s.AddMembers(t, c.ID, o.Members, o.MemberPhone)
	}
	return c
}

// Relogin signs the owner in again and keeps the new access token (they
// last 15 minutes of the test clock, which tests move by hours).
func (c *Church) Relogin(t testing.TB, s *Server) {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": c.Email, "password": c.Password, "tenant_id": c.ID})
	if r.Status != http.StatusOK {
		t.Fatalf("login to %s: %d %s", c.Name, r.Status, r.Raw)
	}
	var a SessionAnswer
	r.Decode(t, &a)
	c.Token = a.AccessToken
}

// API is the typed API client acting as the church's owner.
func (c *Church) API(s *Server) *Client { return s.Client(c.Token) }

// MemberOptions describe a member AddMember creates.
type MemberOptions struct {
	FirstName, LastName, Phone string
	// OptedIn records consent collected by an admin; without it the
	// member starts opted out.
	OptedIn bool
}

// AddMember creates a member straight in the church's database and returns
// its id. Unlike the API it queues no welcome text (those wait for the
// church's quiet hours, which depend on the time of day the test runs).
func (s *Server) AddMember(t testing.TB, tenantID string, o MemberOptions) string {
	t.Helper()
	consent := steeple.Consent{Status: steeple.ConsentOptedOut, Source: steeple.ConsentSourceAdmin}
	if o.OptedIn {
		consent = steeple.Consent{Status: steeple.ConsentOptedIn, Source: steeple.ConsentSourceAdmin, Wording: "Yes, text me"}
	}
	if o.LastName == "" {
		o.LastName = "Tester"
	}
	var id string
	s.WithHandle(t, tenantID, func(h *tenancy.Handle) {
		m, err := s.Store.CreateMember(context.Background(), h, store.MemberInput{FirstName: o.FirstName, LastName: o.LastName, Phone: o.Phone}, consent)
		if err != nil {
			t.Fatalf("create member %s in %s: %v", o.FirstName, tenantID, err)
		}
		id = m.ID
	})
	return id
}

// SetQuietHours sets a church's quiet hours through the members service
// (equal times: none).
func (s *Server) SetQuietHours(t testing.TB, tenantID, start, end string) {
	t.Helper()
	s.WithHandle(t, tenantID, func(h *tenancy.Handle) {
		if _, err := s.Members.UpdateSettings(context.Background(), h, members.SettingsUpdate{QuietHoursStart: &start, QuietHoursEnd: &end}); err != nil {
			t.Fatalf("quiet hours of %s: %v", tenantID, err)
		}
	})
}

// SetSendRate lowers a church's own send rate (texts a second, its
// send_rate setting).
func (s *Server) SetSendRate(t testing.TB, tenantID, rate string) {
	t.Helper()
	s.WithHandle(t, tenantID, func(h *tenancy.Handle) {
		if err := s.Store.SetSetting(context.Background(), h, steeple.SettingSendRate, rate); err != nil {
			t.Fatalf("send rate of %s: %v", tenantID, err)
		}
	})
}

// AddMembers adds n opted-in members named M0, M1… with phones phone(i)
// (default Phone(i)) as AddMember does, and returns their ids and phones.
func (s *Server) AddMembers(t testing.TB, tenantID string, n int, phone func(i int) string) (ids, phones []string) {
	t.Helper()
	if phone == nil {
		phone = Phone
	}
	for i := range n {
		p := phone(i)
		ids = append(ids, s.AddMember(t, tenantID, MemberOptions{FirstName: fmt.Sprintf("M%d", i), Phone: p, OptedIn: true}))
		phones = append(phones, p)
	}
	return ids, phones
}

// Member reads a member straight from the church's database.
func (s *Server) Member(t testing.TB, tenantID, id string) *steeple.Member {
	t.Helper()
	var m *steeple.Member
	s.WithHandle(t, tenantID, func(h *tenancy.Handle) {
		var err error
		if m, err = s.Store.Member(context.Background(), h, id); err != nil {
			t.Fatalf("member %s of %s: %v", id, tenantID, err)
		}
	})
	return m
}

// WithHandle runs fn on a church's database.
func (s *Server) WithHandle(t testing.TB, tenantID string, fn func(h *tenancy.Handle)) {
	t.Helper()
	h, err := s.Tenancy.Manager.Acquire(context.Background(), tenantID)
	if err != nil {
		t.Fatalf("acquire %s: %v", tenantID, err)
	}
	defer h.Release()
	fn(h)
}

// Phone is the i-th test phone number (i < 10,000), in E.164.
func Phone(i int) string { return fmt.Sprintf("+1312200%04d", i) }

// Eventually polls cond (which returns "" once satisfied, else what is
// still wrong) every 25 ms, failing with its last answer after timeout.
func Eventually(t testing.TB, timeout time.Duration, cond func() string) {
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

// RegistryCount runs a count query on the registry database.
func (s *Server) RegistryCount(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.Tenancy.Registry.DB().QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// JobCount is how many jobs of a kind the queue holds (River keeps
// finished jobs), in any of states when given.
func (s *Server) JobCount(t testing.TB, kind string, states ...string) int {
	t.Helper()
	q, args := `SELECT COUNT(*) FROM river_job WHERE kind = $1`, []any{kind}
	if len(states) > 0 {
		ph := make([]string, len(states))
		for i, st := range states {
			ph[i] = fmt.Sprintf("$%d", i+2)
			args = append(args, st)
		}
		q += ` AND state IN (` + strings.Join(ph, ", ") + `)`
	}
	return s.RegistryCount(t, q, args...)
}

// WaitUntil checks cond every 25 ms until it holds, failing after timeout
// with what (a string, or a func() string read at the time of failure).
func WaitUntil(t testing.TB, timeout time.Duration, cond func() bool, what any) {
	t.Helper()
	Eventually(t, timeout, func() string {
		if cond() {
			return ""
		}
		if f, ok := what.(func() string); ok {
			return f()
		}
		return fmt.Sprint(what)
	})
}
