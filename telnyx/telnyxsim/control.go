package telnyxsim

import (
	"errors"
	"net/http"
	"time"
)

// ControlEndpoint is one of the simulator's own endpoints under /sim, with
// what it does and the body it takes.
type ControlEndpoint struct {
	Pattern string // "METHOD /path"
	Summary string
}

type controlRoute struct {
	ControlEndpoint
	handler http.HandlerFunc
}

// ControlEndpoints lists the /sim endpoints (for `steeple sim --help`);
// the same table routes them, so the list cannot drift from the server.
func ControlEndpoints() []ControlEndpoint {
	var out []ControlEndpoint
	for _, r := range (&Sim{}).controlRoutes() {
		out = append(out, r.ControlEndpoint)
	}
	return out
}

// routeControl adds the /sim endpoints described in the package comment.
// Their errors use Steeple's envelope {"error":{"code","message"}}, since they
// are the simulator's own API, not Telnyx's.
func (s *Sim) routeControl() {
	for _, r := range s.controlRoutes() {
		s.mux.HandleFunc(r.Pattern, r.handler)
	}
}

func (s *Sim) controlRoutes() []controlRoute {
	return []controlRoute{
		{ControlEndpoint{"GET /sim/public-key", `the key webhooks are signed with: {"public_key":"<base64 Ed25519>"}`},
			func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, map[string]string{"public_key": s.PublicKeyBase64()})
			}},
		{ControlEndpoint{"GET /sim/messages", `texts sent so far, {"data":[…]}; ?to=+1… keeps one recipient's`}, s.handleSimMessages},
		{ControlEndpoint{"POST /sim/inbound", `a member texts in: {"from":"+1…","to":"+1…","text":"…","media":[…],"webhook_url":"…"}`}, s.handleSimInbound},
		{ControlEndpoint{"POST /sim/outcome", `how sends end: {"to":"+1…" or "*","kind":"deliver|fail|never_finalize","code":"40008","status":"delivery_failed","delay":"2s"}`}, s.handleSimOutcome},
		{ControlEndpoint{"POST /sim/registration/outcome", `how 10DLC steps end: {"kind":"brand|campaign|assignment","result":"approve|reject|stall","reasons":["…"],"delay":"50ms","reject_at":"TELNYX_FAILED"}`}, s.handleSimRegistrationOutcome},
		{ControlEndpoint{"POST /sim/registration/webhooks", `{"enabled":false} drops 10DLC webhooks, {"enabled":true} resumes them`}, s.handleSimRegistrationWebhooks},
		{ControlEndpoint{"GET /sim/registrations", `brands, campaigns and number assignments: {"brands":[…],"campaigns":[…],"assignments":[…]}`},
			func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, map[string]any{"brands": nonNil(s.Brands()), "campaigns": nonNil(s.Campaigns()),
					"assignments": nonNil(s.Assignments())})
			}},
		{ControlEndpoint{"POST /sim/reset", "forget messages, webhooks, outcomes, opt-outs, numbers, registrations and faults"},
			func(w http.ResponseWriter, r *http.Request) {
				s.Reset()
				w.WriteHeader(http.StatusNoContent)
			}},
	}
}

func controlError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (s *Sim) handleSimMessages(w http.ResponseWriter, r *http.Request) {
	to := r.URL.Query().Get("to")
	out := []SentMessage{}
	for _, m := range s.Messages() {
		if to == "" || m.To == to {
			out = append(out, m)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
}

func (s *Sim) handleSimInbound(w http.ResponseWriter, r *http.Request) {
	var msg InboundMessage
	if !decodeBody(w, r, &msg) {
		return
	}
	switch err := s.Inbound(r.Context(), msg); {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, ErrNoWebhookURL):
		controlError(w, http.StatusUnprocessableEntity, "invalid", err.Error())
	case !isE164(msg.From) || !isE164(msg.To):
		controlError(w, http.StatusBadRequest, "invalid", err.Error())
	default:
		controlError(w, http.StatusBadGateway, "unavailable", "webhook not delivered: "+err.Error())
	}
}

func (s *Sim) handleSimOutcome(w http.ResponseWriter, r *http.Request) {
	var req struct {
		To     string `json:"to"`
		Kind   string `json:"kind"`
		Code   string `json:"code"`
		Status string `json:"status"`
		Delay  string `json:"delay"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.To == "" {
		controlError(w, http.StatusBadRequest, "invalid", `"to" is required ("*" for the default)`)
		return
	}
	o := Outcome{Code: req.Code, Status: req.Status}
	var err error
	if req.Kind != "" {
		if o.Kind, err = ParseOutcomeKind(req.Kind); err != nil {
			controlError(w, http.StatusBadRequest, "invalid", err.Error())
			return
		}
	}
	if req.Delay != "" {
		if o.Delay, err = time.ParseDuration(req.Delay); err != nil || o.Delay < 0 {
			controlError(w, http.StatusBadRequest, "invalid", `"delay" must be a duration such as "2s"`)
			return
		}
	}
	s.SetOutcome(req.To, o)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sim) handleSimRegistrationOutcome(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Kind     string   `json:"kind"`
		Result   string   `json:"result"`
		Reasons  []string `json:"reasons"`
		Delay    string   `json:"delay"`
		RejectAt string   `json:"reject_at"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	o := RegistrationOutcome{Reasons: req.Reasons, RejectAt: req.RejectAt}
	var err error
	if req.Result != "" {
		if o.Result, err = ParseRegistrationResult(req.Result); err != nil {
			controlError(w, http.StatusBadRequest, "invalid", err.Error())
			return
		}
	}
	if req.Delay != "" {
		if o.Delay, err = time.ParseDuration(req.Delay); err != nil || o.Delay < 0 {
			controlError(w, http.StatusBadRequest, "invalid", `"delay" must be a duration such as "50ms"`)
			return
		}
	}
	if err := s.ScriptRegistration(req.Kind, o); err != nil {
		controlError(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sim) handleSimRegistrationWebhooks(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Enabled *bool `json:"enabled"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Enabled == nil {
		controlError(w, http.StatusBadRequest, "invalid", `"enabled" (true or false) is required`)
		return
	}
	s.SendRegistrationWebhooks(*req.Enabled)
	w.WriteHeader(http.StatusNoContent)
}

// nonNil turns a nil slice into an empty one, so it encodes as [].
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
