// Helper for gen-ed25519-vectors.sh (run that instead).
//
// Usage: node gen-ed25519-vectors.js TMPDIR OUT.json OPENSSL_VERSION
//
// Reads the cases, bodies and openssl results the shell script left in TMPDIR,
// signs every case with a fresh Node.js (crypto) Ed25519 key, cross-checks the
// openssl signatures with Node's verifier, and writes OUT.json.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const [tmp, out, opensslVersion] = process.argv.slice(2);
if (!tmp || !out) {
  console.error('usage: node gen-ed25519-vectors.js TMPDIR OUT.json OPENSSL_VERSION');
  process.exit(2);
}

function fail(msg) {
  console.error('gen-ed25519-vectors.js: ' + msg);
  process.exit(1);
}

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

// Raw 32-byte public key from a KeyObject, two ways that must agree:
// the JWK "x" member (base64url) and the tail of the DER SubjectPublicKeyInfo.
function rawPublicKey(pub) {
  const fromJwk = Buffer.from(pub.export({ format: 'jwk' }).x, 'base64url');
  const der = pub.export({ format: 'der', type: 'spki' });
  if (der.length !== 44 || !der.subarray(0, 12).equals(SPKI_PREFIX)) fail('unexpected SPKI DER ' + der.toString('hex'));
  const fromDer = der.subarray(12);
  if (fromJwk.length !== 32 || !fromJwk.equals(fromDer)) fail('JWK x and SPKI DER disagree');
  return fromJwk;
}

function publicKeyFromRaw(raw) {
  return crypto.createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

const cases = fs.readFileSync(path.join(tmp, 'cases.tsv'), 'utf8')
  .split('\n').filter(Boolean)
  .map((line) => {
    const [name, timestamp] = line.split('\t');
    const bodyBytes = fs.readFileSync(path.join(tmp, 'bodies', name + '.body'));
    const body = bodyBytes.toString('utf8');
    if (!Buffer.from(body, 'utf8').equals(bodyBytes)) fail(name + ': body is not valid UTF-8');
    if (!/^[0-9]+$/.test(timestamp)) fail(name + ': bad timestamp ' + timestamp);
    return { name, timestamp, body, msg: Buffer.concat([Buffer.from(timestamp + '|', 'utf8'), bodyBytes]) };
  });

// openssl results, cross-checked with Node's verifier.
const opensslRaw = Buffer.from(fs.readFileSync(path.join(tmp, 'openssl', 'pub.b64'), 'utf8').trim(), 'base64');
if (opensslRaw.length !== 32) fail('openssl public key is not 32 bytes');
const opensslPub = publicKeyFromRaw(opensslRaw);
const vectors = [];
for (const c of cases) {
  const sigB64 = fs.readFileSync(path.join(tmp, 'openssl', c.name + '.sig.b64'), 'utf8').trim();
  const sig = Buffer.from(sigB64, 'base64');
  if (sig.length !== 64) fail('openssl ' + c.name + ': signature is not 64 bytes');
  if (!crypto.verify(null, c.msg, opensslPub, sig)) fail('openssl ' + c.name + ': node does not verify it');
  vectors.push({
    name: 'openssl-' + c.name,
    generator: 'openssl',
    public_key: opensslRaw.toString('base64'),
    timestamp: c.timestamp,
    body: c.body,
    signature: sig.toString('base64'),
  });
}

// node: a fresh key pair; the private key never leaves this process.
const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
const nodeRaw = rawPublicKey(publicKey);
if (nodeRaw.equals(opensslRaw)) fail('node and openssl keys are equal');
for (const c of cases) {
  const sig = crypto.sign(null, c.msg, privateKey);
  if (sig.length !== 64 || !crypto.verify(null, c.msg, publicKey, sig)) fail('node ' + c.name + ': bad signature');
  vectors.push({
    name: 'node-' + c.name,
    generator: 'node',
    public_key: nodeRaw.toString('base64'),
    timestamp: c.timestamp,
    body: c.body,
    signature: sig.toString('base64'),
  });
}

const doc = {
  description: 'Telnyx webhook Ed25519 test vectors made without Go crypto. ' +
    'signature = std base64 of Ed25519(timestamp + "|" + body); public_key = std base64 of the raw 32-byte key. ' +
    'Regenerate with telnyx/testdata/gen-ed25519-vectors.sh (new keys each run).',
  openssl_version: opensslVersion || '',
  node_version: process.version,
  vectors,
};
fs.writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
