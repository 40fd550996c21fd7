package telnyx

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"
	"testing"
	"time"
)

const finalizedBody = `{"data":{"event_type":"message.finalized","id":"4ee8c3a6-4995-4309-a3c6-38e3db9ea4be",
"occurred_at":"2026-01-15T21:32:14.148+00:00","payload":{"completed_at":"2026-01-15T21:32:14.148+00:00",
"cost":{"amount":"0.0051","currency":"USD"},"direction":"outbound","encoding":"GSM-7",
"errors":[{"code":"40008","title":"Undeliverable","detail":"The message could not be delivered."}],
"from":{"carrier":"TELNYX LLC","line_type":"VoIP","phone_number":"+13125550100"},
"id":"40385f64-5717-4562-b3fc-2c963f66afa6","media":[],"messaging_profile_id":"mp-1","parts":1,
"received_at":"2026-01-15T21:32:13.101+00:00","record_type":"message","sent_at":"2026-01-15T21:32:13.552+00:00",
"text":"Hello","to":[{"carrier":"T-MOBILE USA, INC.","line_type":"Wireless","phone_number":"+13125550199","status":"delivery_failed"}],
"type":"SMS","webhook_url":"https://hooks.test/t"},"record_type":"event"},
"meta":{"attempt":2,"delivered_to":"https://hooks.test/t"}}`

func TestParseWebhook(t *testing.T) {
	w, err := ParseWebhook([]byte(finalizedBody))
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 1, 15, 21, 32, 14, 148e6, time.UTC)
	if w.Data.ID != "4ee8c3a6-4995-4309-a3c6-38e3db9ea4be" || w.Data.EventType != EventMessageFinalized ||
		!w.Data.OccurredAt.Equal(want) || w.Data.RecordType != "event" || w.Meta.Attempt != 2 ||
		w.Meta.DeliveredTo != "https://hooks.test/t" {
		t.Fatalf("envelope %+v", w)
	}
	p, err := w.Data.MessagePayload()
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "40385f64-5717-4562-b3fc-2c963f66afa6" || p.Status() != StatusDeliveryFailed ||
		len(p.Errors) != 1 || p.Errors[0].Code != "40008" || p.From.PhoneNumber != "+13125550100" ||
		p.SentAt == nil || p.CompletedAt == nil || p.Direction != "outbound" {
		t.Fatalf("payload %+v", p)
	}
	if _, err := ParseWebhook([]byte(`{"data":{}}`)); err == nil {
		t.Fatal("an envelope without id must be refused")
	}
}

func TestParseInboundPayload(t *testing.T) {
	body := `{"data":{"event_type":"message.received","id":"e1","occurred_at":"2026-01-15T21:32:14.148+00:00","record_type":"event",
"payload":{"id":"m1","direction":"inbound","type":"MMS","from":{"phone_number":"+13125550199"},
"to":[{"phone_number":"+13125550100","status":"webhook_delivered"}],"text":"STOP",
"media":[{"url":"https://media.test/1.jpg","content_type":"image/jpeg","size":1024,"hash_sha256":"abc"}],
"parts":1,"received_at":"2026-01-15T21:32:14.100+00:00","messaging_profile_id":"mp-1","autoresponse_type":"stop"}},
"meta":{"attempt":1,"delivered_to":"https://hooks.test/t"}}`
	w, err := ParseWebhook([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.Data.MessagePayload()
	if err != nil {
		t.Fatal(err)
	}
	if p.AutoresponseType != AutoresponseStop || p.Status() != StatusWebhookDelivered || p.Media[0].Size != 1024 ||
		p.Media[0].ContentType != "image/jpeg" || p.ReceivedAt == nil {
		t.Fatalf("payload %+v", p)
	}
}

func TestVerifySignature(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	body := []byte(finalizedBody)
	// Sign independently of Sign, exactly as TELNYX.md states the scheme.
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(ts+"|"+finalizedBody)))
	if Sign(priv, ts, body) != sig {
		t.Fatal("Sign disagrees with the documented scheme")
	}
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	tampered := append([]byte{}, body...)
	tampered[10] ^= 1

	tests := []struct {
		name    string
		pub     ed25519.PublicKey
		sig, ts string
		body    []byte
		now     time.Time
		want    error
	}{
		{"valid", pub, sig, ts, body, now, nil},
		{"valid at +300s", pub, sig, ts, body, now.Add(300 * time.Second), nil},
		{"valid at -300s", pub, sig, ts, body, now.Add(-300 * time.Second), nil},
		{"stale", pub, sig, ts, body, now.Add(301 * time.Second), ErrStaleTimestamp},
		{"from the future", pub, sig, ts, body, now.Add(-301 * time.Second), ErrStaleTimestamp},
		{"tampered body", pub, sig, ts, tampered, now, ErrBadSignature},
		{"other timestamp", pub, sig, strconv.FormatInt(now.Unix()+1, 10), body, now, ErrBadSignature},
		{"wrong key", otherPub, sig, ts, body, now, ErrBadSignature},
		{"malformed signature", pub, "not base64!", ts, body, now, ErrBadSignature},
		{"short signature", pub, base64.StdEncoding.EncodeToString([]byte("short")), ts, body, now, ErrBadSignature},
		{"malformed timestamp", pub, sig, "yesterday", body, now, ErrStaleTimestamp},
		{"bad key", ed25519.PublicKey{1, 2, 3}, sig, ts, body, now, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifySignature(tt.pub, tt.sig, tt.ts, tt.body, tt.now)
			if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParsePublicKey(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	got, err := ParsePublicKey(base64.StdEncoding.EncodeToString(pub) + "\n")
	if err != nil || !got.Equal(pub) {
		t.Fatalf("ParsePublicKey = %v, %v", got, err)
	}
	if _, err := ParsePublicKey(base64.StdEncoding.EncodeToString(pub[:31])); err == nil {
		t.Fatal("a 31-byte key must be refused")
	}
	if _, err := ParsePublicKey("%%%"); err == nil {
		t.Fatal("non-base64 must be refused")
	}
}
