package telnyxsim_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

func TestRateLimit(t *testing.T) {
	e := newEnv(t) // the sim clock stands still: all sends fall in one second
	e.sim.SetRateLimit(2)
	for i := 0; i < 2; i++ {
		if _, err := e.send(t, "+13125550199", "hi"); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	_, err := e.send(t, "+13125550199", "hi")
	var te *telnyx.Error
	if !errors.As(err, &te) || te.Status != http.StatusTooManyRequests || te.Code != "10011" ||
		te.RetryAfter != time.Second || !telnyx.Retryable(err) {
		t.Fatalf("err = %#v", err)
	}

	// The headers themselves, as Telnyx sends them.
	req, _ := http.NewRequest(http.MethodPost, e.base+"/v2/messages",
		strings.NewReader(`{"from":"+13125550100","to":"+13125550199","text":"hi"}`))
	req.Header.Set("Authorization", "Bearer KEY_TEST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("x-ratelimit-limit") != "2" ||
		resp.Header.Get("x-ratelimit-remaining") != "0" || resp.Header.Get("x-ratelimit-reset") != "1" {
		t.Fatalf("429 answer: %d %v", resp.StatusCode, resp.Header)
	}

	e.clock.Advance(time.Second) // a new window
	if _, err := e.send(t, "+13125550199", "hi"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	e.sim.SetRateLimit(0)
	for i := 0; i < 5; i++ {
		if _, err := e.send(t, "+13125550199", "hi"); err != nil {
			t.Fatalf("unlimited: %v", err)
		}
	}
	if n := e.sim.CountTo("+13125550199"); n != 8 {
		t.Fatalf("accepted %d sends, want 8", n)
	}
	e.waitIdle(t)
}

func TestDownModeAndInjectedFailures(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.sim.SetDown(true)
	_, err := e.send(t, "+13125550199", "hi")
	var te *telnyx.Error
	if !errors.As(err, &te) || te.Status != http.StatusServiceUnavailable || !telnyx.Retryable(err) || te.RetryAfter != time.Second {
		t.Fatalf("down send: %v", err)
	}
	if _, err := e.client.ListNumbers(ctx, ""); !errors.As(err, &te) || te.Status != 503 {
		t.Fatalf("down list: %v", err)
	}
	e.sim.SetDown(false)

	e.sim.FailNext(2, http.StatusBadRequest, "40318")
	for i := 0; i < 2; i++ {
		if _, err := e.send(t, "+13125550199", "hi"); !errors.As(err, &te) || te.Code != "40318" || !telnyx.Retryable(err) {
			t.Fatalf("injected %d: %v", i, err)
		}
	}
	if _, err := e.send(t, "+13125550199", "hi"); err != nil {
		t.Fatalf("after injected failures: %v", err)
	}
	if len(e.sim.Messages()) != 1 {
		t.Fatalf("failed sends were recorded")
	}
	e.waitIdle(t)
}

func TestAuthRequired(t *testing.T) {
	e := newEnv(t)
	c := telnyx.New(telnyx.Config{BaseURL: e.base + "/v2"})
	_, err := c.ListNumbers(context.Background(), "")
	var te *telnyx.Error
	if !errors.As(err, &te) || te.Status != http.StatusUnauthorized || te.Code != "10009" {
		t.Fatalf("err = %v, want 401", err)
	}
}

func TestHistoryIsBounded(t *testing.T) {
	sim := telnyxsim.New(telnyxsim.Options{History: 3})
	base, stop, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	c := telnyx.New(telnyx.Config{BaseURL: base + "/v2", APIKey: "k"})
	var last string
	for i := 0; i < 10; i++ {
		m, err := c.SendMessage(context.Background(), telnyx.SendMessageRequest{From: "+13125550100", To: "+13125550199", Text: "hi"})
		if err != nil {
			t.Fatal(err)
		}
		last = m.ID
	}
	msgs := sim.Messages()
	if len(msgs) != 3 || msgs[2].ID != last || sim.CountTo("+13125550199") != 10 {
		t.Fatalf("kept %d messages (last %q, want %q), counted %d", len(msgs), msgs[len(msgs)-1].ID, last, sim.CountTo("+13125550199"))
	}
}
