// A relying party written with the npm `openid-client` (v6, unmodified) and `jose`, driven by
// the idp's interop test (crates/idp/tests/api/interop.rs). It speaks JSON lines: the test's
// first line on stdin is the configuration; each line this script prints on stdout is a JSON
// object with `op`, and the test answers each `keys` and `user` op with one line on stdin.
//
//   config  {issuer, api_base, runs: [{client_id, alg: "ES256"|"RS256", flow: "login"|"sign"|"cancel",
//            scope?, redirect_uri, state_suffix?, expect_iss: bool,
//            recipient?: "own"|"platform", digest_form?: "hash"|"digest_info"}]}
//   → {op: "keys", clients: {client_id: {jwk, recipient_jwk?}}}     ← {}  (the test registers them)
//   → {op: "user", client_id, url, action?}  ← {callback}  (the test is the user with the card;
//                                             action "cancel": the user declines)
//   → {op: "done", runs: [...]}              what each run saw, for the test to check
//
// The RP keeps its keys: the client assertion keys (RS256 or ES256) and, for a sign run with
// recipient "own", the RSA-OAEP-256 key its sign results are encrypted to. A failed check
// throws: the script exits non-zero with the error on stderr.

import { createHash, createPublicKey, publicDecrypt, constants, X509Certificate } from 'node:crypto';
import { createInterface } from 'node:readline';
import * as client from 'openid-client';
import * as jose from 'jose';

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();
async function ask(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
  const { value, done } = await lines.next();
  if (done) throw new Error(`the test closed stdin while ${message.op} waited for an answer`);
  return JSON.parse(value);
}
function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
}
const b64u = (buf) => Buffer.from(buf).toString('base64url');

const config = JSON.parse((await lines.next()).value);

// Keys: one signing key per client; a JWE key pair for the runs that decrypt their own results.
const keys = {};
const clients = {};
for (const run of config.runs) {
  const pair = await jose.generateKeyPair(run.alg, { extractable: true });
  const jwk = await jose.exportJWK(pair.publicKey);
  jwk.kid = await jose.calculateJwkThumbprint(jwk);
  jwk.alg = run.alg;
  jwk.use = 'sig';
  keys[run.client_id] = { signing: { key: pair.privateKey, kid: jwk.kid } };
  clients[run.client_id] = { jwk };
  if (run.recipient === 'own') {
    const enc = await jose.generateKeyPair('RSA-OAEP-256', { extractable: true });
    keys[run.client_id].decrypt = enc.privateKey;
    clients[run.client_id].recipient_jwk = await jose.exportJWK(enc.publicKey);
  }
}
await ask({ op: 'keys', clients });

// at_hash (OpenID Connect Core §3.1.3.6): openid-client does not check it in the code flow (it
// is optional there); the RPs of the real service do, so this RP does.
function atHash(accessToken) {
  return b64u(createHash('sha256').update(accessToken).digest().subarray(0, 16));
}

async function discover(run) {
  return client.discovery(
    new URL(config.issuer),
    run.client_id,
    { redirect_uris: [run.redirect_uri], id_token_signed_response_alg: 'ES256' },
    client.PrivateKeyJwt(keys[run.client_id].signing),
    { execute: [client.allowInsecureRequests] },
  );
}

