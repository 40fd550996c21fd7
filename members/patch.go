package members

import (
	"context"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// MemberPatch is a partial update: a field absent from the request (nil)
// is never changed. An empty email removes it; first name and phone
// cannot be emptied. Consent is recorded with RecordConsent.
type MemberPatch struct {
	FirstName *string `json:"first_name"`
	LastName  *string `json:"last_name"`
	Phone     *string `json:"phone"`
	Email     *string `json:"email"`
}

// validate checks and normalises the fields present.
func (p MemberPatch) validate(region string) (store.MemberPatch, error) {
	fe := map[string]string{}
	var out store.MemberPatch
	if p.FirstName != nil {
		v := strings.TrimSpace(*p.FirstName)
		switch {
		case v == "":
			fe["first_name"] = "is required"
		case len([]rune(v)) > 100:
			fe["first_name"] = "must be at most 100 characters"
		}
		out.FirstName = &v
	}
	if p.LastName != nil {
		v := strings.TrimSpace(*p.LastName)
		if len([]rune(v)) > 100 {
			fe["last_name"] = "must be at most 100 characters"
		}
		out.LastName = &v
	}
	if p.Phone != nil {
		v, err := steeple.NormalizePhone("phone", *p.Phone, region)
		if err != nil {
			fe["phone"] = steeple.FieldMessage(err, "phone")
		}
		out.Phone = &v
	}
	if p.Email != nil {
		v := ""
		if strings.TrimSpace(*p.Email) != "" {
			var err error
			if v, err = steeple.NormalizeEmail("email", *p.Email); err != nil {
				fe["email"] = steeple.FieldMessage(err, "email")
			}
		}
		out.Email = &v
	}
	if len(fe) > 0 {
		return out, &steeple.Error{Code: steeple.EINVALID, Message: "some fields are invalid", Fields: fe}
	}
	return out, nil
}

// Patch changes only the fields given. A new phone that texted STOP to
// the church brings its opt-out with it. Errors: ENOTFOUND, EINVALID
// (nothing is written), ECONFLICT.
func (s *Service) Patch(ctx context.Context, h *tenancy.Handle, id string, p MemberPatch) (*steeple.Member, error) {
	if !steeple.ValidID(id) {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "member not found")
	}
	region, err := s.region(ctx, h)
	if err != nil {
		return nil, err
	}
	sp, err := p.validate(region)
	if err != nil {
		return nil, err
	}
	m, changed, err := s.store.PatchMember(ctx, h, id, sp, nil)
	if err != nil {
		return nil, err
	}
	markTextable(region, m)
	if changed { // the new phone had texted STOP
		if err := s.audit(ctx, h, actorFrom(ctx), "member.consent", id, m.Consent.Status+" ("+m.Consent.Source+")"); err != nil {
			return nil, err
		}
	}
	return m, nil
}
