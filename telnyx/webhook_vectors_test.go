// Independent Ed25519 test vectors for Telnyx webhook signatures.
//
// testdata/ed25519-vectors.json holds signatures made WITHOUT Go's
// crypto/ed25519: one key pair from OpenSSL (generator "openssl") and one from
// Node.js's crypto module (generator "node"). Regenerate it with
// telnyx/testdata/gen-ed25519-vectors.sh (fresh keys each run; the bodies,
// timestamps and vector names are fixed; no private keys are stored).
//
// Other packages' tests may use the vectors too. Read
// telnyx/testdata/ed25519-vectors.json (path from the module root; from a
// test in a sibling package such as webhooks/ that is
// "../telnyx/testdata/ed25519-vectors.json") and decode it into
//
//	var doc struct {
//		Vectors []struct {
//			Name      string `json:"name"`       // unique, e.g. "node-message.finalized"
//			Generator string `json:"generator"`  // "openssl" or "node"
//			PublicKey string `json:"public_key"` // std base64 of the raw 32-byte key: telnyx.ParsePublicKey
//			Timestamp string `json:"timestamp"`  // telnyx-timestamp header (Unix seconds)
//			Body      string `json:"body"`       // the exact raw request body
//			Signature string `json:"signature"`  // telnyx-signature-ed25519 header (std base64)
//		} `json:"vectors"`
//	}
//
// Every vector verifies with now = time.Unix(timestamp, 0); all vectors of one
// generator share one public key. Don't edit the file by hand: any change to a
// body or timestamp invalidates its signature.

package telnyx

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

const ed25519VectorsPath = "testdata/ed25519-vectors.json"

type ed25519Vector struct {
	Name      string `json:"name"`
	Generator string `json:"generator"`
	PublicKey string `json:"public_key"`
	Timestamp string `json:"timestamp"`
	Body      string `json:"body"`
	Signature string `json:"signature"`
}

func loadEd25519Vectors(t *testing.T) []ed25519Vector {
	t.Helper()
	data, err := os.ReadFile(ed25519VectorsPath)
	if err != nil {
		t.Fatalf("%v (regenerate with testdata/gen-ed25519-vectors.sh)", err)
	}
	var doc struct {
		Vectors []ed25519Vector `json:"vectors"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", ed25519VectorsPath, err)
	}
	return doc.Vectors
}

func TestEd25519Vectors(t *testing.T) {
	vectors := loadEd25519Vectors(t)

	// The file must hold both independent implementations, one key each, so
	// the test cannot pass vacuously.
	count := map[string]int{}
	keys := map[string]string{}
	names := map[string]bool{}
	nonASCII := false
	for _, v := range vectors {
		if v.Generator != "openssl" && v.Generator != "node" {
			t.Fatalf("vector %q: generator %q, want openssl or node", v.Name, v.Generator)
		}
		if v.Name == "" || names[v.Name] {
			t.Fatalf("vector name %q empty or duplicated", v.Name)
		}
		names[v.Name] = true
		if k, ok := keys[v.Generator]; ok && k != v.PublicKey {
			t.Fatalf("vector %q: %s public key differs from the other %s vectors", v.Name, v.Generator, v.Generator)
		}
		keys[v.Generator] = v.PublicKey
		count[v.Generator]++
		if !utf8.ValidString(v.Body) {
			t.Fatalf("vector %q: body is not valid UTF-8", v.Name)
		}
		for i := 0; i < len(v.Body); i++ {
			if v.Body[i] >= utf8.RuneSelf {
				nonASCII = true
			}
		}
	}
	if count["openssl"] == 0 || count["node"] == 0 {
		t.Fatalf("vectors per generator = %v, want at least one openssl and one node vector", count)
	}
	if keys["openssl"] == keys["node"] {
		t.Fatal("openssl and node vectors share a public key")
	}
	if !nonASCII {
		t.Fatal("no vector has a non-ASCII body")
	}
	t.Logf("%d vectors: %v", len(vectors), count)
	otherKey := map[string]string{"openssl": keys["node"], "node": keys["openssl"]}

	for _, v := range vectors {
		t.Run(v.Name, func(t *testing.T) {
			pub, err := ParsePublicKey(v.PublicKey)
			if err != nil {
				t.Fatalf("ParsePublicKey: %v", err)
			}
			ts, err := strconv.ParseInt(v.Timestamp, 10, 64)
			if err != nil {
				t.Fatalf("timestamp %q: %v", v.Timestamp, err)
			}
			now := time.Unix(ts, 0)
			body := []byte(v.Body)
			sig, err := base64.StdEncoding.DecodeString(v.Signature)
			if err != nil || len(sig) != 64 {
				t.Fatalf("signature %q: %d bytes, %v", v.Signature, len(sig), err)
			}

			if err := VerifySignature(pub, v.Signature, v.Timestamp, body, now); err != nil {
				t.Fatalf("valid vector: %v", err)
			}
			for _, d := range []time.Duration{-SignatureTolerance, SignatureTolerance} {
				if err := VerifySignature(pub, v.Signature, v.Timestamp, body, now.Add(d)); err != nil {
					t.Errorf("now = timestamp%+v: %v", d, err)
				}
			}
			if strings.HasPrefix(v.Body, `{"data"`) {
				w, err := ParseWebhook(body)
				if err != nil {
					t.Fatalf("ParseWebhook: %v", err)
				}
				if !strings.Contains(v.Name, w.Data.EventType) {
					t.Errorf("vector %q carries a %s event", v.Name, w.Data.EventType)
				}
			}

			bad := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, ErrBadSignature) {
					t.Errorf("%s: err = %v, want ErrBadSignature", what, err)
				}
			}
			for _, i := range []int{0, len(body) / 2, len(body) - 1} {
				b := bytes.Clone(body)
				b[i] ^= 0x01
				bad(fmt.Sprintf("body byte %d flipped", i), VerifySignature(pub, v.Signature, v.Timestamp, b, now))
			}
			bad("body with trailing newline", VerifySignature(pub, v.Signature, v.Timestamp, append(bytes.Clone(body), '\n'), now))
			for _, d := range []int64{-1, 1} {
				bad(fmt.Sprintf("timestamp%+d", d), VerifySignature(pub, v.Signature, strconv.FormatInt(ts+d, 10), body, now))
			}
			other, err := ParsePublicKey(otherKey[v.Generator])
			if err != nil {
				t.Fatal(err)
			}
			bad("other generator's public key", VerifySignature(other, v.Signature, v.Timestamp, body, now))
			bad("signature truncated to 63 bytes", VerifySignature(pub, base64.StdEncoding.EncodeToString(sig[:63]), v.Timestamp, body, now))
			bad("signature header missing its last character", VerifySignature(pub, v.Signature[:len(v.Signature)-1], v.Timestamp, body, now))
			flipped := bytes.Clone(sig)
			flipped[0] ^= 0x01
			bad("signature bit flipped", VerifySignature(pub, base64.StdEncoding.EncodeToString(flipped), v.Timestamp, body, now))

			for _, d := range []time.Duration{301 * time.Second, -301 * time.Second} {
				if err := VerifySignature(pub, v.Signature, v.Timestamp, body, now.Add(d)); !errors.Is(err, ErrStaleTimestamp) {
					t.Errorf("now = timestamp%+v: err = %v, want ErrStaleTimestamp", d, err)
				}
			}
		})
	}
}
