package telnyx

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// wire is one expected request and the canned answer for it.
type wire struct {
	method, path string
	query        url.Values     // exact query, nil for none
	body         map[string]any // exact JSON body, nil for none
	status       int
	header       map[string]string
	answer       string
}

// serve starts a server that checks every request against w and returns a
// client pointed at it.
func serve(t *testing.T, w wire) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		t.Helper()
		if got := r.Header.Get("Authorization"); got != "Bearer KEY123" {
			t.Errorf("Authorization = %q", got)
		}
		if r.Method != w.method || r.URL.EscapedPath() != w.path {
			t.Errorf("request = %s %s, want %s %s", r.Method, r.URL.EscapedPath(), w.method, w.path)
		}
		if q := r.URL.Query(); (len(q) > 0 || len(w.query) > 0) && !reflect.DeepEqual(q, w.query) {
			t.Errorf("query = %v, want %v", q, w.query)
		}
		raw, _ := io.ReadAll(r.Body)
		if w.body == nil && len(raw) > 0 {
			t.Errorf("unexpected body %s", raw)
		}
		if w.body != nil {
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			var got map[string]any
			if err := json.Unmarshal(raw, &got); err != nil || !reflect.DeepEqual(got, w.body) {
				t.Errorf("body = %s, want %v", raw, w.body)
			}
		}
		for k, v := range w.header {
			rw.Header().Set(k, v)
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(w.status)
		io.WriteString(rw, w.answer)
	}))
	t.Cleanup(srv.Close)
	return New(Config{BaseURL: srv.URL + "/v2/", APIKey: "KEY123"})
}

func TestConfigDefaults(t *testing.T) {
	c := New(Config{})
	if c.BaseURL() != "https://api.telnyx.com/v2" || c.http.Timeout != 10*time.Second {
		t.Fatalf("defaults: %s %v", c.BaseURL(), c.http.Timeout)
	}
	if tr := c.http.Transport.(*http.Transport); tr.MaxConnsPerHost != 16 {
		t.Fatalf("MaxConnsPerHost = %d", tr.MaxConnsPerHost)
	}
	c = New(Config{Timeout: time.Second, MaxConns: 3})
	if tr := c.http.Transport.(*http.Transport); tr.MaxConnsPerHost != 3 || c.http.Timeout != time.Second {
		t.Fatalf("explicit config not used")
	}
}

const sentAnswer = `{"data":{"id":"40385f64-5717-4562-b3fc-2c963f66afa6","record_type":"message",
"direction":"outbound","type":"MMS","from":{"phone_number":"+13125550100","carrier":"TELNYX LLC","line_type":"VoIP"},
"to":[{"phone_number":"+13125550199","status":"queued","carrier":"T-MOBILE USA, INC.","line_type":"Wireless"}],
"text":"Service at 10","media":[{"url":"https://x.test/a.jpg","content_type":null,"size":null,"hash_sha256":null}],
"parts":1,"encoding":"GSM-7","cost":{"amount":"0.0150","currency":"USD"},"messaging_profile_id":"mp-1",
"webhook_url":"https://hooks.test/t","webhook_failover_url":"","received_at":"2026-01-15T21:32:14.148+00:00","errors":[]}}`

