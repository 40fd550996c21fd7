package auth

import (
	"context"
	"fmt"

	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// ReindexLogins moves the church's admins' registry login entries still
// under the previous blind-index key to the current one, recomputed from
// the admins' sealed emails, and says how many it moved; with move false
// it only counts them (`steeple keys status`). Outside a blind-index
// rotation there is nothing to move.
func ReindexLogins(ctx context.Context, reg *tenancy.Registry, st *store.Store, h *tenancy.Handle, move bool) (int, error) {
	admins, err := st.Admins(ctx, h)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range admins {
		hs := st.EmailIndexes(a.Email)
		if len(hs) < 2 {
			continue
		}
		var stale bool
		if move {
			stale, err = reg.ReindexLogin(ctx, h.TenantID(), a.ID, hs[0], hs[1])
		} else {
			stale, err = reg.LoginIndexedWith(ctx, h.TenantID(), a.ID, hs[1])
		}
		if err != nil {
			return n, fmt.Errorf("login index: %w", err)
		}
		if stale {
			n++
		}
	}
	return n, nil
}
