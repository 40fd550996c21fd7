package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
)

// People, My account and the audit log through their forms: invitations
// with a role (sent, resent, revoked), role changes keeping one owner,
// removal after a confirmation, the admin's own phone and reply emails,
// two-step sign-in with its QR code and recovery codes, the audit log by
// kind; another church's ids are not found and a sender is refused.
func TestPeopleAccountAudit(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be, testkit.ServerOptions{NoQueue: true})
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		other := s.Church(t, testkit.ChurchOptions{})
		b := newBrowser(t, s, "en")
		b.post("/signin", url.Values{"email": {c.Email}, "password": {testkit.Password}, "next": {"/"}})

		b.post("/admins/invite", url.Values{"email": {"not an email"}, "role": {"sender"}}).want(t, 400, "not a valid email")
		b.follow(b.post("/admins/invite", url.Values{"email": {"lee@grace.example.org"}, "role": {"sender"}})).
			want(t, 200, "Invitation sent", "lee@grace.example.org", "Sender")
		first := s.Mail.WaitFor(t, "lee@grace.example.org", "/invitations/accept?token=").Token()
		var invs struct{ Invitations []struct{ ID string } }
		c.API(s).Call(t, "GET", "/api/v1/admins/invitations", nil, http.StatusOK, &invs)
		inv := invs.Invitations[0].ID
		b.follow(b.post("/admins/invitations/"+inv+"/resend", nil)).want(t, 200, "A new link was sent")
		testkit.WaitUntil(t, 10*time.Second, func() bool { return s.Mail.Count("lee@grace.example.org") == 2 }, "the second invitation mail")
		if r := s.Do(t, "POST", "/api/v1/invitations/accept", "", map[string]any{"token": first, "name": "Lee", "password": password}); r.Status != http.StatusNotFound {
			t.Fatalf("the replaced link still works: %d %s", r.Status, r.Raw)
		}
		c.API(s).Call(t, "GET", "/api/v1/admins/invitations", nil, http.StatusOK, &invs)
		b.follow(b.post("/admins/invitations/"+invs.Invitations[0].ID+"/revoke", nil)).want(t, 200, "Invitation cancelled", "No invitations waiting")

		// Another church's ids are not found through the forms.
		var theirs struct{ Admins []steeple.Admin }
		other.API(s).Call(t, "GET", "/api/v1/admins", nil, http.StatusOK, &theirs)
		b.post("/admins/"+theirs.Admins[0].ID+"/role", url.Values{"role": {"sender"}}).want(t, 404)
		b.post("/admins/"+theirs.Admins[0].ID+"/remove", url.Values{"confirm": {"yes"}}).want(t, 404)
		b.post("/admins/invitations/"+steeple.NewID()+"/resend", nil).want(t, 404)

		// Roles: the only owner cannot step down; a sender made admin.
		sender := inviteSender(t, s, c)
		var mine struct{ Admins []steeple.Admin }
		c.API(s).Call(t, "GET", "/api/v1/admins", nil, http.StatusOK, &mine)
		var ownerID, senderID string
		for _, a := range mine.Admins {
			if a.Role == steeple.RoleOwner {
				ownerID = a.ID
			} else {
				senderID = a.ID
			}
		}
		b.post("/admins/"+ownerID+"/role", url.Values{"role": {"admin"}}).want(t, 409, "at least one owner")

		// A sender sees the people but none of the owner's forms, and no audit log.
		sb := newBrowser(t, s, "en")
		sb.signInChurch(sender)
		sb.get("/admins").want(t, 200, "Grace Chapel").lacks(t, `action="/admins/invite"`, `/role"`)
		sb.post("/admins/invite", url.Values{"email": {"x@example.org"}, "role": {"owner"}}).want(t, 403)
		sb.get("/audit").want(t, 403, "Only an owner")

		b.follow(b.post("/admins/"+senderID+"/role", url.Values{"role": {"admin"}})).want(t, 200, "Role changed.")
		b.post("/admins/"+senderID+"/remove", nil).want(t, 200, "Remove Sal Ortiz")
		b.follow(b.post("/admins/"+senderID+"/remove", url.Values{"confirm": {"yes"}})).want(t, 200, "Removed.").lacks(t, "Sal Ortiz")

		// My account: phone, reply emails, two-step sign-in.
		b.follow(b.post("/account/phone", url.Values{"phone": {"(312) 555-0142"}})).want(t, 200, "Phone saved.", "(312) 555-0142")
		b.follow(b.post("/account/notifications", url.Values{"reply_notifications": {"hourly"}})).want(t, 200, `value="hourly" checked`)
		setup := b.post("/account/mfa/setup", nil).want(t, 200, `id="mfa-qr" src="data:image/png;base64,`)
		secret := regexp.MustCompile(`secret=([A-Z2-7]+)`).FindStringSubmatch(setup.Body)
		if secret == nil {
			t.Fatalf("no secret on the setup page:\n%s", setup.Body)
		}
		b.post("/account/mfa/enable", url.Values{"code": {"000000"}}).want(t, 400, "secret="+secret[1])
		code, err := totp.GenerateCode(secret[1], time.Now())
		if err != nil {
			t.Fatal(err)
		}
		on := b.post("/account/mfa/enable", url.Values{"code": {code}}).want(t, 200, `id="recovery-codes"`, `download="steeple-recovery-codes.txt"`, "data:text/plain")
		if n := strings.Count(on.Body, "<li><code>"); n != 10 {
			t.Fatalf("%d recovery codes shown; want 10", n)
		}
		if !c.API(s).Me(t).Admin.MFAEnabled {
			t.Fatal("two-step sign-in is not on after the page said so")
		}

		// The audit log by kind.
		b.get("/audit").want(t, 200, "admin.invited", "admin.role_changed", "mfa.enabled", "Invited someone", "Turned on two-step sign-in")
		b.get("/audit?kind=admin.").want(t, 200, "admin.invitation_revoked").lacks(t, "mfa.enabled")
		b.get("/audit?kind=bogus").want(t, 400)
	})
}
