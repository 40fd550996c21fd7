package web_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/web/webtest"
)

// In a real browser: stop a broadcast half-way. At two texts a second a
// dozen take six seconds; once a few have gone, Stop sending (and its
// confirmation) brings back the page saying who stopped it. The texts not
// yet sent are skipped "stopped by Ruth Secretary", their phones never
// reach the simulator, and nothing reaches it after the stop answered.
func TestBrowserStopSendingHalfway(t *testing.T) {
	t.Parallel()
	s := testkit.NewServer(t, testkit.SQLite(t), testkit.ServerOptions{Messaging: func(c *messaging.Config) { c.PerNumberRate = 2 }})
	_, tok, _ := sendingChurch(t, s, "Grace Chapel", "ruth@grace.example.org", 20)
	p := webtest.New(t, 1024, 900)
	p.Language("en-US")
	browserSignIn(p, s.URL, "ruth@grace.example.org")

	r := s.Do(t, "POST", "/api/v1/messages", tok, map[string]any{"text": "The potluck is moved to 6 pm.", "audience": map[string]any{"all": true}})
	if r.Status != http.StatusCreated && r.Status != http.StatusAccepted {
		t.Fatalf("message: %d %s", r.Status, r.Raw)
	}
	id := r.Body["id"].(string)
	p.Do(chromedp.Navigate(s.URL+"/messages/"+id), chromedp.WaitVisible("#progress"))
	testkit.WaitUntil(t, 20*time.Second, func() bool { return len(s.Sim.Messages()) >= 2 }, "two texts to go out")
	p.Do(chromedp.Click(`form[action$="/stop"] button`), chromedp.WaitReady(`main form input[name=confirm]`))
	p.Axe()
	p.Do(chromedp.Click(`main form button[type=submit]`), chromedp.WaitVisible("#stopped"))
	acknowledged := len(s.Sim.Messages())
	p.WaitText("#stopped", "Ruth Secretary stopped sending at")
	if acknowledged >= 20 {
		t.Fatalf("all %d texts went before the stop: nothing was stopped half-way", acknowledged)
	}
	p.Do(chromedp.WaitVisible(`#progress[data-done]`))
	p.Axe()
	p.Screenshot(screens, "broadcast-stopped")

	// The skipped recipients, on the page and through the API.
	p.Do(chromedp.Navigate(s.URL+"/messages/"+id+"?status=skipped"), chromedp.WaitVisible("table.recipients"))
	p.WaitText("table.recipients", "Not sent because someone stopped this message.")
	var ans struct {
		Recipients []struct {
			Phone, Status string
			ErrorDetail   string `json:"error_detail"`
		}
	}
	testkit.DecodeJSON(t, s.Do(t, "GET", "/api/v1/messages/"+id+"/recipients?limit=100", tok, nil).Raw, &ans)
	skipped := 0
	for _, rc := range ans.Recipients {
		if rc.Status != "skipped" {
			continue
		}
		skipped++
		if rc.ErrorDetail != "stopped by Ruth Secretary" || s.Sim.CountTo(rc.Phone) != 0 {
			t.Fatalf("skipped recipient %+v got %d texts", rc, s.Sim.CountTo(rc.Phone))
		}
	}
	s.SettleQueue(t)
	if n := len(s.Sim.Messages()); n != acknowledged || skipped == 0 || n+skipped != 20 {
		t.Fatalf("%d texts at the stop, %d now, %d skipped, of 20", acknowledged, n, skipped)
	}
}