func TestSendMessageWire(t *testing.T) {
	no := false
	c := serve(t, wire{
		method: "POST", path: "/v2/messages", status: 200, answer: sentAnswer,
		body: map[string]any{
			"from": "+13125550100", "to": "+13125550199", "text": "Service at 10",
			"media_urls": []any{"https://x.test/a.jpg"}, "type": "MMS", "messaging_profile_id": "mp-1",
			"webhook_url": "https://hooks.test/t", "webhook_failover_url": "https://hooks.test/f",
			"use_profile_webhooks": false, "encoding": "auto",
		},
	})
	m, err := c.SendMessage(context.Background(), SendMessageRequest{
		From: "+13125550100", To: "+13125550199", Text: "Service at 10", MediaURLs: []string{"https://x.test/a.jpg"},
		Type: TypeMMS, MessagingProfileID: "mp-1", WebhookURL: "https://hooks.test/t",
		WebhookFailoverURL: "https://hooks.test/f", UseProfileWebhooks: &no, Encoding: EncodingAuto,
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "40385f64-5717-4562-b3fc-2c963f66afa6" || m.Status() != StatusQueued || m.Parts != 1 ||
		m.Cost.Amount != "0.0150" || m.From.PhoneNumber != "+13125550100" || len(m.Media) != 1 ||
		m.ReceivedAt.IsZero() || m.Encoding != "GSM-7" {
		t.Fatalf("decoded %+v", m)
	}
}

func TestSendMessageOmitsEmptyFields(t *testing.T) {
	c := serve(t, wire{
		method: "POST", path: "/v2/messages", status: 200, answer: sentAnswer,
		body: map[string]any{"from": "+13125550100", "to": "+13125550199", "text": "hi"},
	})
	if _, err := c.SendMessage(context.Background(), SendMessageRequest{From: "+13125550100", To: "+13125550199", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
}

func TestSearchNumbersWire(t *testing.T) {
	c := serve(t, wire{
		method: "GET", path: "/v2/available_phone_numbers", status: 200,
		query: url.Values{
			"filter[country_code]": {"US"}, "filter[national_destination_code]": {"312"},
			"filter[locality]": {"Chicago"}, "filter[administrative_area]": {"IL"},
			"filter[phone_number][contains]": {"777"}, "filter[phone_number][starts_with]": {"+1312"},
			"filter[phone_number][ends_with]": {"00"}, "filter[features]": {"sms,mms"},
			"filter[phone_number_type]": {"local"}, "filter[limit]": {"5"},
		},
		answer: `{"data":[{"record_type":"available_phone_number","phone_number":"+13127770100",
"features":[{"name":"sms"},{"name":"mms"},{"name":"voice"}],
"cost_information":{"upfront_cost":"1.00","monthly_cost":"1.00","currency":"USD"},
"region_information":[{"region_type":"state","region_name":"IL"},{"region_type":"rate_center","region_name":"CHICAGO"}]}],
"meta":{"total_results":1,"best_effort_results":0}}`,
	})
	got, err := c.SearchNumbers(context.Background(), NumberSearch{
		CountryCode: "US", NationalDestinationCode: "312", Locality: "Chicago", AdministrativeArea: "IL",
		Contains: "777", StartsWith: "+1312", EndsWith: "00", Features: []string{"sms", "mms"},
		PhoneNumberType: "local", Limit: 5,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].PhoneNumber != "+13127770100" || !got[0].HasFeature("mms") ||
		got[0].Region("state") != "IL" || got[0].CostInformation.MonthlyCost != "1.00" {
		t.Fatalf("decoded %+v", got)
	}
}

func TestOrderNumbersWire(t *testing.T) {
	c := serve(t, wire{
		method: "POST", path: "/v2/number_orders", status: 200,
		body: map[string]any{
			"phone_numbers":        []any{map[string]any{"phone_number": "+13125550100"}, map[string]any{"phone_number": "+13125550101"}},
			"messaging_profile_id": "mp-1", "customer_reference": "tenant-7",
		},
		answer: `{"data":{"id":"ord-1","record_type":"number_order","status":"pending","messaging_profile_id":"mp-1",
"customer_reference":"tenant-7","created_at":"2026-01-15T21:32:14.148+00:00",
"phone_numbers":[{"id":"line-1","record_type":"number_order_phone_number","phone_number":"+13125550100","status":"pending"}]}}`,
	})
	o, err := c.OrderNumbers(context.Background(), NumberOrderRequest{
		PhoneNumbers: []string{"+13125550100", "+13125550101"}, MessagingProfileID: "mp-1", CustomerReference: "tenant-7",
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "ord-1" || o.Status != OrderPending || len(o.PhoneNumbers) != 1 || o.PhoneNumbers[0].ID != "line-1" {
		t.Fatalf("decoded %+v", o)
	}
}

func TestGetNumberOrderWire(t *testing.T) {
	c := serve(t, wire{method: "GET", path: "/v2/number_orders/ord%2F1", status: 200,
		answer: `{"data":{"id":"ord/1","status":"success","phone_numbers":[]}}`})
	o, err := c.GetNumberOrder(context.Background(), "ord/1")
	if err != nil || o.Status != OrderSuccess {
		t.Fatalf("%+v %v", o, err)
	}
}

func TestListNumbersWire(t *testing.T) {
	answer := `{"data":[{"id":"1293384261075731499","record_type":"phone_number","phone_number":"+13125550100",
"status":"active","messaging_profile_id":"mp-1","created_at":"2026-01-15T21:32:14.148+00:00"}],
"meta":{"total_pages":1,"total_results":1,"page_number":1,"page_size":20}}`
	c := serve(t, wire{method: "GET", path: "/v2/phone_numbers", status: 200, answer: answer,
		query: url.Values{"filter[phone_number]": {"+13125550100"}}})
	got, err := c.ListNumbers(context.Background(), "+13125550100")
	if err != nil || len(got) != 1 || got[0].ID != "1293384261075731499" || got[0].Status != NumberActive {
		t.Fatalf("%+v %v", got, err)
	}
	c = serve(t, wire{method: "GET", path: "/v2/phone_numbers", status: 200, answer: answer})
	if _, err := c.ListNumbers(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
}

func TestUpdateNumberMessagingWire(t *testing.T) {
	c := serve(t, wire{method: "PATCH", path: "/v2/phone_numbers/129/messaging", status: 200,
		body:   map[string]any{"messaging_profile_id": "mp-2"},
		answer: `{"data":{"id":"129","record_type":"messaging_phone_number","phone_number":"+13125550100","messaging_profile_id":"mp-2"}}`})
	n, err := c.UpdateNumberMessaging(context.Background(), "129", "mp-2")
	if err != nil || n.MessagingProfileID != "mp-2" || n.PhoneNumber != "+13125550100" {
		t.Fatalf("%+v %v", n, err)
	}
}

func TestReleaseNumberWire(t *testing.T) {
	c := serve(t, wire{method: "DELETE", path: "/v2/phone_numbers/129", status: 200,
		answer: `{"data":{"id":"129","record_type":"phone_number","phone_number":"+13125550100","status":"deleted"}}`})
	if err := c.ReleaseNumber(context.Background(), "129"); err != nil {
		t.Fatal(err)
	}
}

func TestCreateMessagingProfileWire(t *testing.T) {
	c := serve(t, wire{method: "POST", path: "/v2/messaging_profiles", status: 200,
		body: map[string]any{"name": "Grace Chapel", "whitelisted_destinations": []any{"US"},
			"webhook_url": "https://hooks.test/t", "webhook_api_version": "2"},
		answer: `{"data":{"id":"mp-1","record_type":"messaging_profile","name":"Grace Chapel","enabled":true,
"webhook_url":"https://hooks.test/t","webhook_failover_url":"","webhook_api_version":"2","whitelisted_destinations":["US"],
"created_at":"2026-01-15T21:32:14.148+00:00","updated_at":"2026-01-15T21:32:14.148+00:00"}}`})
	p, err := c.CreateMessagingProfile(context.Background(), MessagingProfileRequest{
		Name: "Grace Chapel", WhitelistedDestinations: []string{"US"}, WebhookURL: "https://hooks.test/t"})
	if err != nil || p.ID != "mp-1" || !p.Enabled || p.WebhookAPIVersion != "2" {
		t.Fatalf("%+v %v", p, err)
	}
}

func TestErrorDecoding(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		answer     string
		want       Error
		retryable  bool
		optOut     bool
		invalidTo  bool
		retryAfter time.Duration
	}{
		{name: "invalid to", status: 400,
			answer: `{"errors":[{"code":"40310","title":"Invalid 'to' address","detail":"The 'to' address should be E.164","source":{"pointer":"/to"},"meta":{"url":"https://developers.telnyx.com/docs/overview/errors/40310"}}]}`,
			want:   Error{Status: 400, Code: "40310", Title: "Invalid 'to' address", Detail: "The 'to' address should be E.164", Pointer: "/to"}, invalidTo: true},
		{name: "opt-out on 400", status: 400,
			answer: `{"errors":[{"code":"40300","title":"Blocked due to STOP message","detail":"Messages cannot be sent from '+13125550100' to '+13125550199' due to an existing block rule."}]}`,
			want:   Error{Status: 400, Code: "40300", Title: "Blocked due to STOP message", Detail: "Messages cannot be sent from '+13125550100' to '+13125550199' due to an existing block rule."}, optOut: true},
		{name: "opt-out on 403", status: 403, answer: `{"errors":[{"code":"40300","title":"Blocked due to STOP message"}]}`,
			want: Error{Status: 403, Code: "40300", Title: "Blocked due to STOP message"}, optOut: true},
		{name: "rate limited with x-ratelimit-reset", status: 429,
			header: map[string]string{"x-ratelimit-limit": "50", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "3"},
			answer: `{"errors":[{"code":"10011","title":"Too many requests"}]}`,
			want:   Error{Status: 429, Code: "10011", Title: "Too many requests", RetryAfter: 3 * time.Second}, retryable: true},
		{name: "rate limited with Retry-After", status: 429, header: map[string]string{"Retry-After": "7"},
			answer: `{"errors":[{"code":"10011","title":"Too many requests"}]}`,
			want:   Error{Status: 429, Code: "10011", Title: "Too many requests", RetryAfter: 7 * time.Second}, retryable: true},
		{name: "queue full", status: 400, answer: `{"errors":[{"code":"40318","title":"Message queue full"}]}`,
			want: Error{Status: 400, Code: "40318", Title: "Message queue full"}, retryable: true},
		{name: "numeric code", status: 422, answer: `{"errors":[{"code":10015,"title":"Bad Request"}]}`,
			want: Error{Status: 422, Code: "10015", Title: "Bad Request"}},
		{name: "outage without JSON", status: 503, header: map[string]string{"Retry-After": "2"}, answer: `<html>down</html>`,
			want: Error{Status: 503, Title: "Service Unavailable", Detail: "<html>down</html>", RetryAfter: 2 * time.Second}, retryable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := serve(t, wire{method: "POST", path: "/v2/messages", status: tt.status, header: tt.header, answer: tt.answer,
				body: map[string]any{"from": "+13125550100", "to": "+13125550199", "text": "hi"}})
			_, err := c.SendMessage(context.Background(), SendMessageRequest{From: "+13125550100", To: "+13125550199", Text: "hi"})
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if *te != tt.want {
				t.Fatalf("got %+v\nwant %+v", *te, tt.want)
			}
			if Retryable(err) != tt.retryable || IsOptOut(err) != tt.optOut || IsInvalidTo(err) != tt.invalidTo {
				t.Fatalf("Retryable=%v IsOptOut=%v IsInvalidTo=%v", Retryable(err), IsOptOut(err), IsInvalidTo(err))
			}
			if ErrorCode(err) != tt.want.Code || !strings.Contains(err.Error(), "HTTP") {
				t.Fatalf("ErrorCode=%q Error()=%q", ErrorCode(err), err.Error())
			}
		})
	}
}

func TestRetryAfterUnixTimestamp(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	h := http.Header{}
	h.Set("x-ratelimit-reset", "1800000005")
	if got := retryAfter(h, now); got != 5*time.Second {
		t.Fatalf("retryAfter = %v", got)
	}
	h = http.Header{}
	h.Set("Retry-After", now.Add(4*time.Second).UTC().Format(http.TimeFormat))
	if got := retryAfter(h, now); got != 4*time.Second {
		t.Fatalf("retryAfter date = %v", got)
	}
}

func TestNetworkErrorsRetryable(t *testing.T) {
	// Connection refused: a server that is gone.
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	_, err := New(Config{BaseURL: gone.URL, APIKey: "k"}).ListNumbers(context.Background(), "")
	if err == nil || !Retryable(err) {
		t.Fatalf("refused: err = %v, Retryable = %v", err, Retryable(err))
	}

	// A server that never answers: the client timeout and a context deadline.
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hang.Close)
	_, err = New(Config{BaseURL: hang.URL, APIKey: "k", Timeout: 50 * time.Millisecond}).ListNumbers(context.Background(), "")
	if err == nil || !Retryable(err) {
		t.Fatalf("client timeout: err = %v, Retryable = %v", err, Retryable(err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = New(Config{BaseURL: hang.URL, APIKey: "k"}).ListNumbers(ctx, "")
	if err == nil || !Retryable(err) {
		t.Fatalf("deadline: err = %v, Retryable = %v", err, Retryable(err))
	}

	// A caller that gave up is not retried.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = New(Config{BaseURL: hang.URL, APIKey: "k"}).ListNumbers(ctx, "")
	if err == nil || Retryable(err) {
		t.Fatalf("cancelled: err = %v, Retryable = %v", err, Retryable(err))
	}
	if Retryable(nil) || Retryable(errors.New("boom")) {
		t.Fatal("nil or plain errors must not be retryable")
	}
}
