package members

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// MaxSearchLength bounds a member search (characters): a name or a phone
// number is far shorter, and a long pattern is costly to match.
const MaxSearchLength = 200

// Filter selects members, for the list and for bulk actions.
type Filter struct {
	// Q is a name fragment (case and accents ignored: "zoe" finds "Zoë")
	// or a phone number in any common format, matched exactly.
	Q string `json:"q"`
	// GroupID keeps the members of one group.
	GroupID string `json:"group_id"`
	// Consent keeps members with this status: opted_in or opted_out.
	Consent string `json:"consent"`
}

// ListRequest is one page of the member list.
type ListRequest struct {
	Filter
	Cursor string
	Limit  int
}

// MemberPage is a page of members with the total for the filter.
type MemberPage struct {
	Members    []*steeple.Member `json:"members"`
	Total      int               `json:"total"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

// storeFilter checks and normalises a filter. Errors: EINVALID (q too
// long, unknown consent status), ENOTFOUND (the group).
func (s *Service) storeFilter(ctx context.Context, h *tenancy.Handle, f Filter, region string) (store.MemberFilter, error) {
	var out store.MemberFilter
	if utf8.RuneCountInString(f.Q) > MaxSearchLength {
		return out, steeple.FieldError("q", fmt.Sprintf("must be at most %d characters", MaxSearchLength))
	}
	switch f.Consent {
	case "", steeple.ConsentOptedIn, steeple.ConsentOptedOut:
		out.Consent = f.Consent
	default:
		return out, steeple.FieldError("consent", "must be opted_in or opted_out")
	}
	if f.GroupID != "" {
		if _, err := s.Group(ctx, h, f.GroupID); err != nil {
			return out, err
		}
		out.GroupID = f.GroupID
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		if e164, err := steeple.NormalizePhone("q", q, region); err == nil && looksLikePhone(q) {
			out.Phone = e164
		} else {
			out.Name = q
		}
	}
	return out, nil
}

// looksLikePhone: digits and phone punctuation only ("(312) 555-0142",
// "+1 312 555 0142"), so a name is never read as a phone number.
func looksLikePhone(q string) bool {
	digits := 0
	for _, r := range q {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("+-(). /", r):
		default:
			return false
		}
	}
	return digits > 0
}

// List searches members: q is a name fragment, or a phone number (matched
// exactly: phone numbers are stored encrypted, so there is no partial match).
// The fragment is matched literally (% and _ are not wildcards).
// Errors: EINVALID when q is longer than MaxSearchLength.
func (s *Service) List(ctx context.Context, h *tenancy.Handle, q, cursor string, limit int) ([]*steeple.Member, string, error) {
	p, err := s.page(ctx, h, ListRequest{Filter: Filter{Q: q}, Cursor: cursor, Limit: limit}, false)
	if err != nil {
		return nil, "", err
	}
	return p.Members, p.NextCursor, nil
}

// Page lists members matching a filter, ordered by name, with the total
// for the filter. Errors: EINVALID, ENOTFOUND (the group).
func (s *Service) Page(ctx context.Context, h *tenancy.Handle, r ListRequest) (*MemberPage, error) {
	return s.page(ctx, h, r, true)
}

func (s *Service) page(ctx context.Context, h *tenancy.Handle, r ListRequest, total bool) (*MemberPage, error) {
	if r.Limit <= 0 {
		r.Limit = 50
	}
	region, err := s.region(ctx, h)
	if err != nil {
		return nil, err
	}
	f, err := s.storeFilter(ctx, h, r.Filter, region)
	if err != nil {
		return nil, err
	}
	ms, next, err := s.store.Members(ctx, h, store.MemberQuery{MemberFilter: f, Cursor: r.Cursor, Limit: r.Limit})
	if err != nil {
		return nil, err
	}
	markTextable(region, ms...)
	p := &MemberPage{Members: ms, NextCursor: next}
	if total {
		if p.Total, err = s.store.CountMembers(ctx, h, f); err != nil {
			return nil, err
		}
	}
	return p, nil
}
