package messaging

import (
	"testing"

	"github.com/steeple-sms/steeple"
)

// Only a broadcast's texts name their broadcast in the webhook URL, so a
// receipt of a test send, a notice or a conversation's text is never
// adopted by a broadcast recipient (store.AdoptReceipt).
func TestOnlyBroadcastTextsNameTheirBroadcast(t *testing.T) {
	s := &Service{cfg: Config{PublicURL: "https://steeple.example.org/"}}
	church, msg := steeple.NewID(), steeple.NewID()
	if got := broadcastInURL(s.broadcastWebhookURL(church, msg)); got != msg {
		t.Fatalf("a broadcast text's webhook URL names %q; want %q", got, msg)
	}
	for _, raw := range []string{s.webhookURL(church), "", "://bad", s.webhookURL(church) + "&broadcast=not-an-id"} {
		if got := broadcastInURL(raw); got != "" {
			t.Errorf("webhook URL %q names broadcast %q; want none", raw, got)
		}
	}
}
