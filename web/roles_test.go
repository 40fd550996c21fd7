package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/steeple-sms/steeple/internal/testkit"
)

// inviteSender invites a sender to c's church through the API, accepts for
// them (password testkit.Password) and returns their email.
func inviteSender(t *testing.T, s *testkit.Server, c *testkit.Church) string {
	t.Helper()
	email := "sal@" + url.PathEscape(c.ID[:8]) + ".example.org"
	if r := s.Do(t, "POST", "/api/v1/admins/invitations", c.Token, map[string]any{"email": email, "role": "sender"}); r.Status != http.StatusCreated {
		t.Fatalf("invite a sender: %d %s", r.Status, r.Raw)
	}
	tok := s.Mail.WaitFor(t, email, "/invitations/accept?token=").Token()
	if r := s.Do(t, "POST", "/api/v1/invitations/accept", "", map[string]any{"token": tok, "name": "Sal Ortiz", "password": testkit.Password}); r.Status != http.StatusCreated {
		t.Fatalf("accept: %d %s", r.Status, r.Raw)
	}
	return email
}
