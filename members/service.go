// Package members is a church's directory: members with their consent,
// groups and message templates. Input is validated and normalised here;
// storage is in package store, always through a tenant handle.
package members

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// DefaultRegion is used to read national phone numbers when the church has
// not set its own.
const DefaultRegion = "US"

// OptIn is told of members who just opted in by being entered or imported
// with consent (the inbox welcomes them).
type OptIn interface {
	OptedIn(ctx context.Context, h *tenancy.Handle, memberIDs []string)
	// OptedInPaced welcomes the members an import opted in, paced under
	// the church's daily cap, and returns the plan for the summary.
	OptedInPaced(ctx context.Context, h *tenancy.Handle, memberIDs []string) (*WelcomePlan, error)
}

// Service manages members, groups and templates.
type Service struct {
	store *store.Store
	// optedIn is told of members who just opted in (welcome texts).
	optedIn func(ctx context.Context, h *tenancy.Handle, memberIDs []string)
	// pacedOptIn, when there is an OptIn, queues an import's welcome texts paced under
	// the church's daily cap.
	pacedOptIn func(ctx context.Context, h *tenancy.Handle, memberIDs []string) (*WelcomePlan, error)
}

// New returns the service; optIn may be nil (nobody is told).
func New(st *store.Store, optIn OptIn) *Service {
	s := &Service{store: st, optedIn: func(context.Context, *tenancy.Handle, []string) {}}
	if optIn != nil {
		s.optedIn, s.pacedOptIn = optIn.OptedIn, optIn.OptedInPaced
	}
	return s
}

// welcome tells the hook about a member who is now opted in.
func (s *Service) welcome(ctx context.Context, h *tenancy.Handle, m *steeple.Member, err error) (*steeple.Member, error) {
	if err == nil && m.Consent.Status == steeple.ConsentOptedIn {
		s.optedIn(ctx, h, []string{m.ID})
	}
	return m, err
}

// MemberRequest is a member as an admin enters it.
type MemberRequest struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Phone     string `json:"phone"`
	Email     string `json:"email"`
	// Consent is how the member agreed to receive texts: the admin records
	// that consent was collected and the wording shown.
	Consent *struct {
		OptedIn bool   `json:"opted_in"`
		Wording string `json:"wording"`
	} `json:"consent,omitempty"`
}

// validate checks and normalises a member's fields.
func (r MemberRequest) validate(region string) (store.MemberInput, error) {
	fe := map[string]string{}
	in := store.MemberInput{FirstName: strings.TrimSpace(r.FirstName), LastName: strings.TrimSpace(r.LastName)}
	if in.FirstName == "" {
		fe["first_name"] = "is required"
	} else if len([]rune(in.FirstName)) > 100 {
		fe["first_name"] = "must be at most 100 characters"
	}
	if len([]rune(in.LastName)) > 100 {
		fe["last_name"] = "must be at most 100 characters"
	}
	var err error
	if in.Phone, err = steeple.NormalizePhone("phone", r.Phone, region); err != nil {
		fe["phone"] = steeple.FieldMessage(err, "phone")
	}
	if strings.TrimSpace(r.Email) != "" {
		if in.Email, err = steeple.NormalizeEmail("email", r.Email); err != nil {
			fe["email"] = steeple.FieldMessage(err, "email")
		}
	}
	if len(fe) > 0 {
		return in, &steeple.Error{Code: steeple.EINVALID, Message: "some fields are invalid", Fields: fe}
	}
	return in, nil
}

// region is the church's default region for national phone numbers.
func (s *Service) region(ctx context.Context, h *tenancy.Handle) (string, error) {
	v, err := s.store.Setting(ctx, h, steeple.SettingPhoneRegion)
	if v == "" {
		v = DefaultRegion
	}
	return v, err
}

