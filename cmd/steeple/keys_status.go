package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/secret"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
	"github.com/steeple-sms/steeple/webhooks"
)

// churchReseal is one church's part of a re-encryption pass.
type churchReseal struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Rewritten int    `json:"values_rewritten"`
	Error     string `json:"error,omitempty"`
}

// keyedChurches are the churches whose databases hold sealed values: all
// but those still provisioning or already purged.
func keyedChurches(ctx context.Context, e *env) ([]*steeple.Tenant, error) {
	ts, err := e.ten.Registry.Tenants(ctx, tenancy.TenantFilter{})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(ts, func(t *steeple.Tenant) bool {
		return t.Status == steeple.TenantProvisioning || t.Status == steeple.TenantDeleted
	}), nil
}

// resealAll re-encrypts every church's values not sealed with keys' active
// key (see eachChurch).
func resealAll(ctx context.Context, e *env, keys *secret.Keys, errOut io.Writer) ([]churchReseal, error) {
	st := store.New(keys, nil)
	return eachChurch(ctx, e, "values re-encrypted", errOut, func(h *tenancy.Handle) (int, error) {
		return st.Reseal(ctx, h, nil)
	})
}

// eachChurch runs a key pass over every keyed church, one at a time,
// saying how far it is on errOut ("[3/40] <id>: 12 <done>"). A church that
// fails is reported and the rest go on; rerunning redoes only what is left.
func eachChurch(ctx context.Context, e *env, done string, errOut io.Writer, pass func(h *tenancy.Handle) (int, error)) ([]churchReseal, error) {
	ts, err := keyedChurches(ctx, e)
	if err != nil {
		return nil, err
	}
	out := make([]churchReseal, 0, len(ts))
	for i, t := range ts {
		r := churchReseal{ID: t.ID, Name: t.Name}
		h, err := e.ten.Manager.AcquireToRecord(ctx, t.ID)
		if err == nil {
			r.Rewritten, err = pass(h)
			h.Release()
		}
		if err != nil {
			r.Error = describeErr(err)
		}
		out = append(out, r)
		if r.Rewritten > 0 || r.Error != "" || (i+1)%100 == 0 || i+1 == len(ts) {
			fmt.Fprintf(errOut, "[%d/%d] %s: %d %s%s\n", i+1, len(ts), t.ID, r.Rewritten, done, errSuffix(r.Error))
		}
	}
	return out, nil
}

func errSuffix(msg string) string {
	if msg == "" {
		return ""
	}
	return " — FAILED: " + msg
}

// keysStatus is `steeple keys status`.
type keysStatus struct {
	ActiveKey byte     `json:"active_key"`
	Keys      []keyUse `json:"keys"`
	// Unreadable churches could not be counted: a key is not retired
	// while any is.
	Unreadable []churchReseal  `json:"unreadable,omitempty"`
	Signing    *signingKeyNote `json:"signing"`
	BlindIndex *blindIndexNote `json:"blind_index"`
}

// keyUse is how much one data key still seals.
type keyUse struct {
	ID       byte `json:"id"`
	Active   bool `json:"active"`
	Values   int  `json:"values"`
	Churches int  `json:"churches"`
	// PendingEvents are queued webhook events sealed with it.
	PendingEvents int `json:"pending_events"`
}

// keysInUse counts, church by church, the values each key of the file seals.
func keysInUse(ctx context.Context, e *env, keys *secret.Keys, f secret.File) (*keysStatus, error) {
	s := &keysStatus{ActiveKey: f.ActiveEncryptionKey, Signing: signingNote(f),
		BlindIndex: &blindIndexNote{PreviousKept: f.PreviousBlindIndexKey != ""}}
	byID := map[byte]*keyUse{}
	for _, k := range f.EncryptionKeys {
		byID[k.ID] = &keyUse{ID: k.ID, Active: k.ID == f.ActiveEncryptionKey}
	}
	use := func(id byte) *keyUse {
		if byID[id] == nil { // sealed with a key the file no longer has
			byID[id] = &keyUse{ID: id}
		}
		return byID[id]
	}
	ts, err := keyedChurches(ctx, e)
	if err != nil {
		return nil, err
	}
	st := store.New(keys, nil)
	for _, t := range ts {
		h, err := e.ten.Manager.AcquireToRecord(ctx, t.ID)
		var counts map[byte]int
		if err == nil {
			counts, err = st.SealedCounts(ctx, h)
			if err == nil && s.BlindIndex.PreviousKept {
				err = countStaleIndexes(ctx, e, st, h, s.BlindIndex)
			}
			h.Release()
		}
		if err != nil {
			s.Unreadable = append(s.Unreadable, churchReseal{ID: t.ID, Name: t.Name, Error: describeErr(err)})
			continue
		}
		for id, n := range counts {
			use(id).Values += n
			use(id).Churches++
		}
	}
	pending, err := webhooks.PendingSealedKeys(ctx, e.ten.Registry.DB())
	if err != nil {
		return nil, fmt.Errorf("queued webhook events: %w", err)
	}
	for id, n := range pending {
		use(id).PendingEvents += n
	}
	for _, u := range byID {
		s.Keys = append(s.Keys, *u)
	}
	slices.SortFunc(s.Keys, func(a, b keyUse) int { return int(a.ID) - int(b.ID) })
	return s, nil
}

// blocksRetiring says why key id may not be retired yet ("" if it may).
func (s *keysStatus) blocksRetiring(id byte) string {
	if id == s.ActiveKey {
		return "it is the active key; rotate first"
	}
	if len(s.Unreadable) > 0 {
		return fmt.Sprintf("%d churches could not be read (see `steeple keys status`)", len(s.Unreadable))
	}
	for _, u := range s.Keys {
		if u.ID == id && (u.Values > 0 || u.PendingEvents > 0) {
			return fmt.Sprintf("it still seals %d values in %d churches and %d queued webhook events; run `steeple keys rotate --resume`, and wait for the events",
				u.Values, u.Churches, u.PendingEvents)
		}
	}
	return ""
}

func printKeysStatus(out io.Writer, s *keysStatus) {
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "data key\tvalues\tchurches\tqueued events\t")
	for _, u := range s.Keys {
		mark := ""
		if u.Active {
			mark = " (active)"
		}
		fmt.Fprintf(tw, "%d%s\t%d\t%d\t%d\t\n", u.ID, mark, u.Values, u.Churches, u.PendingEvents)
	}
	tw.Flush()
	for _, c := range s.Unreadable {
		fmt.Fprintf(out, "not counted: %s %q: %s\n", c.ID, c.Name, c.Error)
	}
	if s.Signing.PreviousKept {
		fmt.Fprintf(out, "token signing: previous key kept since %s; `keys retire --signing` from %s\n",
			s.Signing.RotatedAt.Format("2006-01-02 15:04 MST"), s.Signing.RetirableAt.Format("2006-01-02 15:04 MST"))
	} else {
		fmt.Fprintln(out, "token signing: one key")
	}
	if b := s.BlindIndex; b.PreviousKept {
		fmt.Fprintf(out, "blind index: previous key kept; %d index values in %d churches and %d login entries not yet on the current key\n",
			b.StaleValues, b.Churches, b.StaleLogins)
	} else {
		fmt.Fprintln(out, "blind index: one key")
	}
}
