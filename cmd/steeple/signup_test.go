package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// postJSON posts body as JSON and returns the status and the raw answer.
func postJSON(t *testing.T, url, token string, body any) (int, string) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(answer)
}

// The embedded default without SMTP: the verification mail is an .eml in
// DATA_DIR/outbox, the log names the file but not the link; under
// STEEPLE_SIGNUP=approval a verified church buys a number only after
// `steeple tenants approve`.
func TestOutboxVerificationAndApproval(t *testing.T) {
	b := testkit.SQLite(t)
	useBackend(t, b)
	t.Setenv("STEEPLE_LOG_LEVEL", "info")
	t.Setenv("STEEPLE_SIGNUP", "approval")
	addr := freeAddr(t)
	t.Setenv("STEEPLE_PUBLIC_URL", "http://"+addr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs syncBuffer
	go func() { done <- runServe(ctx, []string{"--addr", addr}, io.Discard, &logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	base := "http://" + addr
	waitFor(t, base+"/healthz")
	code, body := postJSON(t, base+"/api/v1/signup", "", map[string]any{
		"church": map[string]string{"name": "Grace Chapel", "timezone": "America/Chicago"},
		"admin":  map[string]string{"name": "Pat", "email": "pat@example.org", "password": "correct horse battery"}})
	if code != http.StatusCreated {
		t.Fatalf("signup: %d %s", code, body)
	}
	var signup testkit.SessionAnswer
	testkit.DecodeJSON(t, body, &signup)
	if signup.AccessToken == "" || signup.Tenant == nil {
		t.Fatalf("signup answer without token or church: %s", body)
	}
	access, tenantID := signup.AccessToken, signup.Tenant.ID

	files, _ := filepath.Glob(filepath.Join(b.DataDir(), "outbox", "*.eml"))
	if len(files) != 1 {
		t.Fatalf("outbox: %v", files)
	}
	raw, _ := os.ReadFile(files[0])
	eml := strings.ReplaceAll(strings.ReplaceAll(string(raw), "=\r\n", ""), "=3D", "=")
	m := regexp.MustCompile(`/verify-email\?token=(ev1\.[A-Za-z0-9.-]+)`).FindStringSubmatch(eml)
	if m == nil || !strings.Contains(eml, "To: <pat@example.org>") {
		t.Fatalf("eml:\n%s", raw)
	}
	if !strings.Contains(logs.String(), files[0]) || strings.Contains(logs.String(), m[1]) || strings.Contains(logs.String(), "ev1.") {
		t.Fatalf("log should name %s and not the link:\n%s", files[0], logs.String())
	}
	if code, body := postJSON(t, base+"/api/v1/auth/verify-email", "", map[string]any{"token": m[1]}); code != http.StatusOK {
		t.Fatalf("verify: %d %s", code, body)
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/numbers/available?area_code=312", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var avail struct {
		Numbers []struct{ Number string } `json:"numbers"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&avail)
	resp.Body.Close()
	if len(avail.Numbers) == 0 {
		t.Fatal("no numbers available")
	}
	order := map[string]any{"number": avail.Numbers[0].Number}
	code, body = postJSON(t, base+"/api/v1/numbers", access, order)
	var refused testkit.ErrorAnswer
	_ = json.Unmarshal([]byte(body), &refused)
	if code != http.StatusForbidden || !strings.Contains(refused.Error.Message, "approval") {
		t.Fatalf("before approval: %d %s", code, body)
	}
	if code, _, errOut := runCLI(t, "tenants", "approve", tenantID); code != 0 {
		t.Fatalf("approve: %d %s", code, errOut)
	}
	if code, body = postJSON(t, base+"/api/v1/numbers", access, order); code != http.StatusAccepted {
		t.Fatalf("after approval: %d %s", code, body)
	}
}
