// Package telnyx is a thin client for the Telnyx API v2: messages, phone
// numbers and messaging profiles, plus the webhook envelope and its Ed25519
// signature check.
//
// It speaks the wire described in TELNYX.md and decides nothing: it does not
// retry (callers ask Retryable), pace sends (the send worker owns the rate cap)
// or interpret delivery receipts. Every successful answer is unwrapped from
// Telnyx's {"data": …} envelope; every failure is an *Error or, for network
// trouble, the transport's own error.
package telnyx

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultBaseURL is Telnyx's production API root.
const DefaultBaseURL = "https://api.telnyx.com/v2"

// maxBody bounds how much of an answer is read, so a misbehaving server cannot
// exhaust memory.
const maxBody = 4 << 20

// Config configures a Client. Zero fields take the defaults noted.
type Config struct {
	// BaseURL is the API root including the version, e.g. DefaultBaseURL
	// (the default) or a simulator's "http://127.0.0.1:4010/v2".
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <APIKey>".
	APIKey string
	// Timeout bounds each request, answer body included (default 10s).
	Timeout time.Duration
	// MaxConns caps concurrent connections to the API host (default 16).
	MaxConns int
}

// WithDefaults returns c with its zero fields set to the defaults.
func (c Config) WithDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 16
	}
	return c
}

// Client calls the Telnyx API. It is safe for concurrent use.
type Client struct {
	baseURL string
	apiKey  string
	http    *http.Client
}

// New returns a Client for cfg, filling in defaults.
func New(cfg Config) *Client {
	cfg = cfg.WithDefaults()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxConnsPerHost = cfg.MaxConns
	tr.MaxIdleConnsPerHost = cfg.MaxConns
	return &Client{
		baseURL: cfg.BaseURL,
		apiKey:  cfg.APIKey,
		http:    &http.Client{Timeout: cfg.Timeout, Transport: tr},
	}
}

// BaseURL returns the API root the client calls.
func (c *Client) BaseURL() string { return c.baseURL }

// envelope is Telnyx's wrapper around every successful answer.
type envelope[T any] struct {
	Data T `json:"data"`
}

// call sends one request and decodes the "data" member of a 2xx answer into a
// T. in, when non-nil, is sent as the JSON body as is (requests are not
// wrapped; only answers are).
func call[T any](ctx context.Context, c *Client, method, path string, query url.Values, in any) (T, error) {
	var zero T
	raw, err := c.do(ctx, method, path, query, in)
	if err != nil || len(bytes.TrimSpace(raw)) == 0 {
		return zero, err
	}
	var env envelope[T]
	if err := json.Unmarshal(raw, &env); err != nil {
		return zero, fmt.Errorf("telnyx: decode %s %s answer: %w", method, path, err)
	}
	return env.Data, nil
}

// do sends one request and returns the body of a 2xx answer; any other
// status is decoded into an *Error.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in any) ([]byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("telnyx: encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	u := c.baseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("telnyx: %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err // network errors and timeouts as is: see Retryable
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, decodeError(resp, raw, time.Now())
	}
	return raw, nil
}
