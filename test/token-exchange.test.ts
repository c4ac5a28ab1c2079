import { setTimeout as sleep } from 'node:timers/promises';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createAccessTokenVerifier, startAssertionApi, type RunningAssertionApi } from '../dev/api/index.js';
import { LEDGER_API, REPORTS_API, TOKEN_EXCHANGE_GRANT } from '../dev/idp/index.js';
import { freshKeyPair } from '../bff/src/tools/keys.js';
import type { TestBrowser } from './support/browser.js';
import { reservePort, startRedis, type RunningRedis } from './support/redis.js';
import { ALICE, API_AUDIENCE, BOB, startStack, type Stack } from './support/stack.js';
import { storedSessions } from './support/stored-sessions.js';

/**
 * Token exchange (RFC 8693) and BFF-signed identity assertions (docs/token-exchange.md), on two
 * BFF instances sharing Redis, against the dev provider's token-exchange grant. The BFF
 * authenticates with private_key_jwt (its client has no secret at the provider) and gets
 * DPoP-bound tokens, so every exchange shows that both apply to it as to every grant. Exchanged
 * tokens are checked by a real API (the reports API, proofs included) or verified with the
 * provider's keys; assertions by an internal service that trusts only the BFF's `/bff/jwks`.
 */

/** Audiences the dev provider refuses as some real products do (see `refusals` below). */
const UNAUTHORIZED_AUDIENCE = 'urn:bff-kit:not-for-this-client';
const BAD_REQUEST_AUDIENCE = 'urn:bff-kit:malformed';

/**
 * The provider answers an exchange for these audiences (which it does not know, so it says
 * `invalid_target`) with the code another product would use: Okta's `unauthorized_client` for a
 * client without the grant, and `invalid_request`. A slow token endpoint for exchanges makes
 * concurrent grants overlap if they are not serialized.
 */
function providerQuirks() {
  const state = { exchangeDelayMs: 0, attempts: new Map<string, number>() };
  const middleware: Middleware = async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== '/token') return next();
    await next();
    const { oidc } = ctx as KoaContextWithOIDC;
    if (oidc?.params?.grant_type !== TOKEN_EXCHANGE_GRANT) return;
    const target = String(oidc.params.audience ?? oidc.params.resource);
    state.attempts.set(target, (state.attempts.get(target) ?? 0) + 1);
    if (state.exchangeDelayMs) await sleep(state.exchangeDelayMs);
    const rewrite = { [UNAUTHORIZED_AUDIENCE]: 'unauthorized_client', [BAD_REQUEST_AUDIENCE]: 'invalid_request' }[
      String(oidc.params.audience)
    ];
    if (rewrite) ctx.body = { error: rewrite, error_description: 'refused by policy' };
  };
  return { state, middleware };
}

