package members

import (
	"context"
	"fmt"
	"strconv"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// Bulk actions on members.
const (
	BulkAddToGroup      = "add_to_group"
	BulkRemoveFromGroup = "remove_from_group"
	BulkRecordConsent   = "record_consent"
	BulkDelete          = "delete"
)

// MaxBulkIDs bounds the ids named in one bulk action (a filter has no bound).
const MaxBulkIDs = 10_000

// BulkRequest applies one action to a selection: the members named in IDs,
// or every member matching Filter (the list's filter). Exactly one of the two.
type BulkRequest struct {
	Action  string          `json:"action"`
	IDs     []string        `json:"ids"`
	Filter  *Filter         `json:"filter"`
	GroupID string          `json:"group_id"` // add_to_group, remove_from_group
	Consent *ConsentRequest `json:"consent"`  // record_consent
}

// Bulk applies an action to the selection in one transaction and audits
// it: all or nothing. An id that is not one of this church's members is
// ENOTFOUND and nothing is applied. For record_consent, members who opted
// out themselves are not opted back in: they are skipped and counted.
// Errors: EINVALID, ENOTFOUND.
func (s *Service) Bulk(ctx context.Context, h *tenancy.Handle, a Actor, r BulkRequest) (*store.BulkResult, error) {
	sel, how, err := s.selection(ctx, h, r)
	if err != nil {
		return nil, err
	}
	var res *store.BulkResult
	detail := ""
	switch r.Action {
	case BulkAddToGroup, BulkRemoveFromGroup:
		if !steeple.ValidID(r.GroupID) {
			if r.GroupID == "" {
				return nil, steeple.FieldError("group_id", "is required")
			}
			return nil, steeple.Errorf(steeple.ENOTFOUND, "group not found")
		}
		if r.Action == BulkAddToGroup {
			res, err = s.store.BulkAddToGroup(ctx, h, sel, r.GroupID)
		} else {
			res, err = s.store.BulkRemoveFromGroup(ctx, h, sel, r.GroupID)
		}
		detail = " group " + r.GroupID
	case BulkRecordConsent:
		if r.Consent == nil {
			return nil, steeple.FieldError("consent", "is required: status, and source, note, wording if any")
		}
		c, cerr := r.Consent.consent(a)
		if cerr != nil {
			return nil, prefixFields(cerr, "consent.")
		}
		res, err = s.store.BulkConsent(ctx, h, sel, c)
		detail = " " + c.Status + " (" + c.Source + ")"
	case BulkDelete:
		res, err = s.store.BulkDelete(ctx, h, sel)
	default:
		return nil, steeple.FieldError("action", "must be add_to_group, remove_from_group, record_consent or delete")
	}
	if err != nil {
		return nil, err
	}
	detail = fmt.Sprintf("%s%s %s: %d applied, %d skipped", r.Action, detail, how, res.Count, res.Skipped)
	if err := s.audit(ctx, h, a, "members.bulk", "", detail); err != nil {
		return nil, err
	}
	if len(res.OptedIn) > 0 {
		s.optedIn(ctx, h, res.OptedIn)
	}
	return res, nil
}

// selection checks the request's ids or filter; how says which, for the
// audit log (never the search text, which may be a name or a phone).
func (s *Service) selection(ctx context.Context, h *tenancy.Handle, r BulkRequest) (store.MemberSelection, string, error) {
	switch {
	case r.Filter != nil && r.IDs != nil:
		return store.MemberSelection{}, "", steeple.FieldError("ids", "give ids or a filter, not both")
	case r.Filter != nil:
		region, err := s.region(ctx, h)
		if err != nil {
			return store.MemberSelection{}, "", err
		}
		f, err := s.storeFilter(ctx, h, *r.Filter, region)
		if err != nil {
			return store.MemberSelection{}, "", prefixFields(err, "filter.")
		}
		return store.MemberSelection{Filter: &f}, "by filter", nil
	}
	if len(r.IDs) > MaxBulkIDs {
		return store.MemberSelection{}, "", steeple.FieldError("ids", "at most "+strconv.Itoa(MaxBulkIDs)+" ids at once; use a filter for more")
	}
	if err := checkIDs("ids", r.IDs); err != nil {
		return store.MemberSelection{}, "", err
	}
	return store.MemberSelection{IDs: r.IDs}, "by ids (" + strconv.Itoa(len(r.IDs)) + ")", nil
}

// prefixFields renames an error's fields (status → consent.status) so a
// nested request's errors name the field as the request spells it.
func prefixFields(err error, prefix string) error {
	e, ok := err.(*steeple.Error)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	out := &steeple.Error{Code: e.Code, Message: e.Message, Fields: map[string]string{}}
	for k, v := range e.Fields {
		out.Fields[prefix+k] = v
	}
	return out
}
