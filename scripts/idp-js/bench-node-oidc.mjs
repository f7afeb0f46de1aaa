// The yardstick of `hanko bench idp`: node-oidc-provider (npm oidc-provider) configured like the
// hanko idp, on loopback, driven by the same flow loop (flow-driver.mjs) for a duration with C
// flows in flight. Prints one JSON line:
//   {"flows": N, "seconds": S, "flows_per_second": X, "concurrency": C, ...}
//
//   node scripts/idp-js/bench-node-oidc.mjs [--seconds 10] [--concurrency 8]
//        [--client-alg RS256|ES256] [--id-token-alg RS256|ES256] [--show]
//
// The provider: private_key_jwt client authentication only (the client's public key registered
// as its JWKS, assertion jti single use), PKCE S256 required, pairwise subject (HMAC-SHA256 of
// the sector and the account, like hanko's), ID token RS256 with at_hash, the scopes
// `openid name address birthdate gender`, one fixed synthetic user. Access tokens are opaque:
// node-oidc-provider issues JWT access tokens only for a resource server (resource indicators),
// and its userinfo endpoint refuses any access token with an audience, so a token usable at
// userinfo — what this flow needs — is opaque (a lookup in its store, cheaper than hanko's RS256
// JWT: the yardstick is not handicapped). Its store is the in-memory adapter (no database; hanko
// writes to SQLite), again in the yardstick's favour.
//
// The interaction (login + consent) is the provider's own API, without a browser and without
// sleeping: GET /interaction/:uid renders the details (interactionDetails) as a page would; the
// driver then POSTs /interaction/:uid/confirm, which logs the fixed user in, grants the requested
// scopes (a Grant) and finishes the interaction (interactionFinished → 303 back to /auth/:uid).
//
// The provider runs in a worker thread (its own event loop, like a separate server process) and
// the driver on the main thread, so each has a core. node-oidc-provider is one event loop per
// process; more processes need a shared store (Redis or a database adapter), which is outside a
// fixed-user in-memory yardstick.

import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import * as jose from 'jose';
import { clientAssertion, loginFlow, prepare, runFlows } from './flow-driver.mjs';

const SCOPE = 'openid name address birthdate gender';
const CLIENT_ID = 'bench-rp';
const REDIRECT_URI = 'http://127.0.0.1/cb'; // never contacted: the driver stops at the redirect
const ACCOUNT = 'fixed-user-0001';
const CLAIMS = {
  // synthetic test data
  name: '架空 太郎',
  address: '東京都千代田区架空町1-1-1',
  birthdate: '1990-01-01',
  gender: '1',
};

function args(argv) {
  const o = { seconds: 10, concurrency: 8, clientAlg: 'RS256', idTokenAlg: 'RS256' };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--seconds') { o.seconds = Number(v); i += 1; }
    else if (a === '--concurrency') { o.concurrency = Number(v); i += 1; }
    else if (a === '--client-alg') { o.clientAlg = v; i += 1; }
    else if (a === '--id-token-alg') { o.idTokenAlg = v; i += 1; }
    else if (a === '--show') o.show = true;
    else throw new Error(`unknown argument ${a} (see the header of ${import.meta.url})`);
  }
  if (!(o.seconds > 0 && o.seconds <= 3600)) throw new Error('--seconds: 1..3600');
  if (!(Number.isInteger(o.concurrency) && o.concurrency >= 1 && o.concurrency <= 256)) {
    throw new Error('--concurrency: 1..256');
  }
  for (const alg of [o.clientAlg, o.idTokenAlg]) {
    if (!['RS256', 'ES256'].includes(alg)) throw new Error(`alg ${alg}: RS256 or ES256`);
  }
  return o;
}

// ---------------------------------------------------------------------------- the provider
async function serve({ clientJwk, idTokenAlg }) {
  const { default: Provider } = await import('oidc-provider');
  const signing = await jose.generateKeyPair(idTokenAlg, { extractable: true });
  const providerJwk = { ...(await jose.exportJWK(signing.privateKey)), kid: 'k1', alg: idTokenAlg, use: 'sig' };
  const pairwiseKey = randomBytes(32);

  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;

  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      redirect_uris: [REDIRECT_URI],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: clientJwk.alg,
      jwks: { keys: [clientJwk] },
      subject_type: 'pairwise',
      id_token_signed_response_alg: idTokenAlg,
    }],
    clientAuthMethods: ['private_key_jwt'],
    pkce: { required: () => true },
    subjectTypes: ['pairwise'],
    pairwiseIdentifier: async (_ctx, accountId, client) => createHmac('sha256', pairwiseKey)
      .update(`${client.sectorIdentifier}\0${accountId}`).digest('base64url'),
    scopes: ['openid'],
    claims: {
      openid: ['sub'],
      name: ['name'],
      address: ['address'],
      birthdate: ['birthdate'],
      gender: ['gender'],
    },
    findAccount: async (_ctx, sub) => (sub === ACCOUNT ? {
      accountId: sub,
      claims: async () => ({ sub, ...CLAIMS }),
    } : undefined),
    jwks: { keys: [providerJwk] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
    renderError: async (ctx, out) => { ctx.type = 'json'; ctx.body = out; },
  });
  provider.on('server_error', (_ctx, err) => console.error('provider server_error:', err));

  const callback = provider.callback();
  const interaction = /^\/interaction\/([A-Za-z0-9_-]+)(\/confirm)?$/;
  server.on('request', async (req, res) => {
    const m = interaction.exec(req.url);
    if (!m) { callback(req, res); return; }
    try {
      const details = await provider.interactionDetails(req, res);
      if (!m[2] && req.method === 'GET') {
        // what a login/consent page shows
        const body = JSON.stringify({
          uid: details.uid,
          prompt: details.prompt.name,
          client_id: details.params.client_id,
          scope: details.params.scope,
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end(body);
        return;
      }
      if (m[2] && req.method === 'POST') {
        const grant = new provider.Grant({ accountId: ACCOUNT, clientId: details.params.client_id });
        grant.addOIDCScope(details.params.scope);
        const grantId = await grant.save();
        await provider.interactionFinished(req, res, {
          login: { accountId: ACCOUNT },
          consent: { grantId },
        }, { mergeWithLastSubmission: false });
        return;
      }
      res.writeHead(405).end();
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err.message));
    }
  });
  return { issuer, server };
}