describe('token exchange and identity assertions on two BFF instances', () => {
  let redis: RunningRedis;
  let stack: Stack;
  let inner: RunningAssertionApi;
  const signingKey = freshKeyPair('es256');
  const previousKey = freshKeyPair('eddsa');
  const clientKey = freshKeyPair('es256');
  const dpopKey = freshKeyPair('es256');
  const quirks = providerQuirks();

  beforeAll(async () => {
    redis = await startRedis();
    const innerPort = await reservePort();
    stack = await startStack({
      redisUrl: redis.url,
      instances: 2,
      idpFront: [quirks.middleware],
      client: {
        client_secret: undefined,
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [JSON.parse(clientKey.publicJwk)] },
      },
      env: {
        OIDC_CLIENT_AUTH: 'private_key_jwt',
        OIDC_CLIENT_PRIVATE_KEY: clientKey.privateKey,
        OIDC_CLIENT_SECRET: '',
        OIDC_DPOP: 'true',
        DPOP_PRIVATE_KEY: dpopKey.privateKey,
        BFF_SIGNING_KEY: signingKey.privateKey,
        BFF_SIGNING_KEY_PREVIOUS: previousKey.oneLine,
      },
      routes: ({ upstream, reports }) =>
        [
          `/ledger=${upstream}/ledger#token=exchange&audience=${LEDGER_API.audience}`,
          `/wsx=${reports}#token=exchange&audience=${REPORTS_API.audience}&websocket=true`,
          `/rex=${reports}#token=exchange&resource=${REPORTS_API.audience}`,
          `/nope=${upstream}/nope#token=exchange&audience=urn:bff-kit:unknown`,
          `/uc=${upstream}/uc#token=exchange&audience=${UNAUTHORIZED_AUDIENCE}`,
          `/ir=${upstream}/ir#token=exchange&audience=${BAD_REQUEST_AUDIENCE}`,
          `/badscope=${upstream}/badscope#token=exchange&audience=${LEDGER_API.audience}&scope=admin`,
          `/as=${upstream}/as#token=assertion&audience=urn:bff-kit:inner&claims=email+name+nickname`,
          `/inner=http://127.0.0.1:${innerPort.port}#token=assertion`,
        ].join(','),
    });
    await innerPort.release();
    inner = await startAssertionApi({ port: innerPort.port, jwksUri: `${stack.bff.url}/bff/jwks`, issuer: stack.bff.url });
  });
  afterAll(async () => {
    await inner?.close();
    await stack?.close();
    await redis?.stop();
  });

  const call = (path: string, browser?: TestBrowser, instance = 0) =>
    fetch(`${stack.bffs[instance]!.url}${path}`, {
      headers: { 'x-csrf': '1', ...(browser ? { cookie: browser.cookieHeader(stack.bff.url)! } : {}) },
    });
  /** The token the recording upstream received on the last request under `base`, and its scheme. */
  const authorization = (base: string) => stack.upstream.requests.findLast((r) => r.url.startsWith(`${base}/`))?.headers.authorization;
  const received = (base: string) => authorization(base)?.replace(/^(Bearer|DPoP) /, '');
  const verify = (token: string, audience: string) => createAccessTokenVerifier({ issuer: stack.idp.issuer, audience }).verify(token);
  const attemptsFor = (audience: string) => quirks.state.attempts.get(audience) ?? 0;
  const exchanges = () => stack.idp.stats.tokenGrants[TOKEN_EXCHANGE_GRANT] ?? 0;
  const stored = () => storedSessions(redis, stack.bff.url);
  const bffKeys = async () => ((await (await fetch(`${stack.bff.url}/bff/jwks`)).json()) as { keys: JWK[] }).keys;
  const ledgerId = () => stack.bff.deps.config.apiRoutes.find((route) => route.prefix === '/ledger')!.target!.id;

  it('exchange: a token of the user for the route audience, obtained on first use and kept sealed in the session', async () => {
    const browser = await stack.signIn();
    const before = exchanges();
    expect((await call('/ledger/x', browser)).status).toBe(200);
    const token = received('/ledger')!;
    expect(await verify(token, LEDGER_API.audience)).toMatchObject({ sub: ALICE.sub, audience: LEDGER_API.audience });
    // Obtained with the client assertion (the only client authentication registered) and a DPoP
    // proof: bound to the BFF's DPoP key, and sent with a proof.
    expect(stack.idp.stats.dpopTokens[TOKEN_EXCHANGE_GRANT]).toBeGreaterThanOrEqual(1);
    expect(decodeJwt(token).cnf).toEqual({ jkt: JSON.parse(dpopKey.publicJwk).kid });
    expect(authorization('/ledger')).toMatch(/^DPoP /);
    expect(stack.upstream.requests.at(-1)!.headers.dpop).toBeDefined();
    await expect(verify(token, API_AUDIENCE)).rejects.toThrow();
    const record = (await stored().record(browser))!;
    expect(Object.keys(record.routeTokens!)).toEqual([ledgerId()]);
    expect(JSON.stringify(record)).not.toContain(token);
    // Reused on the other instance too: one exchange in all.
    expect((await call('/ledger/y', browser, 1)).status).toBe(200);
    expect(received('/ledger')).toBe(token);
    expect(exchanges() - before).toBe(1);
  });

  it('exchange: a due sign-in token is refreshed first, in the same hold of the lock, and then exchanged', async () => {
    const browser = await stack.signIn();
    await stored().patch(browser, { accessExpiresAt: Math.floor(Date.now() / 1000) + 1 });
    await sleep(100); // both instances drop their cached copy (pub/sub)
    const [refreshes, before] = [stack.idp.stats.tokenGrants.refresh_token ?? 0, exchanges()];
    expect((await call('/ledger/x', browser, 1)).status).toBe(200);
    expect((stack.idp.stats.tokenGrants.refresh_token ?? 0) - refreshes).toBe(1);
    expect(exchanges() - before).toBe(1);
    expect(await verify(received('/ledger')!, LEDGER_API.audience)).toMatchObject({ sub: ALICE.sub });
  });

  it('exchange: a real API for the exchanged audience accepts the token', async () => {
    const browser = await stack.signIn(BOB);
    const me = await call('/rex/me', browser);
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ sub: BOB.sub, audience: REPORTS_API.audience });
  });

  it('exchange: 20 concurrent calls across two instances make exactly one exchange per due token', async () => {
    quirks.state.exchangeDelayMs = 300;
    try {
      const browser = await stack.signIn();
      const before = exchanges();
      const first = await Promise.all(Array.from({ length: 20 }, (_, i) => call(`/ledger/${i}`, browser, i % 2)));
      expect(first.map((r) => r.status)).toEqual(Array(20).fill(200));
      expect(exchanges() - before).toBe(1);
      expect(await (await fetch(`${stack.bff.url}/metrics`)).text()).toMatch(/^bff_token_exchanges_total\{result="ok"\} [1-9]/m);
      const token = received('/ledger')!;
      // The token falls due: the next 20 calls share one new exchange.
      const record = (await stored().record(browser))!;
      const held = record.routeTokens![ledgerId()]!;
      await stored().patch(browser, { routeTokens: { [ledgerId()]: { ...held, accessExpiresAt: Math.floor(Date.now() / 1000) + 1 } } });
      await sleep(100); // both instances drop their cached copy (pub/sub)
      const second = await Promise.all(Array.from({ length: 20 }, (_, i) => call(`/ledger/${i}`, browser, i % 2)));
      expect(second.map((r) => r.status)).toEqual(Array(20).fill(200));
      expect(exchanges() - before).toBe(2);
      expect(received('/ledger')).not.toBe(token);
    } finally {
      quirks.state.exchangeDelayMs = 0;
    }
  });

  it.each([
    ['/nope', 'urn:bff-kit:unknown', 'invalid_target'],
    ['/uc', UNAUTHORIZED_AUDIENCE, 'unauthorized_client'],
    ['/ir', BAD_REQUEST_AUDIENCE, 'invalid_request'],
    ['/badscope', LEDGER_API.audience, 'invalid_scope'],
  ])('exchange refused (%s, %s: %s): 403 forbidden, the session kept, and not asked again at once', async (base, audience) => {
    const browser = await stack.signIn();
    const before = exchanges();
    const attempts = attemptsFor(audience);
    const refused = await call(`${base}/x`, browser);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: 'forbidden' });
    expect((await call(`${base}/x`, browser)).status).toBe(403);
    expect(attemptsFor(audience) - attempts).toBe(1);
    expect((await call('/rec/x', browser)).status).toBe(200);
    expect((await call('/bff/user', browser)).status).toBe(200);
    expect(exchanges()).toBe(before); // refusals are no successful grants
    const metrics = await (await fetch(`${stack.bff.url}/metrics`)).text();
    expect(metrics).toMatch(/^bff_token_exchanges_total\{result="forbidden"\} [1-9]/m);
  });

  it('exchange on a WebSocket route: the handshake carries the exchanged token (the reports API refuses the sign-in one), 401 without a session', async () => {
    const browser = await stack.signIn();
    const before = exchanges();
    const open = (cookie?: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`${stack.bff.url.replace('http:', 'ws:')}/wsx/notes/live`, {
          headers: { origin: stack.bff.url, ...(cookie ? { cookie } : {}) },
        });
        ws.on('error', () => resolve(0)); // after a refusal, terminate() reports the aborted handshake
        ws.once('open', () => {
          ws.close();
          resolve(101);
        });
        ws.once('unexpected-response', (_req, res) => {
          ws.terminate();
          resolve(res.statusCode!);
        });
      });
    expect(await open(browser.cookieHeader(stack.bff.url)!)).toBe(101);
    expect(exchanges() - before).toBe(1);
    expect(await open()).toBe(401);
  });

  it('exchange and assertion routes without a session: 401, and nothing is asked of the provider', async () => {
    const before = exchanges();
    for (const base of ['/ledger', '/as', '/inner']) {
      const response = await call(`${base}/x`);
      expect(response.status, base).toBe(401);
      expect(await response.json()).toMatchObject({ error: 'unauthenticated' });
    }
    expect(exchanges()).toBe(before);
  });

  it("no route's token reaches another route's upstream", async () => {
    const browser = await stack.signIn(BOB);
    const seen = new Map<string, string>();
    // `/rec` reaches the recording upstream under its base path `/v1`.
    for (const [base, upstreamBase] of [
      ['/rec', '/v1'],
      ['/ledger', '/ledger'],
      ['/as', '/as'],
    ] as const) {
      expect((await call(`${base}/x`, browser)).status).toBe(200);
      seen.set(base, received(upstreamBase)!);
    }
    expect(new Set(seen.values()).size).toBe(3);
    for (const request of stack.upstream.requests) {
      const token = request.headers.authorization?.replace(/^(Bearer|DPoP) /, '');
      if (token === seen.get('/rec')) expect(request.url).toMatch(/^\/v1\//);
      if (token === seen.get('/ledger')) expect(request.url).toMatch(/^\/ledger\//);
      if (token === seen.get('/as')) expect(request.url).toMatch(/^\/as\//);
    }
    // None of them reaches a log line of either instance.
    const logs = stack.bffs.flatMap((bff) => bff.logs).join('');
    for (const token of seen.values()) expect(logs).not.toContain(token);
    // The exchanged token is for its audience only; the sign-in token is not the exchanged one.
    await expect(verify(seen.get('/ledger')!, REPORTS_API.audience)).rejects.toThrow();
    expect(await verify(seen.get('/rec')!, API_AUDIENCE)).toMatchObject({ sub: BOB.sub });
  });

  it('assertion: a 60 s JWT signed with BFF_SIGNING_KEY, with exactly the contract claims, verified by the upstream against /bff/jwks', async () => {
    const browser = await stack.signIn();
    const me = await call('/inner/me', browser);
    expect(me.status).toBe(200);
    const claims = (await me.json()) as Record<string, unknown>;
    expect(Object.keys(claims).sort()).toEqual(['aud', 'email', 'exp', 'iat', 'iss', 'jti', 'name', 'sub']);
    expect(claims).toMatchObject({ iss: stack.bff.url, aud: inner.url, sub: ALICE.sub, email: ALICE.email, name: ALICE.name });
    expect((claims.exp as number) - (claims.iat as number)).toBe(60);
    // Cached per session and route: the next call carries the same assertion.
    expect(((await (await call('/inner/me', browser)).json()) as { jti: string }).jti).toBe(claims.jti);
    // The route's audience and claims; a claim the session lacks (nickname) is left out.
    expect((await call('/as/x', browser)).status).toBe(200);
    const token = received('/as')!;
    expect(authorization('/as')).toMatch(/^Bearer /); // an assertion is no DPoP-bound token
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', kid: JSON.parse(signingKey.publicJwk).kid });
    const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: await bffKeys() }), {
      issuer: stack.bff.url,
      audience: 'urn:bff-kit:inner',
    });
    expect(Object.keys(payload).sort()).toEqual(['aud', 'email', 'exp', 'iat', 'iss', 'jti', 'name', 'sub']);
    // Another user, another assertion.
    const bob = await stack.signIn(BOB);
    expect((await call('/as/x', bob)).status).toBe(200);
    expect(decodeJwt(received('/as')!)).toMatchObject({ sub: BOB.sub, email: BOB.email });
  });

  it('/bff/jwks publishes the assertion key and, during a rotation, the previous one: public members only', async () => {
    const keys = await bffKeys();
    const current = JSON.parse(signingKey.publicJwk) as JWK;
    const previous = JSON.parse(previousKey.publicJwk) as JWK;
    expect(keys).toEqual(
      expect.arrayContaining([
        { ...current, use: 'sig', alg: 'ES256' },
        { ...previous, use: 'sig', alg: 'EdDSA' },
      ]),
    );
    for (const key of keys) for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(key).not.toHaveProperty(member);
  });

  it('one session hammering an exchange route starves no other session', async () => {
    const alice = await stack.signIn();
    const bob = await stack.signIn(BOB);
    const before = exchanges();
    const attempts = attemptsFor('urn:bff-kit:unknown');
    // Alice: a route the provider refuses, a hundred calls at once, then more one by one.
    const hammering = Promise.all(Array.from({ length: 100 }, () => call('/nope/x', alice)));
    const bobs = Promise.all(Array.from({ length: 10 }, (_, i) => call(`/ledger/${i}`, bob, i % 2)));
    const [hammered, bobsAnswers] = await Promise.all([hammering, bobs]);
    // Refused at once (the refusal is remembered), or over the session's budget of calls in flight.
    expect(hammered.filter((r) => r.status !== 403 && r.status !== 429)).toEqual([]);
    expect(hammered.some((r) => r.status === 403)).toBe(true);
    expect(bobsAnswers.map((r) => r.status)).toEqual(Array(10).fill(200));
    for (let i = 0; i < 10; i++) expect((await call('/nope/x', alice, i % 2)).status).toBe(403);
    // Bob's one exchange; Alice's refused one was asked at most once per instance.
    expect(exchanges() - before).toBe(1);
    expect(attemptsFor('urn:bff-kit:unknown') - attempts).toBeLessThanOrEqual(2);
  });
});
