package httpapi

import (
	"errors"
	"io"
	"net/http"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/webhooks"
)

func (s *Server) routeWebhooks() {
	s.mux.HandleFunc("POST /webhooks/telnyx", s.telnyxWebhook)
}

// telnyxWebhook verifies and de-duplicates a provider event, applies it
// when that is quick (a member's text, a delivery receipt) or queues it
// for a worker, and answers. The provider retries anything but 2xx, so
// only a bad signature or body is refused.
func (s *Server) telnyxWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, webhooks.MaxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		s.deps.Webhooks.CountTooLarge()
		s.fail(w, r, steeple.Errorf(steeple.ETOOLARGE, "webhook body over %d bytes", webhooks.MaxBody))
		return
	}
	if err != nil {
		s.fail(w, r, steeple.Errorf(steeple.EINVALID, "reading webhook body: %v", err))
		return
	}
	outcome, err := s.deps.Webhooks.Accept(r.Context(), webhooks.Delivery{Signature: r.Header.Get(telnyx.HeaderSignature),
		Timestamp: r.Header.Get(telnyx.HeaderTimestamp), Body: body, HandedOver: r.Header.Get(webhooks.HeaderHandedOver) != ""})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": outcome})
}
