// A relying party's full OpenID Connect login, driven over plain HTTP (node's fetch) and jose,
// without a browser: authorize (following the provider's redirects with a per-flow cookie jar)
// → the provider's interaction, completed by a callback → the callback's code → token
// (private_key_jwt, PKCE S256) → userinfo. The same loop drives node-oidc-provider (the
// yardstick, bench-node-oidc.mjs) and the hanko idp: only `completeInteraction` differs.
//
//   const rp = await prepare({ discoveryUrl, clientId, privateKey, alg, redirectUri,
//                              completeInteraction });
//   const one = await loginFlow(rp);                 // { sub, claims, timings }
//   const run = await runFlows(rp, { seconds: 10, concurrency: 8 });
//
// Every flow has a fresh PKCE verifier, state, nonce and cookie jar (a new browser), and a fresh
// client assertion with a unique jti. The ID token is verified as an RP must (signature against
// the provider's JWKS, iss, aud, nonce, at_hash when present); a flow that fails throws.

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import * as jose from 'jose';

const b64u = (buf) => Buffer.from(buf).toString('base64url');

/** A per-flow cookie jar keyed by name (the providers here never reuse a name across paths). */
export class CookieJar {
  #cookies = new Map();

  store(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => {
        const [k, v = ''] = a.trim().split('=');
        const key = k.toLowerCase();
        return (key === 'max-age' && Number(v) <= 0)
          || (key === 'expires' && Date.parse(v) < Date.now());
      });
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header() {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/**
 * Discovers the provider and prepares the relying party.
 *
 * @param {object} o
 * @param {string} o.discoveryUrl  the provider's `.well-known/openid-configuration`
 * @param {string} o.clientId
 * @param {CryptoKey|object|string} o.privateKey  the client's signing key: a CryptoKey, a private
 *   JWK, or a PKCS#8 PEM
 * @param {string} [o.alg]  the client assertion's alg (RS256 or ES256); default from the JWK or RS256
 * @param {string} [o.kid]  the assertion's `kid` header (default: the JWK's kid, if any)
 * @param {string} o.redirectUri
 * @param {string} [o.scope]  default `openid`
 * @param {object} [o.authParams]  extra authorization parameters (acr_values, claims, …)
 * @param {(response: Response, h: {url: URL, fetch: Function, jar: CookieJar}) => Promise<Response>}
 *   o.completeInteraction  called with the first non-redirect response of the authorization (the
 *   provider's login/consent page); it acts as the user (through `h.fetch`, which carries the
 *   flow's cookies and does not follow redirects) and returns the response to continue from —
 *   a redirect that leads back to the redirect URI.
 * @param {boolean} [o.userinfo]  call userinfo (default true)
 */
export async function prepare(o) {
  const res = await fetch(o.discoveryUrl);
  if (!res.ok) throw new Error(`discovery ${o.discoveryUrl}: HTTP ${res.status}`);
  const metadata = await res.json();
  for (const k of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri']) {
    if (typeof metadata[k] !== 'string') throw new Error(`discovery: no ${k}`);
  }
  const jwksRes = await fetch(metadata.jwks_uri);
  if (!jwksRes.ok) throw new Error(`jwks ${metadata.jwks_uri}: HTTP ${jwksRes.status}`);
  const jwks = jose.createLocalJWKSet(await jwksRes.json());

  let { privateKey, alg, kid } = o;
  if (typeof privateKey === 'string') {
    alg ??= 'RS256';
    privateKey = await jose.importPKCS8(privateKey, alg);
  } else if (privateKey && !(privateKey instanceof CryptoKey) && privateKey.kty) {
    alg ??= privateKey.alg ?? (privateKey.kty === 'EC' ? 'ES256' : 'RS256');
    kid ??= privateKey.kid;
    privateKey = await jose.importJWK(privateKey, alg);
  }
  alg ??= 'RS256';
  return {
    metadata,
    jwks,
    clientId: o.clientId,
    privateKey,
    alg,
    kid,
    redirectUri: o.redirectUri,
    scope: o.scope ?? 'openid',
    authParams: o.authParams ?? {},
    completeInteraction: o.completeInteraction,
    userinfo: o.userinfo ?? true,
  };
}

/** A fresh client assertion (private_key_jwt), `aud` the token endpoint, a unique `jti`. */
export async function clientAssertion(rp) {
  const header = { alg: rp.alg, typ: 'JWT' };
  if (rp.kid) header.kid = rp.kid;
  return new jose.SignJWT({})
    .setProtectedHeader(header)
    .setIssuer(rp.clientId)
    .setSubject(rp.clientId)
    .setAudience(rp.metadata.token_endpoint)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(rp.privateKey);
}

function isRedirectUri(location, redirectUri) {
  const a = new URL(location);
  const b = new URL(redirectUri);
  return a.origin === b.origin && a.pathname === b.pathname;
}

/** One full login; returns the userinfo claims, the ID token's sub and per-step milliseconds. */
export async function loginFlow(rp) {
  const t0 = performance.now();
  const verifier = b64u(randomBytes(32));
  const challenge = b64u(createHash('sha256').update(verifier).digest());
  const state = b64u(randomBytes(16));
  const nonce = b64u(randomBytes(16));
  const jar = new CookieJar();
  const hfetch = async (url, init = {}) => {
    const headers = new Headers(init.headers);
    const cookie = jar.header();
    if (cookie) headers.set('cookie', cookie);
    const r = await fetch(url, { ...init, headers, redirect: 'manual' });
    jar.store(r);
    return r;
  };

  const auth = new URL(rp.metadata.authorization_endpoint);
  const params = {
    response_type: 'code',
    client_id: rp.clientId,
    redirect_uri: rp.redirectUri,
    scope: rp.scope,
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...rp.authParams,
  };
  for (const [k, v] of Object.entries(params)) auth.searchParams.set(k, v);

  // authorize: follow the provider's redirects; the first page is the interaction.
  let url = auth;
  let response = await hfetch(url);
  let interacted = false;
  let tInteraction = 0;
  let callback;
  for (let hops = 0; ; hops += 1) {
    if (hops > 20) throw new Error('authorization: too many redirects');
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      const location = new URL(response.headers.get('location'), url);
      if (isRedirectUri(location, rp.redirectUri)) {
        callback = location;
        break;
      }
      url = location;
      response = await hfetch(url);
    } else if (response.ok && !interacted) {
      interacted = true;
      const ti = performance.now();
      response = await rp.completeInteraction(response, { url, fetch: hfetch, jar });
      tInteraction = performance.now() - ti;
    } else {
      const body = await response.text();
      throw new Error(`authorization: HTTP ${response.status} at ${url}: ${body.slice(0, 300)}`);
    }
  }
  const tAuthorize = performance.now() - t0 - tInteraction;

  const q = callback.searchParams;
  if (q.get('error')) throw new Error(`authorization error: ${q.get('error')}: ${q.get('error_description')}`);
  if (q.get('state') !== state) throw new Error('callback: state does not come back byte for byte');
  if (q.has('iss') && q.get('iss') !== rp.metadata.issuer) throw new Error('callback: wrong iss');
  const code = q.get('code');
  if (!code) throw new Error('callback: no code');

  // token: private_key_jwt + PKCE
  const t1 = performance.now();
  const tokenRes = await fetch(rp.metadata.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: rp.redirectUri,
      code_verifier: verifier,
      client_id: rp.clientId,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await clientAssertion(rp),
    }),
  });
  const tokens = await tokenRes.json();
  if (!tokenRes.ok) throw new Error(`token: HTTP ${tokenRes.status}: ${JSON.stringify(tokens)}`);
  const { payload: idToken, protectedHeader } = await jose.jwtVerify(tokens.id_token, rp.jwks, {
    issuer: rp.metadata.issuer,
    audience: rp.clientId,
  });
  if (idToken.nonce !== nonce) throw new Error('id_token: nonce mismatch');
  if (idToken.at_hash !== undefined) {
    const bits = Number(protectedHeader.alg.slice(2));
    const hash = createHash(`sha${bits}`).update(tokens.access_token).digest();
    if (idToken.at_hash !== b64u(hash.subarray(0, hash.length / 2))) throw new Error('id_token: at_hash mismatch');
  }
  const tToken = performance.now() - t1;

  // userinfo
  let claims;
  let tUserinfo = 0;
  if (rp.userinfo) {
    const t2 = performance.now();
    const uiRes = await fetch(rp.metadata.userinfo_endpoint, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    if (!uiRes.ok) throw new Error(`userinfo: HTTP ${uiRes.status}: ${(await uiRes.text()).slice(0, 300)}`);
    claims = await uiRes.json();
    if (claims.sub !== idToken.sub) throw new Error('userinfo: sub differs from the ID token');
    tUserinfo = performance.now() - t2;
  }
  return {
    sub: idToken.sub,
    idToken,
    claims,
    timings: { authorize: tAuthorize, interaction: tInteraction, token: tToken, userinfo: tUserinfo },
  };
}

/**
 * Full login flows for `seconds` with `concurrency` flows in flight; stops by itself. Any failed
 * flow fails the run (a benchmark of errors is no benchmark).
 */
export async function runFlows(rp, { seconds = 10, concurrency = 8, warmup = 1 } = {}) {
  for (let i = 0; i < warmup; i += 1) await loginFlow(rp);
  const sums = { authorize: 0, interaction: 0, token: 0, userinfo: 0 };
  let flows = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const { timings } = await loginFlow(rp);
      flows += 1;
      for (const k of Object.keys(sums)) sums[k] += timings[k];
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - start) / 1000;
  const mean = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, +(v / Math.max(flows, 1)).toFixed(3)]));
  return {
    flows,
    seconds: +elapsed.toFixed(3),
    flows_per_second: +(flows / elapsed).toFixed(1),
    concurrency,
    mean_ms: mean,
  };
}
