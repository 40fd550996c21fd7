package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

// registrationValues is a valid registration form.
func registrationValues(legal string) url.Values {
	return url.Values{"legal_name": {legal}, "ein": {"12-3456789"}, "street": {"1 Main St"}, "city": {"Springfield"},
		"state": {"il"}, "postal_code": {"62701"}, "website": {"https://grace.example.org"},
		"contact_email": {"office@grace.example.org"}, "contact_phone": {"(312) 555-0199"}}
}

// waitStatus reloads /registration until it shows status.
func waitStatus(t *testing.T, b *browser, status string) *page {
	t.Helper()
	var p *page
	testkit.Eventually(t, 15*time.Second, func() string {
		p = b.get("/registration")
		if !strings.Contains(p.Body, `data-status="`+status+`"`) {
			return "registration is not " + status
		}
		return ""
	})
	return p
}

// Through the page: field errors beside their fields (typed values kept,
// the EIN never echoed), the check on blur, a brand the provider rejects
// with its reasons and what to fix, a corrected resubmission that goes on
// to approval, and the limits that change.
func TestRegistrationPage(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be)
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100"})
		b := newBrowser(t, s, "en")
		b.signInChurch(c.Email)
		b.get("/registration").want(t, 200, `data-status="not_submitted"`, "Not submitted yet", "Exactly as on your IRS EIN letter",
			"Grace Chapel: Service moves to 11am", "days", "no daily cap", `name="ein"`)

		bad := registrationValues("")
		bad.Set("ein", "12-34")
		bad.Set("state", "Illinois")
		bad.Set("postal_code", "6270")
		bad.Set("contact_phone", "555")
		p := b.post("/registration", bad).want(t, 400, "This is required.", "Please type the 9-digit EIN", "Please use the 2-letter state code",
			"Please type a US ZIP code", "This is not a valid phone number.", `value="1 Main St"`, `value="Illinois"`)
		p.lacks(t, `value="12-34"`)

		check := func(field, value string) *page {
			return b.do2("POST", "/registration/check", url.Values{"field": {field}, field: {value}}, map[string]string{"HX-Request": "true"})
		}
		check("ein", "123").want(t, 200, `id="r-ein-error"`, "Please type the 9-digit EIN").lacks(t, "<html")
		if f := check("ein", "12-3456789").want(t, 200, `id="r-ein-error"`); strings.Contains(f.Body, "Please") {
			t.Fatalf("a good EIN is refused: %s", f.Body)
		}
		if f := check("legal_name", "").want(t, 200); strings.Contains(f.Body, "required") {
			t.Fatalf("an empty field left is flagged before the form is sent: %s", f.Body)
		}
		check("password", "x").want(t, 404)

		reasons := []string{"EIN does not match the IRS record for the legal company name."}
		testkit.ScriptRegistration(t, s.Sim, telnyxsim.RegistrationBrand, telnyxsim.RegistrationOutcome{Result: telnyxsim.Reject, Reasons: reasons})
		p = b.post("/registration", registrationValues("Grace Chapel"))
		if p.Status != http.StatusSeeOther || p.Location != "/registration?done=submitted" {
			t.Fatalf("submit: %d %q\n%s", p.Status, p.Location, p.Body)
		}
		p = waitStatus(t, b, "brand_failed")
		p.want(t, 200, reasons[0], "What to fix: the legal name must match", `class="failed"`, "Correct and submit again",
			`value="Grace Chapel"`, "ending in 6789", `value="(312) 555-0199"`).lacks(t, `value="12-3456789"`, `value="123456789"`)

		testkit.ScriptRegistration(t, s.Sim, telnyxsim.RegistrationBrand, telnyxsim.RegistrationOutcome{Result: telnyxsim.Approve})
		b.post("/registration", registrationValues("Grace Chapel of Springfield, Inc.")).want(t, http.StatusSeeOther)
		p = waitStatus(t, b, "provisioned")
		p.want(t, 200, "Approved", "Grace Chapel of Springfield, Inc.", "•••••6789", "registered for 10DLC").
			lacks(t, `id="reg-form"`, "What to fix")
		// Nothing to submit once approved.
		b.post("/registration", registrationValues("Grace Chapel")).want(t, 400, "resubmitted only after a failure")

		es := newBrowser(t, s, "es")
		es.signInChurch(c.Email)
		es.get("/registration").want(t, 200, "Registro 10DLC", "Aprobado")
	})
}