// The authorization: the user (the test) approves with the card and hands back the callback URL.
async function authorize(rp, run, extra) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState() + (run.state_suffix ?? '');
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(rp, {
    redirect_uri: run.redirect_uri,
    scope: run.scope ?? 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  const { callback } = await ask({ op: 'user', client_id: run.client_id, url: url.href });
  const callbackUrl = new URL(callback);
  check(callbackUrl.searchParams.has('iss') === run.expect_iss, `the callback has iss: ${run.expect_iss}`);
  check(callbackUrl.searchParams.get('state') === state, 'state comes back byte for byte');
  check(callbackUrl.searchParams.has('session_state'), 'the callback has session_state');
  const tokens = await client.authorizationCodeGrant(rp, callbackUrl, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  check(claims.at_hash === atHash(tokens.access_token), 'at_hash is the access token hash');
  check(typeof claims.aud === 'string', 'the ID token aud is a string');
  return { tokens, claims, callback: Object.fromEntries(callbackUrl.searchParams), state };
}

async function loginRun(run) {
  const rp = await discover(run);
  const { tokens, claims, callback, state } = await authorize(rp, run, {});
  const userinfo = await client.fetchUserInfo(rp, tokens.access_token, claims.sub);
  const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token);
  const again = refreshed.claims();
  check(again.sub === claims.sub, 'the refreshed ID token has the same sub');
  check(again.at_hash === atHash(refreshed.access_token), 'the refreshed at_hash');
  check(refreshed.refresh_token !== tokens.refresh_token, 'the refresh token rotates');
  const userinfo2 = await client.fetchUserInfo(rp, refreshed.access_token, claims.sub);
  // The rotated-out refresh token is refused now (and the grant with it).
  let reuse;
  try {
    await client.refreshTokenGrant(rp, tokens.refresh_token);
    reuse = 'accepted';
  } catch (e) {
    reuse = e.error ?? `${e.code}: ${e.message} ${e.cause?.status} ${e.cause?.headers?.get?.("content-type")}`;
  }
  return {
    client_id: run.client_id,
    state,
    callback,
    id_token: claims,
    token_type: tokens.token_type,
    scope: tokens.scope,
    userinfo,
    userinfo_after_refresh: userinfo2,
    refreshed_id_token: again,
    reused_refresh_token: reuse,
  };
}

const DIGEST_INFO_SHA256 = Buffer.from('3031300d060960864801650304020105000420', 'hex');

async function signRun(run) {
  const rp = await discover(run);
  const service = await client.clientCredentialsGrant(rp, { scope: 'sign' });
  check(service.scope === 'sign', 'the client_credentials token has scope sign');
  const document = Buffer.from(`契約書 ${run.client_id} ${new Date().toISOString()}`);
  const hash = createHash('sha256').update(document).digest();
  const submitted = run.digest_form === 'digest_info' ? Buffer.concat([DIGEST_INFO_SHA256, hash]) : hash;
  const started = await client.fetchProtectedResource(
    rp,
    service.access_token,
    new URL(`${config.api_base}/api/sign-transactions`),
    'POST',
    JSON.stringify({ digest: submitted.toString('base64') }),
    new Headers({ 'content-type': 'application/json' }),
  );
  const tx = await started.json();
  check(started.status === 201, `POST /api/sign-transactions: ${started.status} ${JSON.stringify(tx)}`);
  const { tokens, claims } = await authorize(rp, run, { sign_transaction_id: tx.sign_transaction_id });
  const got = await client.fetchProtectedResource(
    rp,
    tokens.access_token,
    new URL(`${config.api_base}/api/sign-transactions/${tx.sign_transaction_id}/result`),
    'GET',
  );
  const result = await got.json();
  check(got.status === 200, `GET …/result: ${got.status} ${JSON.stringify(result)}`);
  const out = {
    client_id: run.client_id,
    sign_transaction_id: tx.sign_transaction_id,
    form: tx.form,
    id_token: claims,
    digest: hash.toString('base64'),
    jwe: result.sign_certificate_jwe,
  };
  if (run.recipient === 'own') {
    const { plaintext, protectedHeader } = await jose.compactDecrypt(
      result.sign_certificate_jwe,
      keys[run.client_id].decrypt,
    );
    const payload = JSON.parse(new TextDecoder().decode(plaintext));
    // The card's signature, checked here with the certificate's key: PKCS#1 v1.5 type 1 over
    // exactly the bytes submitted (a bare hash, or the DigestInfo).
    const certificate = new X509Certificate(Buffer.from(payload.certificate, 'base64'));
    const recovered = publicDecrypt(
      { key: createPublicKey(certificate.publicKey.export({ type: 'spki', format: 'pem' })), padding: constants.RSA_PKCS1_PADDING },
      Buffer.from(payload.signature, 'base64'),
    );
    check(recovered.equals(submitted), 'the card signed exactly the submitted bytes');
    out.protected_header = protectedHeader;
    out.payload = payload;
    out.certificate_subject = certificate.subject;
  }
  return out;
}

// The user cancels: the error redirect (error, error_description, state, and iss when on) goes
// through openid-client's response checks and surfaces as its AuthorizationResponseError.
async function cancelRun(run) {
  const rp = await discover(run);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState() + (run.state_suffix ?? '');
  const url = client.buildAuthorizationUrl(rp, {
    redirect_uri: run.redirect_uri,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce: client.randomNonce(),
  });
  const { callback } = await ask({ op: 'user', client_id: run.client_id, url: url.href, action: 'cancel' });
  const callbackUrl = new URL(callback);
  check(callbackUrl.searchParams.has('iss') === run.expect_iss, `the error callback has iss: ${run.expect_iss}`);
  try {
    await client.authorizationCodeGrant(rp, callbackUrl, { pkceCodeVerifier: verifier, expectedState: state });
  } catch (e) {
    check(e instanceof client.AuthorizationResponseError, `an AuthorizationResponseError, not ${e}`);
    return { client_id: run.client_id, state, callback: Object.fromEntries(callbackUrl.searchParams), error: e.error,
             error_description: e.error_description };
  }
  throw new Error('a cancelled authorization gave tokens');
}

const results = [];
for (const run of config.runs) {
  const flows = { sign: signRun, cancel: cancelRun, login: loginRun };
  results.push(await flows[run.flow](run));
}
process.stdout.write(`${JSON.stringify({ op: 'done', runs: results })}\n`);
process.exit(0);
