package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/httpapi"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/tenancy"
)

// An exhausted budget reaches the client as 503 with Retry-After and the
// error envelope, through a real HTTP server and a real tenant manager.
func TestBudgetExhaustedIs503WithRetryAfter(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		o := b.Options()
		o.Manager.MaxConns, o.Manager.MaxPools, o.Manager.MaxPerTenant = 1, 1, 1
		ten := b.Open(t, o)
		ctx := context.Background()
		tn, err := ten.Provisioner.Provision(ctx, tenancy.NewTenant{Name: "Busy", Timezone: "UTC"})
		if err != nil {
			t.Fatal(err)
		}
		held, err := ten.Manager.Acquire(ctx, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer held.Release()
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rctx, cancel := context.WithTimeout(r.Context(), 50*time.Millisecond)
			defer cancel()
			h, err := ten.Manager.Acquire(rctx, r.URL.Query().Get("tenant"))
			if err != nil {
				httpapi.Error(w, r, log, err)
				return
			}
			h.Release()
		}))
		defer srv.Close()

		cases := []struct {
			tenant, code string
			status       int
		}{
			{tn.ID, steeple.EUNAVAILABLE, http.StatusServiceUnavailable},
			{steeple.NewID(), steeple.ENOTFOUND, http.StatusNotFound},
			{"nonsense", steeple.EINVALID, http.StatusBadRequest},
		}
		for _, c := range cases {
			resp, err := http.Get(srv.URL + "/?tenant=" + c.tenant)
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != c.status || body.Error.Code != c.code || body.Error.Message == "" {
				t.Errorf("tenant %q: %d %+v (%v); want %d %s", c.tenant, resp.StatusCode, body, err, c.status, c.code)
			}
			if c.status == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "1" {
				t.Errorf("Retry-After = %q; want 1", resp.Header.Get("Retry-After"))
			}
		}
	})
}

// Internal errors never leak their detail to the client.
func TestInternalErrorIsGeneric(t *testing.T) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/x", nil)
	httpapi.Error(rec, req, slog.New(slog.NewTextHandler(io.Discard, nil)), io.ErrUnexpectedEOF)
	if rec.Code != 500 || rec.Body.String() != "{\"error\":{\"code\":\"internal\",\"message\":\"internal error\"}}\n" {
		t.Fatalf("got %d %q", rec.Code, rec.Body.String())
	}
}
