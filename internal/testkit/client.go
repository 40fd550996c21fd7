package testkit

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/members"
	"github.com/steeple-sms/steeple/store"
)

// DecodeJSON decodes raw into v, failing the test if it cannot.
func DecodeJSON(t testing.TB, raw string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		t.Fatalf("decode %q: %v", raw, err)
	}
}

// Decode decodes the answer's body into v, failing the test if it cannot.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	DecodeJSON(t, r.Raw, v)
}

// SessionAnswer is every answer that carries tokens (signup, login,
// refresh, accepting an invitation).
type SessionAnswer struct {
	Tenant *auth.Church `json:"tenant"`
	auth.Session
	MFARequired bool          `json:"mfa_required"`
	MFAToken    string        `json:"mfa_token"`
	Churches    []auth.Church `json:"churches"`
}

// Session decodes an answer that carries tokens.
func (r *Response) Session(t testing.TB) SessionAnswer {
	t.Helper()
	var a SessionAnswer
	r.Decode(t, &a)
	return a
}

// Tokens is Session for an answer that must carry tokens: it fails the
// test when the access or refresh token is missing.
func (r *Response) Tokens(t testing.TB) SessionAnswer {
	t.Helper()
	a := r.Session(t)
	if a.AccessToken == "" || a.RefreshToken == "" {
		t.Fatalf("answer without tokens: %d %s", r.Status, r.Raw)
	}
	return a
}

// TenantID is the church an answer's tokens are for (a signup's, a
// login's), failing the test when it names none.
func (r *Response) TenantID(t testing.TB) string {
	t.Helper()
	a := r.Session(t)
	if a.Tenant == nil || a.Tenant.ID == "" {
		t.Fatalf("answer names no church: %d %s", r.Status, r.Raw)
	}
	return a.Tenant.ID
}

// ErrorAnswer is the body of a refusal.
type ErrorAnswer struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

// BroadcastView is GET /api/v1/messages/{id}.
type BroadcastView struct {
	Message    store.Broadcast         `json:"message"`
	Recipients []store.RecipientStatus `json:"recipients"`
}

// Recipient returns a member's recipient row, or nil when the member is not one.
func (v *BroadcastView) Recipient(memberID string) *store.RecipientStatus {
	for i := range v.Recipients {
		if v.Recipients[i].MemberID == memberID {
			return &v.Recipients[i]
		}
	}
	return nil
}

// Thread is GET /api/v1/conversations/{id}.
type Thread struct {
	store.Conversation
	Messages   []store.ConversationMessage `json:"messages"`
	NextCursor string                      `json:"next_cursor"`
	Timezone   string                      `json:"timezone"`
}

// Only returns the conversation's own messages in one direction: the
// broadcasts a thread also shows are left out (see Broadcasts).
func (th *Thread) Only(direction string) []store.ConversationMessage {
	var out []store.ConversationMessage
	for _, m := range th.Messages {
		if m.Direction == direction && m.Purpose != store.PurposeBroadcast {
			out = append(out, m)
		}
	}
	return out
}

// Broadcasts returns the broadcasts a thread shows, newest first.
func (th *Thread) Broadcasts() []store.ConversationMessage {
	var out []store.ConversationMessage
	for _, m := range th.Messages {
		if m.Purpose == store.PurposeBroadcast {
			out = append(out, m)
		}
	}
	return out
}

// Client is a typed client of the API for tests, acting with one access
// token. Its methods fail the test on an unexpected status.
type Client struct {
	s     *Server
	Token string
}

// Client returns a typed API client sending token ("" for none).
func (s *Server) Client(token string) *Client { return &Client{s: s, Token: token} }

// Call sends a request, fails unless the answer has status want, and
// decodes the answer into out (when not nil).
func (c *Client) Call(t testing.TB, method, path string, body any, want int, out any) *Response {
	t.Helper()
	r := c.s.Do(t, method, path, c.Token, body)
	if r.Status != want {
		t.Fatalf("%s %s: %d %s; want %d", method, path, r.Status, r.Raw, want)
	}
	if out != nil {
		r.Decode(t, out)
	}
	return r
}

// Broadcast is POST /api/v1/messages with body; it returns the broadcast's id.
func (c *Client) Broadcast(t testing.TB, body any) string {
	t.Helper()
	var b struct{ ID string }
	c.Call(t, "POST", "/api/v1/messages", body, http.StatusCreated, &b)
	return b.ID
}

