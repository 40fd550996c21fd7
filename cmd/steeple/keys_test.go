package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/secret"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// keysEnv opens the deployment the CLI sees, with its keys as they are now.
func keysEnv(t *testing.T) (*env, *store.Store) {
	t.Helper()
	fs, cfg, err := newFlags("test", io.Discard)
	if err != nil || fs.Parse(nil) != nil {
		t.Fatal(err)
	}
	e, err := open(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.close)
	keys, err := app.LoadKeys(*cfg, e.log) // generates it on SQLite's first use
	if err != nil {
		t.Fatal(err)
	}
	return e, store.New(keys, nil)
}

func createChurchCLI(t *testing.T, name string) steeple.Tenant {
	t.Helper()
	code, out, errOut := runCLI(t, "tenants", "create", "--name", name, "--timezone", "America/Chicago", "--json")
	if code != 0 {
		t.Fatalf("create: %d %s", code, errOut)
	}
	var c steeple.Tenant
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func keysStatusCLI(t *testing.T) keysStatus {
	t.Helper()
	code, out, errOut := runCLI(t, "keys", "status", "--json")
	if code != 0 {
		t.Fatalf("keys status: %d %s", code, errOut)
	}
	var s keysStatus
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func valuesUnder(s keysStatus, id byte) int {
	for _, u := range s.Keys {
		if u.ID == id {
			return u.Values
		}
	}
	return -1
}

// A data key rotation re-encrypts every church, a suspended one included;
// a pass interrupted half-way (one church done, the other not) is finished
// by `rotate --resume`; the old key is retired only once nothing uses it,
// and every member still reads back with the keys file as it ends.
func TestKeysRotateStatusRetire(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		useBackend(t, b)
		ctx := context.Background()
		grace, hope := createChurchCLI(t, "Grace Chapel"), createChurchCLI(t, "Hope Church")
		e, st := keysEnv(t)
		phones := map[string]string{}
		for i, c := range []steeple.Tenant{grace, hope} {
			addMembers(t, e, st, c.ID, i, phones, nil)
		}
		if code, _, errOut := runCLI(t, "tenants", "suspend", hope.ID); code != 0 {
			t.Fatalf("suspend: %s", errOut)
		}
		before := keysStatusCLI(t)
		if before.ActiveKey != 1 || valuesUnder(before, 1) != 12 { // 3 phones + 3 emails a church
			t.Fatalf("before: %+v", before)
		}

		// A rotation that died after writing the new key and after one church:
		// the other still holds key 1 until --resume.
		f, _, err := secret.ReadFile(app.KeysPath(*e.cfg))
		if err != nil {
			t.Fatal(err)
		}
		rotated, _, _ := secret.RotateEncryption(f)
		if err := secret.WriteFile(app.KeysPath(*e.cfg), rotated); err != nil {
			t.Fatal(err)
		}
		keys2, _ := secret.Load(app.KeysPath(*e.cfg))
		h, _ := e.ten.Manager.Acquire(ctx, grace.ID)
		if n, err := store.New(keys2, nil).Reseal(ctx, h, nil); err != nil || n != 6 {
			t.Fatalf("first church: %d %v", n, err)
		}
		h.Release()
		mid := keysStatusCLI(t)
		if valuesUnder(mid, 1) != 6 || valuesUnder(mid, 2) != 6 {
			t.Fatalf("half-way: %+v", mid)
		}
		if code, _, errOut := runCLI(t, "keys", "retire", "1"); code == 0 || !strings.Contains(errOut, "still seals 6 values") {
			t.Fatalf("retire while in use: %d %s", code, errOut)
		}
		code, out, errOut := runCLI(t, "keys", "rotate", "--resume", "--json")
		var r rotation
		if code != 0 || json.Unmarshal([]byte(out), &r) != nil || r.Rewritten != 6 || r.ActiveKey != 2 || r.Failed != 0 {
			t.Fatalf("rotate --resume: %d %s %s", code, out, errOut)
		}

		// A whole rotation in one go.
		code, out, errOut = runCLI(t, "keys", "rotate", "--json")
		if code != 0 || json.Unmarshal([]byte(out), &r) != nil || r.Rewritten != 12 || r.ActiveKey != 3 {
			t.Fatalf("rotate: %d %s %s", code, out, errOut)
		}
		for _, id := range []string{"1", "2"} {
			if code, _, errOut := runCLI(t, "keys", "retire", id); code != 0 {
				t.Fatalf("retire %s: %s", id, errOut)
			}
		}
		if code, _, errOut := runCLI(t, "keys", "retire", "3"); code == 0 || !strings.Contains(errOut, "active key") {
			t.Fatalf("retiring the active key: %d %s", code, errOut)
		}
		after := keysStatusCLI(t)
		if len(after.Keys) != 1 || after.Keys[0].ID != 3 || after.Keys[0].Values != 12 || after.Keys[0].Churches != 2 {
			t.Fatalf("after: %+v", after)
		}
		_, st3 := keysEnv(t)
		for key, phone := range phones {
			tenant, member, _ := strings.Cut(key, "/")
			h, err := e.ten.Manager.AcquireToRecord(ctx, tenant)
			if err != nil {
				t.Fatal(err)
			}
			m, err := st3.Member(ctx, h, member)
			h.Release()
			if err != nil || m.Phone != phone {
				t.Fatalf("member %s after rotation: %+v %v", member, m, err)
			}
		}

		// The signing key: rotated, its predecessor kept until tokens expire.
		if code, _, errOut := runCLI(t, "keys", "rotate", "--signing"); code != 0 {
			t.Fatalf("rotate --signing: %s", errOut)
		}
		if code, _, errOut := runCLI(t, "keys", "retire", "--signing"); code == 0 || !strings.Contains(errOut, "may be used until") {
			t.Fatalf("retire --signing at once: %d %s", code, errOut)
		}
		if s := keysStatusCLI(t); !s.Signing.PreviousKept || s.Signing.RetirableAt == nil {
			t.Fatalf("signing after rotation: %+v", s.Signing)
		}
	})
}

// addMembers gives church three members with phones and emails, recorded
// in phones as church/member → phone, and unless onHandle is nil runs it
// on the church's handle first. n numbers the church's phones.
func addMembers(t *testing.T, e *env, st *store.Store, church string, n int, phones map[string]string, onHandle func(*tenancy.Handle)) {
	t.Helper()
	ctx := context.Background()
	h, err := e.ten.Manager.Acquire(ctx, church)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	if onHandle != nil {
		onHandle(h)
	}
	for j := range 3 {
		phone := fmt.Sprintf("+1312600%02d%02d", n, j)
		m, err := st.CreateMember(ctx, h, store.MemberInput{FirstName: "Ann", Phone: phone, Email: fmt.Sprintf("ann%d@example.org", j)},
			steeple.Consent{Status: steeple.ConsentOptedIn, Source: steeple.ConsentSourceAdmin, Wording: "at the door"})
		if err != nil {
			t.Fatal(err)
		}
		phones[church+"/"+m.ID] = phone
	}
}