// Settings are what a church can change about itself here.
type Settings struct {
	PhoneRegion string `json:"phone_region"`
	// HelpContact is how members reach the church (a phone number, an
	// email, office hours), sent in the answer to HELP.
	HelpContact string `json:"help_contact"`
	// QuietHoursStart and QuietHoursEnd ("HH:MM", local) bound the nightly
	// window in which scheduled, recurring and welcome texts wait; equal
	// times turn it off.
	QuietHoursStart string `json:"quiet_hours_start"`
	QuietHoursEnd   string `json:"quiet_hours_end"`
	// WelcomeText is sent once to each member who opts in.
	WelcomeText string `json:"welcome_text"`
	// ReplyForwardPhone is a staff mobile every reply is forwarded to by
	// text from the church's number ("" for none).
	ReplyForwardPhone string `json:"reply_forward_phone"`
}

// SettingsUpdate changes the settings given; absent ones stay.
type SettingsUpdate struct {
	PhoneRegion     *string `json:"phone_region"`
	HelpContact     *string `json:"help_contact"`
	QuietHoursStart *string `json:"quiet_hours_start"`
	QuietHoursEnd   *string `json:"quiet_hours_end"`
	WelcomeText     *string `json:"welcome_text"`
	// ReplyForwardPhone: "" stops forwarding.
	ReplyForwardPhone *string `json:"reply_forward_phone"`
}

// Church settings defaults (the keys are steeple.Setting*).
const (
	DefaultQuietStart = "21:00"
	DefaultQuietEnd   = "08:00"
	// DefaultWelcomeText names the church, HELP, STOP and the rates, as
	// carriers require of the first text after an opt-in.
	DefaultWelcomeText = "Welcome to {church_name} texts! Msg & data rates may apply. Reply HELP for help, STOP to opt out."
)

// settingField is one church setting: its key, default, and how a new
// value is checked and normalised ("" message: valid).
type settingField struct {
	key, def string
	get      func(*Settings) *string
	set      func(SettingsUpdate) *string
	check    func(string) (string, string)
}

var hhmm = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

var settingFields = map[string]settingField{
	"phone_region": {steeple.SettingPhoneRegion, DefaultRegion, func(s *Settings) *string { return &s.PhoneRegion },
		func(u SettingsUpdate) *string { return u.PhoneRegion }, func(v string) (string, string) {
			v = strings.ToUpper(strings.TrimSpace(v))
			if !phonenumbers.GetSupportedRegions()[v] {
				return v, "is not a region code phone numbers are known for (e.g. US, CA, GB)"
			}
			return v, ""
		}},
	"help_contact": {steeple.SettingHelpContact, "", func(s *Settings) *string { return &s.HelpContact },
		func(u SettingsUpdate) *string { return u.HelpContact }, func(v string) (string, string) {
			v = strings.Join(strings.Fields(v), " ")
			if utf8.RuneCountInString(v) > 120 {
				return v, "must be at most 120 characters"
			}
			return v, ""
		}},
	"quiet_hours_start": {steeple.SettingQuietStart, DefaultQuietStart, func(s *Settings) *string { return &s.QuietHoursStart },
		func(u SettingsUpdate) *string { return u.QuietHoursStart }, checkClock},
	"quiet_hours_end": {steeple.SettingQuietEnd, DefaultQuietEnd, func(s *Settings) *string { return &s.QuietHoursEnd },
		func(u SettingsUpdate) *string { return u.QuietHoursEnd }, checkClock},
	"welcome_text": {steeple.SettingWelcomeText, DefaultWelcomeText, func(s *Settings) *string { return &s.WelcomeText },
		func(u SettingsUpdate) *string { return u.WelcomeText }, CheckWelcomeText},
	// Normalised to E.164 in the church's region by UpdateSettings.
	"reply_forward_phone": {steeple.SettingReplyForwardPhone, "", func(s *Settings) *string { return &s.ReplyForwardPhone },
		func(u SettingsUpdate) *string { return u.ReplyForwardPhone }, func(v string) (string, string) {
			return strings.TrimSpace(v), ""
		}},
}

func checkClock(v string) (string, string) {
	v = strings.TrimSpace(v)
	if !hhmm.MatchString(v) {
		return v, `must be "HH:MM" (24-hour)`
	}
	return v, ""
}

