package members

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// Actor is the admin making a change, for the audit log.
type Actor struct {
	AdminID string
	IP      string
}

type actorKey struct{}

// WithActor names the admin acting in ctx, so that changes made through
// methods without an Actor parameter (Create, Update) are audited too.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

func actorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

// audit records an action on members. detail must hold no personal data
// (names, phones, notes, search text): ids, counts and statuses only.
func (s *Service) audit(ctx context.Context, h *tenancy.Handle, a Actor, action, target, detail string) error {
	return s.store.Audit(ctx, h, store.AuditEntry{ActorID: a.AdminID, Action: action, Target: target, IP: a.IP, Detail: detail})
}

// MaxConsentNote bounds the note an admin writes when recording consent.
const MaxConsentNote = 500

// ConsentRequest is consent an admin records for a member.
type ConsentRequest struct {
	// Status is opted_in or opted_out.
	Status string `json:"status"`
	// Source is "admin" (the default) or "in_person": the admin asked the
	// member face to face.
	Source string `json:"source"`
	// Note is what the admin wants to remember about it ("asked at the
	// welcome desk, 3 May").
	Note string `json:"note"`
	// Wording is the consent language the member agreed to.
	Wording string `json:"wording"`
}

// consent checks the request and returns the consent to record.
func (r ConsentRequest) consent(a Actor) (steeple.Consent, error) {
	fe := map[string]string{}
	c := steeple.Consent{Status: r.Status, Source: r.Source, RecordedBy: a.AdminID,
		Note: strings.TrimSpace(r.Note), Wording: strings.TrimSpace(r.Wording)}
	if c.Status != steeple.ConsentOptedIn && c.Status != steeple.ConsentOptedOut {
		fe["status"] = "must be opted_in or opted_out"
	}
	switch c.Source {
	case "":
		c.Source = steeple.ConsentSourceAdmin
	case steeple.ConsentSourceAdmin, steeple.ConsentSourceInPerson:
	default:
		fe["source"] = "must be admin or in_person"
	}
	if utf8.RuneCountInString(c.Note) > MaxConsentNote {
		fe["note"] = "must be at most 500 characters"
	}
	if utf8.RuneCountInString(c.Wording) > 1000 {
		fe["wording"] = "must be at most 1000 characters"
	}
	if len(fe) > 0 {
		return c, &steeple.Error{Code: steeple.EINVALID, Message: "some fields are invalid", Fields: fe}
	}
	return c, nil
}

// RecordConsent records consent an admin collected (in person, or
// otherwise), with who recorded it and their note, and audits it. An
// admin cannot opt in a member who opted out themselves (STOP).
// Errors: ENOTFOUND, EINVALID.
func (s *Service) RecordConsent(ctx context.Context, h *tenancy.Handle, a Actor, id string, r ConsentRequest) (*steeple.Member, error) {
	if !steeple.ValidID(id) {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "member not found")
	}
	c, err := r.consent(a)
	if err != nil {
		return nil, err
	}
	changed, err := s.store.RecordConsent(ctx, h, id, c)
	if err != nil {
		return nil, err
	}
	if err := s.audit(ctx, h, a, "member.consent", id, c.Status+" ("+c.Source+")"); err != nil {
		return nil, err
	}
	m, err := s.Get(ctx, h, id)
	if err != nil || !changed {
		return m, err
	}
	return s.welcome(ctx, h, m, nil)
}

// ConsentHistory lists a member's consent changes, oldest first.
// Errors: ENOTFOUND.
func (s *Service) ConsentHistory(ctx context.Context, h *tenancy.Handle, id string) ([]steeple.Consent, error) {
	if !steeple.ValidID(id) {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "member not found")
	}
	return s.store.ConsentHistory(ctx, h, id)
}
