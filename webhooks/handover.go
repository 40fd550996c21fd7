package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/telnyx"
)

// Handing a member's text to the process sending for its church. With
// several processes behind one webhook address, a STOP reaches any of
// them; on Sunday morning it mostly reached one that had no connection to
// its church (the church's sends ran in the other process) and had to
// start one in a budget its own send jobs held: on a busy host a second or
// more, for every such STOP. The process sending for the church holds its
// connection and lends it between two texts (tenancy.Handle.Lend), so the
// text is handed to it: the provider's body and signature, forwarded as
// they came, are verified there as any webhook is.
//
// The sender is whoever last claimed a send time on the receiving number
// (the registry records it with the claim, tenancy.RecentSender). A text
// is handed over only when its church's pool is not open here, another
// process claimed on the number lately (the number's next free time is at
// most recentSend past), this process has a STEEPLE_PROCESS_URL, and fewer
// than handOverSlots texts are being handed over already; a handed-over
// text is never handed on. If the other process does not answer 2xx within
// Config.HandOverWait, the text is taken here as before, with what is left
// of inboundWait (its event id then tells a second copy apart). A wrong
// guess costs a hop, never the text: the other process takes it as any
// webhook.

// HeaderHandedOver marks a webhook forwarded by another Steeple process.
// Anyone may set it; it only keeps the text from being handed on.
const HeaderHandedOver = "Steeple-Handed-Over"

const (
	// recentSend is how lately another process must have claimed a send
	// time on the number for its church's connection to be taken as open
	// there (a send job's texts are a few milliseconds apart at a
	// registered pace; its turn lasts seconds).
	recentSend = time.Second
	// handOverSlots bounds the texts being handed over at once (a
	// text-to-join keyword on screen brings hundreds together).
	handOverSlots = 32
)

// newPeerClient is the HTTP client texts are handed over with: its
// connections to the other processes are kept for the next text.
func newPeerClient(wait time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = handOverSlots
	return &http.Client{Timeout: wait, Transport: tr}
}

// handOver forwards d to the process sending for tenantID's number (""
// when the text is not routed) if there is one and this process has no
// connection to the church at hand.
// It returns the other process's outcome, and false when the text is to be
// taken here.
func (s *Service) handOver(ctx context.Context, tenantID string, p *telnyx.MessagePayload, d Delivery) (string, bool) {
	if tenantID == "" || d.HandedOver || len(p.To) == 0 || s.ten.Registry.ProcessURL() == "" || s.ten.Manager.HasOpen(tenantID) {
		return "", false
	}
	peer, err := s.ten.Registry.RecentSender(ctx, p.To[0].PhoneNumber, recentSend)
	if err != nil || peer == "" {
		return "", false
	}
	select {
	case s.handOverSlots <- struct{}{}:
		defer func() { <-s.handOverSlots }()
	default:
		return "", false
	}
	outcome, err := s.forward(ctx, peer, d)
	if err != nil {
		s.handOverFailures.Inc()
		s.log.Debug("handing a member's text to the process sending for its church", "to", steeple.RedactURL(peer), "err", err)
		return "", false
	}
	return outcome, true
}

// forward posts d to peer's webhook, marked handed over, and returns the
// outcome it answers; any answer but a 200 with an outcome is an error.
func (s *Service) forward(ctx context.Context, peer string, d Delivery) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.HandOverWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, peer+"/webhooks/telnyx", bytes.NewReader(d.Body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(telnyx.HeaderSignature, d.Signature)
	req.Header.Set(telnyx.HeaderTimestamp, d.Timestamp)
	req.Header.Set(HeaderHandedOver, "1")
	resp, err := s.peers.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var answer struct {
		Status string `json:"status"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&answer) != nil || answer.Status == "" {
		return "", fmt.Errorf("answered %d without an outcome", resp.StatusCode)
	}
	return answer.Status, nil
}