// CheckWelcomeText keeps a welcome text within the rules: it names the
// church ({church_name}), says how to get help (HELP) and to opt out
// (STOP), and that message and data rates may apply; at most 320 characters.
func CheckWelcomeText(v string) (string, string) {
	v = strings.Join(strings.Fields(v), " ")
	lower := strings.ToLower(v)
	switch {
	case v == "" || utf8.RuneCountInString(v) > 320:
		return v, "must be 1 to 320 characters"
	case !strings.Contains(v, "{church_name}"):
		return v, "must name the church: include {church_name}"
	case !strings.Contains(v, "HELP"):
		return v, "must say how to get help: include HELP"
	case !strings.Contains(v, "STOP"):
		return v, "must say how to opt out: include STOP"
	case !strings.Contains(lower, "rates may apply"):
		return v, `must say that message and data rates may apply ("Msg & data rates may apply")`
	}
	if bad := unknownPlaceholder(v); bad != "" {
		return v, "unknown placeholder " + bad + " (use {first_name} or {church_name})"
	}
	return v, ""
}

// Settings returns the church's settings (defaults where unset).
func (s *Service) Settings(ctx context.Context, h *tenancy.Handle) (*Settings, error) {
	out := &Settings{}
	for _, f := range settingFields {
		v, err := s.store.Setting(ctx, h, f.key)
		if err != nil {
			return nil, err
		}
		if v == "" {
			v = f.def
		}
		*f.get(out) = v
	}
	return out, nil
}

