#!/usr/bin/env bash
# Regenerates ed25519-vectors.json: Telnyx-style webhook signatures made
# WITHOUT Go's crypto/ed25519, so telnyx.VerifySignature is checked against
# independent Ed25519 implementations:
#
#   generator "openssl": a key from `openssl genpkey -algorithm ed25519`,
#                        signatures from `openssl pkeyutl -sign -rawin`;
#   generator "node":    a key from Node.js crypto.generateKeyPairSync,
#                        signatures from crypto.sign (gen-ed25519-vectors.js).
#
# Telnyx signs timestamp + "|" + raw body; the signature header is std base64
# of the 64-byte signature and the public key is std base64 of the raw 32-byte
# key. Fresh keys are generated on every run (the private keys live only in a
# temporary directory and are never written here); the bodies, timestamps,
# names and order of the vectors are fixed.
#
# Usage: telnyx/testdata/gen-ed25519-vectors.sh   (needs bash, openssl >= 3, node >= 16)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out="$here/ed25519-vectors.json"

command -v openssl >/dev/null || { echo "gen-ed25519-vectors: openssl not found" >&2; exit 1; }
command -v node >/dev/null || { echo "gen-ed25519-vectors: node not found" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bodies" "$tmp/openssl"

# --- The cases: name, timestamp, exact body (no trailing newline). ---------
cases="$tmp/cases.tsv"
: >"$cases"
add_case() { # name timestamp body
	printf '%s\t%s\n' "$1" "$2" >>"$cases"
	printf '%s' "$3" >"$tmp/bodies/$1.body"
}

add_case message.received 1790000000 '{"data":{"event_type":"message.received","id":"b301ed3f-1490-491f-995f-6e64e15ea5a2","occurred_at":"2026-09-21T14:13:20.123+00:00","payload":{"autoresponse_type":null,"cc":[],"completed_at":null,"cost":null,"direction":"inbound","encoding":"GSM-7","errors":[],"from":{"carrier":"T-MOBILE USA, INC.","line_type":"Wireless","phone_number":"+13125550199"},"id":"84cca175-9755-4859-b67f-4730d7f58aa3","media":[],"messaging_profile_id":"400176d8-6f9c-4b6a-9a3e-3b2d3c3a2f11","organization_id":"9a8f8c4e-2b0e-4c1a-8a55-5f3e0d6f7a10","parts":1,"received_at":"2026-09-21T14:13:19.901+00:00","record_type":"message","sent_at":null,"subject":"","tags":[],"text":"Is the food pantry open Saturday? Reply STOP to opt out","to":[{"carrier":"TELNYX LLC","line_type":"VoIP","phone_number":"+13125550100","status":"webhook_delivered"}],"type":"SMS","valid_until":null,"webhook_failover_url":"","webhook_url":"https://steeple.example/webhooks/telnyx"},"record_type":"event"},"meta":{"attempt":1,"delivered_to":"https://steeple.example/webhooks/telnyx"}}'

add_case message.finalized 1790000042 '{"data":{"event_type":"message.finalized","id":"4ee8c3a6-4995-4309-a3c6-38e3db9ea4be","occurred_at":"2026-09-21T14:14:02.148+00:00","payload":{"cc":[],"completed_at":"2026-09-21T14:14:02.148+00:00","cost":{"amount":"0.0040","currency":"USD"},"cost_breakdown":{"carrier_fee":{"amount":"0.00250","currency":"USD"},"rate":{"amount":"0.00150","currency":"USD"}},"direction":"outbound","encoding":"GSM-7","errors":[],"from":{"carrier":"TELNYX LLC","line_type":"VoIP","phone_number":"+13125550100"},"id":"40385f64-5717-4562-b3fc-2c963f66afa6","media":[],"messaging_profile_id":"400176d8-6f9c-4b6a-9a3e-3b2d3c3a2f11","organization_id":"9a8f8c4e-2b0e-4c1a-8a55-5f3e0d6f7a10","parts":1,"received_at":"2026-09-21T14:14:01.101+00:00","record_type":"message","sent_at":"2026-09-21T14:14:01.552+00:00","subject":null,"tags":[],"tcr_campaign_billable":true,"tcr_campaign_id":"CX1Z2Y3","tcr_campaign_registered":"REGISTERED","text":"Yes! The pantry is open 9am-noon this Saturday.","to":[{"carrier":"T-MOBILE USA, INC.","line_type":"Wireless","phone_number":"+13125550199","status":"delivered"}],"type":"SMS","valid_until":"2026-09-21T15:14:01.101+00:00","webhook_failover_url":null,"webhook_url":"https://steeple.example/webhooks/telnyx"},"record_type":"event"},"meta":{"attempt":1,"delivered_to":"https://steeple.example/webhooks/telnyx"}}'

# Raw UTF-8 (accents, CJK, emoji incl. a ZWJ sequence) plus JSON escapes that
# must stay escaped in the signed bytes: \" \n \u2019 \/.
add_case message.received-utf8 1790000301 '{"data":{"event_type":"message.received","id":"0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0","occurred_at":"2026-09-21T14:18:21.000+00:00","payload":{"cc":[],"direction":"inbound","encoding":"UCS-2","errors":[],"from":{"carrier":"Verizon Wireless","line_type":"Wireless","phone_number":"+13125550142"},"id":"a1b2c3d4-e5f6-4789-8abc-def012345678","media":[],"messaging_profile_id":"400176d8-6f9c-4b6a-9a3e-3b2d3c3a2f11","parts":2,"received_at":"2026-09-21T14:18:20.777+00:00","record_type":"message","text":"¡Hola! Café crème brûlée, naïve façade, Ærøskøbing, Zürich — 日本語のメッセージ 🙏🎉👨‍👩‍👧 \"quoted\"\nline two \u2019 https:\/\/x.test","to":[{"carrier":"TELNYX LLC","line_type":"VoIP","phone_number":"+13125550100","status":"webhook_delivered"}],"type":"SMS"},"record_type":"event"},"meta":{"attempt":3,"delivered_to":"https://steeple.example/webhooks/telnyx"}}'

add_case empty-object 1790009999 '{}'

# --- openssl ---------------------------------------------------------------
key="$tmp/openssl/key.pem"
openssl genpkey -algorithm ed25519 -out "$key" 2>/dev/null
openssl pkey -in "$key" -pubout -out "$tmp/openssl/pub.pem"
openssl pkey -in "$key" -pubout -outform DER -out "$tmp/openssl/pub.der"
# An Ed25519 SubjectPublicKeyInfo is a fixed 12-byte header
# (SEQUENCE { SEQUENCE { OID 1.3.101.112 } BIT STRING }) + the raw 32-byte key.
der_hex=$(od -An -v -tx1 "$tmp/openssl/pub.der" | tr -d ' \n')
if [[ ${#der_hex} -ne 88 || ${der_hex:0:24} != 302a300506032b6570032100 ]]; then
	echo "gen-ed25519-vectors: unexpected Ed25519 SPKI DER from openssl: $der_hex" >&2
	exit 1
fi
tail -c 32 "$tmp/openssl/pub.der" | openssl base64 -A >"$tmp/openssl/pub.b64"

while IFS=$'\t' read -r name ts; do
	msg="$tmp/openssl/$name.msg"
	sig="$tmp/openssl/$name.sig"
	{ printf '%s|' "$ts"; cat "$tmp/bodies/$name.body"; } >"$msg"
	openssl pkeyutl -sign -inkey "$key" -rawin -in "$msg" -out "$sig"
	if [[ $(wc -c <"$sig") -ne 64 ]]; then
		echo "gen-ed25519-vectors: openssl signature for $name is not 64 bytes" >&2
		exit 1
	fi
	openssl pkeyutl -verify -pubin -inkey "$tmp/openssl/pub.pem" -rawin -in "$msg" -sigfile "$sig" >/dev/null
	openssl base64 -A <"$sig" >"$tmp/openssl/$name.sig.b64"
done <"$cases"

# --- node (signs with its own key, cross-checks, writes the JSON) ----------
node "$here/gen-ed25519-vectors.js" "$tmp" "$out" "$(openssl version)"
echo "wrote $out"