// BroadcastAll texts every member who may be texted and returns the id.
func (c *Client) BroadcastAll(t testing.TB, text string) string {
	t.Helper()
	return c.Broadcast(t, map[string]any{"text": text, "audience": map[string]any{"all": true}})
}

// GetBroadcast is GET /api/v1/messages/{id}.
func (c *Client) GetBroadcast(t testing.TB, id string) *BroadcastView {
	t.Helper()
	var v BroadcastView
	c.Call(t, "GET", "/api/v1/messages/"+url.PathEscape(id), nil, http.StatusOK, &v)
	return &v
}

// GetMember is GET /api/v1/members/{id}.
func (c *Client) GetMember(t testing.TB, id string) *steeple.Member {
	t.Helper()
	var m steeple.Member
	c.Call(t, "GET", "/api/v1/members/"+url.PathEscape(id), nil, http.StatusOK, &m)
	return &m
}

// Conversations is GET /api/v1/conversations?query (query with its "?", or "").
func (c *Client) Conversations(t testing.TB, query string) []store.Conversation {
	t.Helper()
	var body struct {
		Conversations []store.Conversation `json:"conversations"`
	}
	c.Call(t, "GET", "/api/v1/conversations"+query, nil, http.StatusOK, &body)
	return body.Conversations
}

// Thread is GET /api/v1/conversations/{id}.
func (c *Client) Thread(t testing.TB, id string) *Thread {
	t.Helper()
	var th Thread
	c.Call(t, "GET", "/api/v1/conversations/"+url.PathEscape(id), nil, http.StatusOK, &th)
	return &th
}

// Settings is GET /api/v1/settings.
func (c *Client) Settings(t testing.TB) *members.Settings {
	t.Helper()
	var v members.Settings
	c.Call(t, "GET", "/api/v1/settings", nil, http.StatusOK, &v)
	return &v
}

// SetSettings is PUT /api/v1/settings with the given changes; it returns
// the settings as they then stand.
func (c *Client) SetSettings(t testing.TB, changes map[string]any) *members.Settings {
	t.Helper()
	var v members.Settings
	c.Call(t, "PUT", "/api/v1/settings", changes, http.StatusOK, &v)
	return &v
}

// Login is POST /api/v1/auth/login; it returns the answer whatever its status.
func (c *Client) Login(t testing.TB, email, password, tenantID string) (*Response, SessionAnswer) {
	t.Helper()
	body := map[string]any{"email": email, "password": password}
	if tenantID != "" {
		body["tenant_id"] = tenantID
	}
	r := c.s.Do(t, "POST", "/api/v1/auth/login", "", body)
	var a SessionAnswer
	if r.Status == http.StatusOK {
		r.Decode(t, &a)
	}
	return r, a
}

// CreateMember is POST /api/v1/members for an opted-in member (consent
// recorded by the admin); it returns the member's id.
func (c *Client) CreateMember(t testing.TB, first, phone string) string {
	t.Helper()
	var m struct{ ID string }
	c.Call(t, "POST", "/api/v1/members", map[string]any{"first_name": first, "last_name": "Tester", "phone": phone,
		"consent": map[string]any{"opted_in": true, "wording": "Yes, text me"}}, http.StatusCreated, &m)
	return m.ID
}

// ID is the "id" of the answer's body (a created resource), failing the
// test when it has none.
func (r *Response) ID(t testing.TB) string {
	t.Helper()
	var v struct {
		ID string `json:"id"`
	}
	r.Decode(t, &v)
	if v.ID == "" {
		t.Fatalf("answer has no id: %d %s", r.Status, r.Raw)
	}
	return v.ID
}

// MeAnswer is GET /api/v1/me.
type MeAnswer struct {
	Admin  steeple.Admin `json:"admin"`
	Church struct {
		ID, Name, Timezone, Plan string
	} `json:"church"`
}

// Me is GET /api/v1/me.
func (c *Client) Me(t testing.TB) *MeAnswer {
	t.Helper()
	var m MeAnswer
	c.Call(t, "GET", "/api/v1/me", nil, http.StatusOK, &m)
	return &m
}

// Fields are the per-field messages of a refusal (nil when it has none).
func (r *Response) Fields(t testing.TB) map[string]string {
	t.Helper()
	var e ErrorAnswer
	r.Decode(t, &e)
	return e.Error.Fields
}
