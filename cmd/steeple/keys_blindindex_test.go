package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/secret"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// A blind-index rotation that died after writing the new key and one batch
// of one church leaves index values and login entries on the old key:
// status counts them and retiring is refused until `rotate --blind-index
// --resume` has recomputed them, a suspended church included. A whole
// rotation then runs in one go. Members are found by phone and admins'
// login entries by email with the keys file as it ends.
func TestKeysRotateBlindIndex(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		useBackend(t, b)
		ctx := context.Background()
		grace, hope := createChurchCLI(t, "Grace Chapel"), createChurchCLI(t, "Hope Church")
		e, st := keysEnv(t)
		phones := map[string]string{} // church/member → phone
		emails := map[string]string{} // church → its admin's email
		for i, c := range []steeple.Tenant{grace, hope} {
			email := fmt.Sprintf("pastor%d@example.org", i)
			addMembers(t, e, st, c.ID, i, phones, func(h *tenancy.Handle) {
				adm, err := st.CreateAdmin(ctx, h, store.NewAdmin{Name: "Pastor", Email: email, PasswordHash: "x", Role: steeple.RoleOwner})
				if err != nil {
					t.Fatal(err)
				}
				if err := e.ten.Registry.AddLogin(ctx, st.EmailIndex(email), c.ID, adm.ID); err != nil {
					t.Fatal(err)
				}
			})
			emails[c.ID] = email
		}
		if code, _, errOut := runCLI(t, "tenants", "suspend", hope.ID); code != 0 {
			t.Fatalf("suspend: %s", errOut)
		}
		if s := keysStatusCLI(t); s.BlindIndex == nil || s.BlindIndex.PreviousKept {
			t.Fatalf("before: %+v", s.BlindIndex)
		}
		if code, _, errOut := runCLI(t, "keys", "retire", "--blind-index"); code == 0 || !strings.Contains(errOut, "no previous blind-index key") {
			t.Fatalf("retire with one key: %d %s", code, errOut)
		}

		// The rotation that died: the key written, one batch of Grace done (its admin).
		path := app.KeysPath(*e.cfg)
		f, _, err := secret.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rotated, err := secret.RotateBlindIndex(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := secret.WriteFile(path, rotated); err != nil {
			t.Fatal(err)
		}
		_, st2 := keysEnv(t)
		h, _ := e.ten.Manager.Acquire(ctx, grace.ID)
		died := errors.New("killed")
		if _, err := st2.Reindex(ctx, h, store.ReindexOptions{Batch: 2, Progress: func(int) error { return died }}); !errors.Is(err, died) {
			t.Fatalf("partial pass: %v", err)
		}
		h.Release()
		mid := keysStatusCLI(t).BlindIndex
		// Each church: 3 phones, 3 member emails, the admin's email, and its login entry.
		if !mid.PreviousKept || mid.StaleValues != 14-1 || mid.StaleLogins != 2 || mid.Churches != 2 {
			t.Fatalf("half-way: %+v", mid)
		}
		if code, _, errOut := runCLI(t, "keys", "retire", "--blind-index"); code == 0 || !strings.Contains(errOut, "13 index values in 2 churches and 2 login entries") {
			t.Fatalf("retire while in use: %d %s", code, errOut)
		}
		if code, _, errOut := runCLI(t, "keys", "rotate", "--blind-index"); code == 0 || !strings.Contains(errOut, "still kept") {
			t.Fatalf("a second rotation before retiring: %d %s", code, errOut)
		}
		code, out, errOut := runCLI(t, "keys", "rotate", "--blind-index", "--resume", "--json")
		var r rotation
		if code != 0 || json.Unmarshal([]byte(out), &r) != nil || r.What != "blind-index" || r.Rewritten != 13+2 || r.Failed != 0 || len(r.Churches) != 2 {
			t.Fatalf("rotate --blind-index --resume: %d %s %s", code, out, errOut)
		}
		if s := keysStatusCLI(t).BlindIndex; s.StaleValues != 0 || s.StaleLogins != 0 || s.Churches != 0 {
			t.Fatalf("after the pass: %+v", s)
		}
		if code, _, errOut := runCLI(t, "keys", "retire", "--blind-index"); code != 0 {
			t.Fatalf("retire: %s", errOut)
		}

		// A whole rotation in one go (no processes to wait for).
		code, out, errOut = runCLI(t, "keys", "rotate", "--blind-index", "--wait", "0", "--json")
		if code != 0 || json.Unmarshal([]byte(out), &r) != nil || r.Rewritten != 16 || r.Failed != 0 {
			t.Fatalf("rotate --blind-index: %d %s %s", code, out, errOut)
		}
		if code, _, errOut := runCLI(t, "keys", "retire", "--blind-index"); code != 0 {
			t.Fatalf("retire after a whole rotation: %s", errOut)
		}
		if f, _, _ := secret.ReadFile(path); f.PreviousBlindIndexKey != "" || f.BlindIndexKey == rotated.BlindIndexKey {
			t.Fatal("the keys file should hold one blind-index key, the newest")
		}

		_, st3 := keysEnv(t)
		for key, phone := range phones {
			tenant, member, _ := strings.Cut(key, "/")
			h, err := e.ten.Manager.AcquireToRecord(ctx, tenant)
			if err != nil {
				t.Fatal(err)
			}
			m, err := st3.MemberByPhone(ctx, h, phone)
			h.Release()
			if err != nil || m.ID != member {
				t.Fatalf("member by phone %s after two rotations: %+v %v", phone, m, err)
			}
		}
		for tenant, email := range emails {
			if got, err := e.ten.Registry.LoginEntries(ctx, st3.EmailIndexes(email)...); err != nil || len(got) != 1 || got[0].TenantID != tenant {
				t.Fatalf("login entries of %s: %+v %v", email, got, err)
			}
		}
	})
}