// The yardstick is configured as claimed: PKCE is required, a client assertion's jti is single
// use, and the client cannot authenticate otherwise. Throws if not.
async function selfCheck(rp) {
  const auth = new URL(rp.metadata.authorization_endpoint);
  for (const [k, v] of Object.entries({
    response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: SCOPE, state: 's', nonce: 'n',
  })) auth.searchParams.set(k, v);
  const noPkce = await fetch(auth, { redirect: 'manual' });
  await noPkce.body?.cancel();
  const err = new URL(noPkce.headers.get('location') ?? '/', auth).searchParams.get('error');
  if (err !== 'invalid_request') throw new Error(`self-check: authorize without PKCE gave ${noPkce.status} ${err}`);

  const token = (assertion) => fetch(rp.metadata.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code: 'not-a-code', redirect_uri: REDIRECT_URI, code_verifier: 'v'.repeat(43),
      client_id: CLIENT_ID, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
    }),
  }).then((r) => r.json());
  const assertion = await clientAssertion(rp);
  const first = await token(assertion);
  const again = await token(assertion);
  if (first.error !== 'invalid_grant' || again.error !== 'invalid_client') {
    throw new Error(`self-check: assertion replay gave ${first.error} then ${again.error}`);
  }
  const secret = await fetch(rp.metadata.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x', client_id: CLIENT_ID, client_secret: 'x' }),
  }).then((r) => r.json());
  if (secret.error !== 'invalid_client') throw new Error(`self-check: client_secret_post gave ${secret.error}`);
}

if (!isMainThread) {
  const { issuer } = await serve(workerData);
  parentPort.postMessage({ issuer });
} else {
  const o = args(process.argv.slice(2));
  const client = await jose.generateKeyPair(o.clientAlg, { extractable: true });
  const clientJwk = { ...(await jose.exportJWK(client.publicKey)), kid: 'rp1', alg: o.clientAlg, use: 'sig' };
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { clientJwk, idTokenAlg: o.idTokenAlg },
  });
  const issuer = await new Promise((resolve, reject) => {
    worker.once('message', (m) => resolve(m.issuer));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`provider worker exited (${code})`)));
  });

  let rp;
  let result;
  try {
    rp = await prepare({
      discoveryUrl: `${issuer}/.well-known/openid-configuration`,
      clientId: CLIENT_ID,
      privateKey: client.privateKey,
      alg: o.clientAlg,
      kid: 'rp1',
      redirectUri: REDIRECT_URI,
      scope: SCOPE,
      // the user: sees the page, approves
      completeInteraction: async (page, h) => {
        const { uid } = await page.json();
        return h.fetch(new URL(`/interaction/${uid}/confirm`, h.url), { method: 'POST' });
      },
    });
    await selfCheck(rp);
    if (o.show) {
      // one flow's ID token and userinfo on stderr (synthetic data), to see what is compared
      const one = await loginFlow(rp);
      console.error(JSON.stringify({ id_token: one.idToken, userinfo: one.claims }));
    }
    // event-loop utilisation of each thread during the run: the provider's should be near 1
    // (saturated), else the driver, not the provider, is the limit
    const before = { provider: worker.performance.eventLoopUtilization(), driver: performance.eventLoopUtilization() };
    result = await runFlows(rp, { seconds: o.seconds, concurrency: o.concurrency, warmup: 20 });
    result.event_loop_utilization = {
      provider: +worker.performance.eventLoopUtilization(before.provider).utilization.toFixed(3),
      driver: +performance.eventLoopUtilization(before.driver).utilization.toFixed(3),
    };
  } finally {
    await worker.terminate();
  }
  console.log(JSON.stringify({
    ...result,
    provider: 'node-oidc-provider',
    version: (await import('oidc-provider/package.json', { with: { type: 'json' } })).default.version,
    node: process.version,
    client_alg: o.clientAlg,
    id_token_alg: o.idTokenAlg,
    access_token: 'opaque',
  }));
}
