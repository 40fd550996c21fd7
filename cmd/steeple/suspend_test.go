package main

import (
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
)

// Suspending a church signs its admins out: after suspend and resume its
// web sessions are gone and its API refresh tokens are revoked.
func TestSuspendSignsOut(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		useBackend(t, b)
		ctx := context.Background()
		code, out, errOut := runCLI(t, "tenants", "create", "--name", "Grace Chapel", "--timezone", "America/Chicago", "--json")
		if code != 0 {
			t.Fatalf("create: %d %s", code, errOut)
		}
		var created steeple.Tenant
		if err := json.Unmarshal([]byte(out), &created); err != nil {
			t.Fatal(err)
		}
		fs, cfg, err := newFlags("test", io.Discard)
		if err != nil || fs.Parse(nil) != nil {
			t.Fatal(err)
		}
		e, err := open(ctx, cfg, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		defer e.close()
		keys, err := app.LoadKeys(*e.cfg, e.log)
		if err != nil {
			t.Fatal(err)
		}
		st := store.New(keys, nil)
		h, err := e.ten.Manager.Acquire(ctx, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		adm, err := st.CreateAdmin(ctx, h, store.NewAdmin{Name: "Ruth", Email: "ruth@grace.example.org", PasswordHash: "x", Role: steeple.RoleOwner})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if err := st.CreateWebSession(ctx, h, store.WebSession{IDHash: "s1", AdminID: adm.ID, PasswordMark: store.PasswordMark("x"),
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := st.SaveRefreshToken(ctx, h, "r1", "f1", adm.ID, time.Hour); err != nil {
			t.Fatal(err)
		}
		h.Release()

		for _, sub := range []string{"suspend", "resume"} {
			if code, _, errOut := runCLI(t, "tenants", sub, created.ID); code != 0 {
				t.Fatalf("%s: %d %s", sub, code, errOut)
			}
		}
		h, err = e.ten.Manager.Acquire(ctx, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Release()
		if n, err := st.CountWebSessions(ctx, h, adm.ID); err != nil || n != 0 {
			t.Fatalf("web sessions after suspend+resume: %d %v", n, err)
		}
		if _, err := st.RotateRefreshToken(ctx, h, "r1", "r2", time.Hour); steeple.ErrorCode(err) != steeple.EUNAUTHORIZED {
			t.Fatalf("refresh after suspend+resume: %v", err)
		}
	})
}