// UpdateSettings changes the church's settings; nothing is written unless
// every given field is valid. Errors: EINVALID naming the bad fields.
func (s *Service) UpdateSettings(ctx context.Context, h *tenancy.Handle, in SettingsUpdate) (*Settings, error) {
	fe := map[string]string{}
	values := map[string]string{}
	for name, f := range settingFields {
		p := f.set(in)
		if p == nil {
			continue
		}
		v, msg := f.check(*p)
		if msg != "" {
			fe[name] = msg
		}
		values[f.key] = v
	}
	if v := values[steeple.SettingReplyForwardPhone]; v != "" {
		// In the region this update sets, if it sets a valid one.
		region := values[steeple.SettingPhoneRegion]
		if region == "" || fe["phone_region"] != "" {
			var err error
			if region, err = s.region(ctx, h); err != nil {
				return nil, err
			}
		}
		phone, err := steeple.NormalizePhone("reply_forward_phone", v, region)
		if err != nil {
			fe["reply_forward_phone"] = "is not a valid phone number"
		}
		values[steeple.SettingReplyForwardPhone] = phone
	}
	if len(fe) > 0 {
		return nil, &steeple.Error{Code: steeple.EINVALID, Message: "some fields are invalid", Fields: fe}
	}
	for k, v := range values {
		if err := s.store.SetSetting(ctx, h, k, v); err != nil {
			return nil, err
		}
	}
	if len(values) > 0 {
		names := make([]string, 0, len(values))
		for name, f := range settingFields {
			if _, ok := values[f.key]; ok {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		if err := s.audit(ctx, h, actorFrom(ctx), "settings.changed", "", strings.Join(names, ", ")); err != nil {
			return nil, err
		}
	}
	return s.Settings(ctx, h)
}

// Create adds a member. Consent defaults to opted in by admin entry only
// when the request says consent was collected; otherwise the member starts
// opted out and receives nothing until they text START.
func (s *Service) Create(ctx context.Context, h *tenancy.Handle, r MemberRequest) (*steeple.Member, error) {
	region, err := s.region(ctx, h)
	if err != nil {
		return nil, err
	}
	in, err := r.validate(region)
	if err != nil {
		return nil, err
	}
	c := consentOf(r)
	c.RecordedBy = actorFrom(ctx).AdminID
	m, err := s.store.CreateMember(ctx, h, in, c)
	markTextable(region, m)
	if err == nil && m.Consent.Status == steeple.ConsentOptedIn {
		if err := s.audit(ctx, h, actorFrom(ctx), "member.consent", m.ID, m.Consent.Status+" ("+m.Consent.Source+")"); err != nil {
			return nil, err
		}
	}
	return s.welcome(ctx, h, m, err)
}

// consentOf is the consent an admin records: opted in only when the
// request says consent was collected.
func consentOf(r MemberRequest) steeple.Consent {
	c := steeple.Consent{Status: steeple.ConsentOptedOut, Source: steeple.ConsentSourceAdmin}
	if r.Consent != nil && r.Consent.OptedIn {
		c.Status, c.Wording = steeple.ConsentOptedIn, strings.TrimSpace(r.Consent.Wording)
	}
	return c
}

// Update replaces a member's fields (and consent, if given) in one
// transaction. Errors: ENOTFOUND, ECONFLICT, EINVALID (an admin cannot opt
// in a member who texted STOP).
func (s *Service) Update(ctx context.Context, h *tenancy.Handle, id string, r MemberRequest) (*steeple.Member, error) {
	if !steeple.ValidID(id) {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "member not found")
	}
	region, err := s.region(ctx, h)
	if err != nil {
		return nil, err
	}
	in, err := r.validate(region)
	if err != nil {
		return nil, err
	}
	var c *steeple.Consent
	if r.Consent != nil {
		c = &steeple.Consent{Status: steeple.ConsentOptedOut, Source: steeple.ConsentSourceAdmin, Wording: strings.TrimSpace(r.Consent.Wording)}
		if r.Consent.OptedIn {
			c.Status = steeple.ConsentOptedIn
		}
	}
	if c != nil {
		c.RecordedBy = actorFrom(ctx).AdminID
	}
	m, changed, err := s.store.UpdateMemberConsent(ctx, h, id, in, c)
	markTextable(region, m)
	if err != nil || !changed {
		return m, err
	}
	if err := s.audit(ctx, h, actorFrom(ctx), "member.consent", id, m.Consent.Status+" ("+m.Consent.Source+")"); err != nil {
		return nil, err
	}
	return s.welcome(ctx, h, m, err) // an admin recording consent opts them in
}

// Get returns a member. Errors: ENOTFOUND (also for another church's id).
func (s *Service) Get(ctx context.Context, h *tenancy.Handle, id string) (*steeple.Member, error) {
	if !steeple.ValidID(id) {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "member not found")
	}
	region, err := s.region(ctx, h)
	if err != nil {
		return nil, err
	}
	m, err := s.store.Member(ctx, h, id)
	markTextable(region, m)
	return m, err
}

// Delete removes a member.
func (s *Service) Delete(ctx context.Context, h *tenancy.Handle, id string) error {
	if !steeple.ValidID(id) {
		return steeple.Errorf(steeple.ENOTFOUND, "member not found")
	}
	return s.store.DeleteMember(ctx, h, id)
}

// FromConversation turns the unknown contact of a conversation into a
// member with the phone they texted from (the request gives no phone).
// Consent is as for Create, except that a contact who texted STOP stays
// opted out. Errors: EINVALID, ENOTFOUND, ECONFLICT.
func (s *Service) FromConversation(ctx context.Context, h *tenancy.Handle, conversationID string, r MemberRequest) (*steeple.Member, error) {
	if strings.TrimSpace(r.Phone) != "" {
		return nil, steeple.FieldError("phone", "comes from the conversation; leave it out")
	}
	conv, err := s.store.Conversation(ctx, h, conversationID)
	if err != nil {
		return nil, err
	}
	r.Phone = conv.Phone
	in, err := r.validate(DefaultRegion)
	if err != nil {
		return nil, err
	}
	region, err := s.region(ctx, h)
	if err != nil {
		return nil, err
	}
	m, err := s.store.MemberFromConversation(ctx, h, conversationID, in, consentOf(r))
	markTextable(region, m)
	return s.welcome(ctx, h, m, err)
}
