package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/config"
	"github.com/steeple-sms/steeple/secret"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// blindIndexNote is the blind-index key's part of `keys status`: whether a
// previous key is kept and, if so, how many stored indexes still need the
// recompute pass (counted only then: without a previous key every index
// is the current key's).
type blindIndexNote struct {
	PreviousKept bool `json:"previous_kept"`
	// StaleValues are church rows whose index is not the current key's.
	StaleValues int `json:"stale_values"`
	// StaleLogins are registry login entries still under the previous key.
	StaleLogins int `json:"stale_logins"`
	Churches    int `json:"churches"` // churches with anything stale
}

// rotateBlindIndex is `keys rotate --blind-index`: unless resuming, it writes
// a new blind-index key keeping the previous one, waits until running
// processes look up with both, then recomputes every church's indexes.
func rotateBlindIndex(ctx context.Context, e *env, path string, resume bool, wait time.Duration, errOut io.Writer) (rotation, error) {
	r := rotation{What: "blind-index"}
	if !resume {
		f, _, err := secret.ReadFile(path)
		if err != nil {
			return r, fmt.Errorf("keys file: %w", err)
		}
		if f, err = secret.RotateBlindIndex(f); err != nil {
			return r, err
		}
		if err := secret.WriteFile(path, f); err != nil {
			return r, fmt.Errorf("keys file %s: %w", path, err)
		}
		// A process that has not read the file yet looks up with the old
		// key alone: it would miss a row the pass has moved, and add a
		// second one. Once every process has read it, both keys find it.
		if wait > 0 {
			fmt.Fprintf(errOut, "new blind-index key written; waiting %s for running processes to read it\n", wait)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return r, ctx.Err()
			}
		}
	}
	keys, err := secret.Load(path)
	if err != nil {
		return r, err
	}
	fmt.Fprintln(errOut, "recomputing every church's blind indexes with the current key")
	st := store.New(keys, nil)
	start := time.Now()
	r.Churches, err = eachChurch(ctx, e, "index values recomputed", errOut, func(h *tenancy.Handle) (int, error) {
		n, err := st.Reindex(ctx, h, store.ReindexOptions{})
		if err != nil {
			return n, err
		}
		logins, err := auth.ReindexLogins(ctx, e.ten.Registry, st, h, true)
		return n + logins, err
	})
	r.finish(start)
	return r, err
}

// countStaleIndexes adds a church's stale blind indexes to s.
func countStaleIndexes(ctx context.Context, e *env, st *store.Store, h *tenancy.Handle, s *blindIndexNote) error {
	values, err := st.StaleIndexes(ctx, h)
	if err != nil {
		return err
	}
	logins, err := auth.ReindexLogins(ctx, e.ten.Registry, st, h, false)
	if err != nil {
		return err
	}
	s.StaleValues += values
	s.StaleLogins += logins
	if values+logins > 0 {
		s.Churches++
	}
	return nil
}

// blocksRetiringBlindIndex says why the previous blind-index key may not be
// retired yet ("" if it may).
func (s *keysStatus) blocksRetiringBlindIndex() string {
	switch b := s.BlindIndex; {
	case !b.PreviousKept:
		return "there is no previous blind-index key"
	case len(s.Unreadable) > 0:
		return fmt.Sprintf("%d churches could not be read (see `steeple keys status`)", len(s.Unreadable))
	case b.StaleValues+b.StaleLogins > 0:
		return fmt.Sprintf("%d index values in %d churches and %d login entries are not on the current key; run `steeple keys rotate --blind-index --resume`",
			b.StaleValues, b.Churches, b.StaleLogins)
	}
	return ""
}

// retireBlindIndex is `keys retire --blind-index`: it drops the previous
// blind-index key once status counts nothing left on it.
func retireBlindIndex(ctx context.Context, cfg *config.Config, path string, f secret.File, out, errOut io.Writer) error {
	if f.PreviousBlindIndexKey == "" {
		return errors.New("there is no previous blind-index key")
	}
	st, err := countKeysInUse(ctx, cfg, errOut, f)
	if err != nil {
		return err
	}
	if why := st.blocksRetiringBlindIndex(); why != "" {
		return fmt.Errorf("the previous blind-index key is not retired: %s", why)
	}
	if f, err = secret.RetireBlindIndex(f); err != nil {
		return err
	}
	if err := secret.WriteFile(path, f); err != nil {
		return err
	}
	fmt.Fprintf(out, "previous blind-index key removed from %s (no index uses it)\n", path)
	return nil
}
